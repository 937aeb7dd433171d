/**
 * The CLI's `--aws` mode: the deployed stack instead of the embedded one. Function names and the queue
 * URL come from the stateless stack's outputs (cdk/names.ts); the functions get the same payloads the
 * local run hands them. Credentials and region come the SDK's usual way (AWS_PROFILE, AWS_REGION, …).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { systemClock } from '#shared/clock.ts';
import { deduplicationIdOf, messageGroupOf } from '#shared/events.ts';
import { retry, type Attempt, type RetryPolicy } from '#shared/retry.ts';
import { TABLES, type TableId } from '#shared/tables.ts';
import { appStackName, FUNCTION_NAMES, OUTPUTS, type FunctionName } from '../cdk/names.ts';

export { appStackName } from '../cdk/names.ts';

/** Something about the deployed stack is not as the CLI needs it (missing stack or output). */
export class AwsTargetError extends Error {
  override name = 'AwsTargetError';
}

/** A deployed function answered with an error; `errorType` is its error class (e.g. `PayloadError`). */
export class RemoteFunctionError extends Error {
  override name = 'RemoteFunctionError';
  constructor(
    readonly functionName: string,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

/** The outputs of a stack, by key. Throws AwsTargetError when the stack does not exist. */
export async function stackOutputs(stackName: string, client: CloudFormationClient = new CloudFormationClient({})): Promise<Record<string, string>> {
  let stacks;
  try {
    ({ Stacks: stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName })));
  } catch (err) {
    if ((err as Error).name === 'ValidationError' && /does not exist/.test((err as Error).message)) {
      throw new AwsTargetError(`stack ${stackName} does not exist in this account and region (deploy it: docs/operations.md; check AWS_PROFILE and AWS_REGION)`, { cause: err });
    }
    throw err;
  }
  const stack = stacks?.[0];
  if (!stack) throw new AwsTargetError(`stack ${stackName} does not exist in this account and region`);
  return Object.fromEntries((stack.Outputs ?? []).flatMap((o) => (o.OutputKey && o.OutputValue !== undefined ? [[o.OutputKey, o.OutputValue]] : [])));
}

/**
 * Invokes a function synchronously (RequestResponse) with `payload` as JSON and returns its parsed
 * JSON result. A function error is thrown as RemoteFunctionError with the function's own message.
 */
export async function invokeFunction<T = unknown>(functionName: string, payload: unknown, client: LambdaClient = new LambdaClient({})): Promise<T> {
  const out = await client.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  if (out.FunctionError) {
    let errorType = out.FunctionError;
    let message = text || `${functionName} failed (${out.FunctionError})`;
    try {
      const e = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      if (e.errorType) errorType = e.errorType;
      if (e.errorMessage) message = e.errorMessage;
    } catch {
      /* not JSON: keep the raw text */
    }
    throw new RemoteFunctionError(functionName, errorType, message);
  }
  if (!text) return undefined as T;
  return JSON.parse(text) as T;
}

export interface SendResult {
  sent: number;
  /** Entries SQS refused, with its reason; `index` is the position in `bodies`. */
  failed: { index: number; code: string; message: string }[];
}

/** SQS caps a batch at 10 entries. */
const BATCH = 10;

/** Entries SQS failed on its side are sent again after 100 ms, doubling; five sends in all. */
export const QUEUE_SEND_RETRY: RetryPolicy = { attempts: 5, baseMs: 100, capMs: 800, jitter: 0 };

/**
 * Sends event bodies to the intake FIFO queue in batches of 10, each with MessageGroupId = the event's
 * identity (`messageGroupOf`: what makes the intake's read-then-write exact) and
 * MessageDeduplicationId = sha256 of the body. Entries SQS reports as failed on its side are retried;
 * those it refuses as the sender's fault are returned.
 */
