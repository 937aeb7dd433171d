import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { systemClock } from '#shared/clock.ts';
import { messageGroupOf } from '#shared/events.ts';
import { retry, type Attempt, type RetryPolicy } from '#shared/retry.ts';
import type { IntakeSummary } from '#shared/usecases/intake.ts';
import { Progress } from '#shared/text/terminal.ts';

export type IntakeHandler = (event: SQSEvent) => Promise<{ batchItemFailures: { itemIdentifier: string }[]; summary: IntakeSummary; error?: string }>;

/** The file cannot be read as NDJSON at all (a directory, UTF-16, CR-only lines): the CLI exits 2. */
export class InputFileError extends Error {
  override name = 'InputFileError';
}

/**
 * The import gave up: the store failed `consecutiveFailures` batches in a row (it is gone). What was
 * accepted before is stored; the message says what failed, where, and what to run next.
 */
export class ImportAbortedError extends Error {
  override name = 'ImportAbortedError';
  constructor(
    message: string,
    readonly partial: ImportResult,
  ) {
    super(message);
  }
}

/** One line of an event file: its text, or (not valid UTF-8) its bytes in base64. */
export interface EventLine {
  line: number;
  body: string;
  /** The line is not valid UTF-8: `body` holds its bytes, base64, for the intake to keep. */
  base64?: true;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads an NDJSON event file strictly (OPS.md, input contract). A UTF-8 BOM is skipped. Lines end in
 * LF or CRLF; a file with CR-only line endings, or in UTF-16 (a BOM, or NUL bytes), is refused whole,
 * naming its encoding, since reading it as UTF-8 would turn it into one record or into noise. A line
 * that is not valid UTF-8 is kept as its bytes (base64) for the intake to reject with reason
 * `encoding`: the other lines of the file go through. Blank lines are skipped.
 */
export function parseEventFile(bytes: Buffer, name = 'FILE'): EventLine[] {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new InputFileError(`${name}: is UTF-16 (${bytes[0] === 0xff ? 'little' : 'big'}-endian, with a byte-order mark); events must be UTF-8 NDJSON (convert it: iconv -f UTF-16 -t UTF-8)`);
  }
  const head = bytes.subarray(0, 4096);
  const nuls = head.reduce((n, b) => n + (b === 0 ? 1 : 0), 0);
  if (nuls > 0 && nuls >= head.length / 8) {
    const le = head.findIndex((b) => b === 0) % 2 === 1;
    throw new InputFileError(`${name}: looks like UTF-16 (${le ? 'little' : 'big'}-endian, no byte-order mark: every other byte is NUL); events must be UTF-8 NDJSON (convert it: iconv -f UTF-16${le ? 'LE' : 'BE'} -t UTF-8)`);
  }
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3; // UTF-8 BOM: accepted
  const body = bytes.subarray(start);
  if (!body.includes(0x0a) && body.includes(0x0d) && body.indexOf(0x0d) < body.length - 1) {
    throw new InputFileError(`${name}: lines end in CR only (old Mac line endings), so the whole file would be one event; convert them to LF or CRLF (e.g. tr '\\r' '\\n')`);
  }
  const lines: EventLine[] = [];
  let from = 0;
  for (let n = 1; from <= body.length; n++) {
    let to = body.indexOf(0x0a, from);
    if (to < 0) to = body.length;
    let raw = body.subarray(from, to);
    if (raw.at(-1) === 0x0d) raw = raw.subarray(0, -1);
    from = to + 1;
    let text: string | undefined;
    try {
      text = UTF8.decode(raw);
    } catch {
      lines.push({ line: n, body: raw.toString('base64'), base64: true });
      continue;
    }
    if (text.trim()) lines.push({ line: n, body: text }); // blank lines are skipped (OPS.md)
  }
  return lines;
}

/** Reads and parses an event file; a missing file or a directory is an InputFileError naming it. */
export async function readEventFile(file: string): Promise<EventLine[]> {
  let st;
  try {
    st = await stat(file);
  } catch {
    throw new InputFileError(`FILE: no such file: ${file}`);
  }
  if (st.isDirectory()) throw new InputFileError(`FILE: ${file} is a directory; give the NDJSON file of events`);
  return parseEventFile(await readFile(file), 'FILE');
}

export interface ImportOptions {
  /** Records per intake invocation: 10, the most an SQS FIFO event source mapping delivers. */
  batchSize?: number;
  /** Intake invocations in flight at once (Lambda concurrency). */
  concurrency?: number;
  /** Redeliveries of a failed record before the import gives up on it (SQS maxReceiveCount). */
  maxReceives?: number;
  /** Batches failed in a row (every record, every redelivery) after which the import stops: the store is gone. */
  maxConsecutiveFailures?: number;
  /** Where the events go, for the message when the import stops (the DynamoDB endpoint, the function). */
  target?: string;
  quiet?: boolean;
}

/**
 * How the import redelivers a batch's failed records, as SQS would after their visibility timeout
 * (shortened: this is one process): 200 ms, doubling; five receives in all (the queue's maxReceiveCount).
 */
export const IMPORT_REDELIVERY: RetryPolicy = { attempts: 5, baseMs: 200, capMs: 1_600, jitter: 0 };

