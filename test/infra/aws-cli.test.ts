import { createHash } from 'node:crypto';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { messageGroupOf } from '#shared/events.ts';
import { AwsTargetError, awsTarget, invokeFunction, RemoteFunctionError, sendEvents, stackOutputs } from '#cli/aws.ts';
import { TABLES, type TableId } from '#shared/tables.ts';
import { appStackName, FUNCTION_NAMES, OUTPUTS } from '../../cdk/names.ts';

/** The `--aws` helpers against mocked SDK clients: the requests they make and how they read answers. */
const cfn = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);
const sqs = mockClient(SQSClient);
afterEach(() => {
  cfn.reset();
  lambda.reset();
  sqs.reset();
});
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

const allOutputs = () => [
  ...FUNCTION_NAMES.map((n) => ({ OutputKey: OUTPUTS.functionName(n), OutputValue: `fn-${n}` })),
  ...(Object.keys(TABLES) as TableId[]).map((id) => ({ OutputKey: OUTPUTS.tableName(id), OutputValue: `tbl-${id}` })),
  { OutputKey: OUTPUTS.intakeQueueUrl, OutputValue: 'https://sqs.example/123/intake.fifo' },
];

describe('stackOutputs / awsTarget', () => {
  it('reads the stateless stack of the stage by its name', async () => {
    cfn
      .on(DescribeStacksCommand, { StackName: 'ProviderRenewal-prod-App' })
      .resolves({ Stacks: [{ StackName: 'x', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: allOutputs() }] });
    const target = await awsTarget('prod', new CloudFormationClient({ region: 'ap-southeast-1' }));
    expect(target.stackName).toBe(appStackName('prod'));
    expect(target.functions).toEqual({
      intake: 'fn-intake',
      aggregate: 'fn-aggregate',
      evaluate: 'fn-evaluate',
      notify: 'fn-notify',
      report: 'fn-report',
      mailEvents: 'fn-mailEvents',
      publish: 'fn-publish',
      reapply: 'fn-reapply',
    });
    expect(target.intakeQueueUrl).toBe('https://sqs.example/123/intake.fifo');
    expect(target.tables.orders).toBe('tbl-orders');
  });

  it('names a missing output', async () => {
    cfn
      .on(DescribeStacksCommand)
      .resolves({ Stacks: [{ StackName: 'x', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: allOutputs().filter((o) => o.OutputKey !== 'NotifyFunctionName') }] });
    await expect(awsTarget('dev', new CloudFormationClient({ region: 'ap-southeast-1' }))).rejects.toThrow(/ProviderRenewal-dev-App has no output NotifyFunctionName/);
  });

  it('says which stack does not exist', async () => {
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id ProviderRenewal-dev-App does not exist'), { name: 'ValidationError' }));
    const err = await stackOutputs('ProviderRenewal-dev-App', new CloudFormationClient({ region: 'ap-southeast-1' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsTargetError);
    expect((err as Error).message).toMatch(/stack ProviderRenewal-dev-App does not exist/);
  });
});

describe('invokeFunction', () => {
  it('invokes RequestResponse with the JSON payload and parses the JSON result', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: enc({ campaignId: 'renewal-2024', final: true }) as never });
    const r = await invokeFunction('fn-report', { campaignId: 'renewal-2024' }, new LambdaClient({ region: 'ap-southeast-1' }));
    expect(r).toEqual({ campaignId: 'renewal-2024', final: true });
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input.FunctionName).toBe('fn-report');
    expect(input.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array))).toEqual({ campaignId: 'renewal-2024' });
  });

  it("throws the function's own error message and type", async () => {
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: enc({ errorType: 'PayloadError', errorMessage: 'thresholdOrders: must be positive', trace: [] }) as never });
    const err = await invokeFunction('fn-evaluate', { campaignId: 'renewal-2024', thresholdOrders: -1 }, new LambdaClient({ region: 'ap-southeast-1' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteFunctionError);
    expect(err).toMatchObject({ message: 'thresholdOrders: must be positive', errorType: 'PayloadError', functionName: 'fn-evaluate' });
  });
});

describe('sendEvents', () => {
  const bodies = Array.from({ length: 23 }, (_, i) => JSON.stringify({ type: 'order.paid', orderId: `O${i}`, storeId: 'S1', paidAt: '2023-12-02T10:00:00+08:00' }));

  it('sends batches of at most 10, grouped by event identity, deduplicated by the body hash', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({ Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })), Failed: [] }));
    const r = await sendEvents('https://sqs.example/q.fifo', bodies, { client: new SQSClient({ region: 'ap-southeast-1' }) });
    expect(r).toEqual({ sent: 23, failed: [] });
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.Entries!.length).sort()).toEqual([10, 10, 3]);
    for (const entry of calls.flatMap((c) => c.Entries!)) {
      const body = bodies[Number(entry.Id)]!;
      expect(entry.MessageBody).toBe(body);
      expect(entry.MessageGroupId).toBe(messageGroupOf(body));
      expect(entry.MessageGroupId).toMatch(/^order:O\d+$/);
      expect(entry.MessageDeduplicationId).toBe(createHash('sha256').update(body).digest('hex'));
    }
    expect(calls.every((c) => c.QueueUrl === 'https://sqs.example/q.fifo')).toBe(true);
  });

  it("retries entries that failed on the service side and reports those refused as the sender's fault", async () => {
    let first = true;
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => {
      const failed = first
        ? [
            { Id: input.Entries[0]!.Id, SenderFault: false, Code: 'InternalError' },
            { Id: input.Entries[1]!.Id, SenderFault: true, Code: 'InvalidMessageContents', Message: 'bad char' },
          ]
        : [];
      first = false;
      const failedIds = new Set(failed.map((f) => f.Id));
      return { Successful: input.Entries.filter((e) => !failedIds.has(e.Id)).map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })), Failed: failed };
    });
    const r = await sendEvents('https://sqs.example/q.fifo', bodies.slice(0, 5), { client: new SQSClient({ region: 'ap-southeast-1' }), concurrency: 1 });
    expect(r).toEqual({ sent: 4, failed: [{ index: 1, code: 'InvalidMessageContents', message: 'bad char' }] });
    expect(sqs.commandCalls(SendMessageBatchCommand)[1]!.args[0].input.Entries!.map((e) => e.Id)).toEqual(['0']);
  });
});