export async function sendEvents(
  queueUrl: string,
  lines: readonly (string | { body: string; base64?: true; line?: number; oversize?: { bytes: number; sha256: string } })[],
  opts: { client?: SQSClient; concurrency?: number; retries?: number; onProgress?: (sent: number) => void; source?: string } = {},
): Promise<SendResult> {
  const client = opts.client ?? new SQSClient({});
  const policy = opts.retries === undefined ? QUEUE_SEND_RETRY : { ...QUEUE_SEND_RETRY, attempts: opts.retries + 1 };
  const items = lines.map((l) => (typeof l === 'string' ? { body: l } : l));
  const bodies = items.map((l) => l.body);
  const result: SendResult = { sent: 0, failed: [] };
  const batches: number[][] = [];
  for (let i = 0; i < bodies.length; i += BATCH) batches.push(Array.from({ length: Math.min(BATCH, bodies.length - i) }, (_, k) => i + k));

  type Failure = SendResult['failed'][number];
  const sendBatch = async (indexes: number[]) => {
    let pending = indexes;
    const send = async (): Promise<Attempt<void, Failure[]>> => {
      const entries: SendMessageBatchRequestEntry[] = pending.map((index) => ({
        Id: String(index),
        MessageBody: bodies[index]!,
        MessageGroupId: messageGroupOf(bodies[index]!),
        MessageDeduplicationId: deduplicationIdOf(bodies[index]!),
        ...attributesOf(items[index]!, opts.source),
      }));
      const out = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      result.sent += out.Successful?.length ?? 0;
      const retryable: Failure[] = [];
      for (const f of out.Failed ?? []) {
        const failure = { index: Number(f.Id), code: f.Code ?? 'unknown', message: f.Message ?? '' };
        // The sender's fault (a body SQS refuses) fails the same way every time.
        (f.SenderFault ? result.failed : retryable).push(failure);
      }
      pending = retryable.map((f) => f.index);
      return retryable.length ? { again: retryable } : { done: undefined };
    };
    const sent = await retry(policy, send, systemClock);
    if (!sent.ok) result.failed.push(...sent.last);
    opts.onProgress?.(result.sent);
  };

  // Parallel batches may reorder events of one group; the intake is order-independent (RULES.md).
  let next = 0;
  const worker = async () => {
    while (next < batches.length) await sendBatch(batches[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 8, batches.length)) }, worker));
  result.failed.sort((a, b) => a.index - b.index);
  return result;
}

/**
 * Provenance as the intake reads it (`source`, `line`), and `bodyEncoding: base64` for a line that is
 * not UTF-8: it travels as its bytes and the intake keeps them, rejected with reason `encoding`. A line
 * too large for a message travels as its start with `bodyBytes` and `bodySha256`: rejected, `size`.
 */
function attributesOf(l: { base64?: true; line?: number; oversize?: { bytes: number; sha256: string } }, source?: string): Pick<SendMessageBatchRequestEntry, 'MessageAttributes'> {
  const a: NonNullable<SendMessageBatchRequestEntry['MessageAttributes']> = {};
  if (l.base64) a.bodyEncoding = { DataType: 'String', StringValue: 'base64' };
  if (l.oversize) {
    a.bodyBytes = { DataType: 'Number', StringValue: String(l.oversize.bytes) };
    a.bodySha256 = { DataType: 'String', StringValue: l.oversize.sha256 };
  }
  if (l.line !== undefined) a.line = { DataType: 'Number', StringValue: String(l.line) };
  if (source && l.line !== undefined) a.source = { DataType: 'String', StringValue: source };
  return Object.keys(a).length ? { MessageAttributes: a } : {};
}

/** What `--aws` works on: the deployed stack of one stage. */
export interface AwsTarget {
  stackName: string;
  functions: Record<FunctionName, string>;
  intakeQueueUrl: string;
  tables: Record<TableId, string>;
  /** Every output of the stack, for anything else. */
  outputs: Record<string, string>;
}

/**
 * Resolves the deployed stateless stack of `stage` (`ProviderRenewal-<stage>-App`): function names,
 * queue URL and table names from its outputs. Throws AwsTargetError naming a missing output.
 */
export async function awsTarget(stage: string, client?: CloudFormationClient): Promise<AwsTarget> {
  const stackName = appStackName(stage);
  const outputs = await stackOutputs(stackName, client);
  const need = (key: string) => {
    const v = outputs[key];
    if (!v) throw new AwsTargetError(`stack ${stackName} has no output ${key} (redeploy it with this checkout: docs/operations.md)`);
    return v;
  };
  return {
    stackName,
    functions: Object.fromEntries(FUNCTION_NAMES.map((n) => [n, need(OUTPUTS.functionName(n))])) as Record<FunctionName, string>,
    intakeQueueUrl: need(OUTPUTS.intakeQueueUrl),
    tables: Object.fromEntries((Object.keys(TABLES) as TableId[]).map((id) => [id, need(OUTPUTS.tableName(id))])) as Record<TableId, string>,
    outputs,
  };
}