export interface ImportResult extends IntakeSummary {
  /** Records still failing after every redelivery: they would sit in the dead-letter queue. */
  failed: number;
}


/** SQS records of an event file (its text, or its parsed lines), one per non-blank line. */
export function toRecords(input: string | EventLine[], source: string): SQSRecord[] {
  const lines = typeof input === 'string' ? parseEventFile(Buffer.from(input, 'utf8')) : input;
  const records: SQSRecord[] = [];
  lines.forEach(({ line, body, base64 }) => {
    records.push({
      messageId: `${source}:${line}`,
      receiptHandle: '',
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'renewal-import',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
        MessageGroupId: messageGroupOf(body),
      },
      messageAttributes: {
        source: { stringValue: source, dataType: 'String', stringListValues: [], binaryListValues: [] },
        line: { stringValue: String(line), dataType: 'Number', stringListValues: [], binaryListValues: [] },
        ...(base64 ? { bodyEncoding: { stringValue: 'base64', dataType: 'String', stringListValues: [], binaryListValues: [] } } : {}),
      },
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:local:000000000000:renewal-intake.fifo',
      awsRegion: 'local',
    });
  });
  return records;
}

/**
 * Feeds records through the intake handler the way SQS FIFO would: batches of `batchSize`,
 * `concurrency` batches in flight, a message group never in two batches at once (each group is
 * pinned to one worker), and failed records redelivered up to `maxReceives` times.
 */
export async function feedRecords(handler: IntakeHandler, records: SQSRecord[], opts: ImportOptions = {}): Promise<ImportResult> {
  const batchSize = opts.batchSize ?? 10;
  const concurrency = opts.concurrency ?? 24;
  const redelivery = { ...IMPORT_REDELIVERY, ...(opts.maxReceives !== undefined ? { attempts: opts.maxReceives } : {}) };
  const maxConsecutive = opts.maxConsecutiveFailures ?? 3;
  const lanes: SQSRecord[][] = Array.from({ length: concurrency }, () => []);
  for (const r of records) {
    const group = r.attributes.MessageGroupId ?? r.messageId;
    const lane = createHash('sha1').update(group).digest().readUInt32BE(0) % concurrency;
    lanes[lane]!.push(r);
  }
  const result: ImportResult = { accepted: 0, duplicates: 0, rejected: 0, failed: 0 };
  const progress = new Progress('import', records.length, opts.quiet);
  let done = 0;
  // A batch counts as failed when nothing of it was stored even after every redelivery. Several in a
  // row mean the store is gone: stop at once instead of grinding through the file.
  let failedInARow = 0;
  let lastError = '';
  let abort = false;
  const status = () => `accepted ${result.accepted} duplicates ${result.duplicates} rejected ${result.rejected}${result.failed ? ` FAILED ${result.failed}` : ''}`;
  await Promise.all(
    lanes.map(async (lane) => {
      for (let i = 0; i < lane.length && !abort; i += batchSize) {
        let batch = lane.slice(i, i + batchSize);
        let storedAny = false;
        // One receive of what is left of the batch; what failed comes back after the redelivery backoff.
        const receive = async (): Promise<Attempt<void, number>> => {
          if (abort) return { done: undefined };
          let out: Awaited<ReturnType<IntakeHandler>>;
          try {
            out = await handler({ Records: batch });
          } catch (err) {
            // The handler itself failed (a deployed function's error, the network): the whole batch failed.
            out = { batchItemFailures: batch.map((r) => ({ itemIdentifier: r.messageId })), summary: { accepted: 0, duplicates: 0, rejected: 0 }, error: `${(err as Error).name}: ${(err as Error).message}` };
          }
          result.accepted += out.summary.accepted;
          result.duplicates += out.summary.duplicates;
          result.rejected += out.summary.rejected;
          if (out.error) lastError = out.error;
          const failedIds = new Set(out.batchItemFailures.map((f) => f.itemIdentifier));
          if (failedIds.size < batch.length) storedAny = true;
          done += batch.length - failedIds.size;
          batch = batch.filter((r) => failedIds.has(r.messageId));
          return batch.length ? { again: batch.length } : { done: undefined };
        };
        if (!(await retry(redelivery, receive, systemClock)).ok) {
          // Every receive failed them: they would sit in the dead-letter queue.
          result.failed += batch.length;
          done += batch.length;
        }
        failedInARow = storedAny ? 0 : failedInARow + 1;
        if (failedInARow >= maxConsecutive) abort = true;
        progress.update(done, status());
      }
    }),
  );
  if (abort) {
    const left = records.length - done;
    progress.done(status());
    throw new ImportAbortedError(
      `import stopped: ${failedInARow} batches failed in a row, nothing of them stored${opts.target ? ` (${opts.target})` : ''}: ${lastError || 'no error was reported'}. ` +
        `${result.accepted} events were accepted and are stored; ${left} were not tried. Bring the store back (renewal local status / renewal local up) and run the same import again: it is idempotent.`,
      result,
    );
  }
  progress.done();
  return result;
}

export async function importFile(handler: IntakeHandler, file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  return feedRecords(handler, toRecords(await readEventFile(file), basename(file)), opts);
}
