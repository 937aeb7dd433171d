/**
 * `renewal import`'s feeder: an event file's lines as the SQS records the intake queue would deliver,
 * fed through the intake handler in batches and lanes as an SQS FIFO event source mapping would, failed
 * records redelivered, stopping when the store is gone. Reading the file is ./event-file.ts.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { systemClock } from '#shared/clock.ts';
import { messageGroupOf } from '#shared/events.ts';
import { retry, type Attempt, type RetryPolicy } from '#shared/retry.ts';
import { type IntakeSummary } from '#shared/usecases/intake.ts';
import { Progress } from '#shared/text/terminal.ts';
import { RenewalError } from '#shared/errors.ts';
import { countEventFile, parseEventFile, streamEventFile, type EventLine } from './event-file.ts';

export { countEventFile, EventLineReader, InputFileError, parseEventFile, readEventFile, streamEventFile, type EventLine } from './event-file.ts';

export type IntakeHandler = (event: SQSEvent) => Promise<{ batchItemFailures: { itemIdentifier: string }[]; summary: IntakeSummary; error?: string }>;

/**
 * The import gave up: the store failed `consecutiveFailures` batches in a row (it is gone). What was
 * accepted before is stored; the message says what failed, where, and what to run next.
 */
export class ImportAbortedError extends RenewalError {
  override name = 'ImportAbortedError';
  /** Running the import again helps once the store is back: it is idempotent. */
  override readonly retryable = true;
  constructor(
    message: string,
    readonly partial: ImportResult,
  ) {
    super(message);
  }
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
  return lines.map((l) => toRecord(l, source));
}

const attribute = (stringValue: string, dataType: 'String' | 'Number') => ({ stringValue, dataType, stringListValues: [], binaryListValues: [] });

/**
 * The SQS record a line becomes, as the intake queue would deliver it: its provenance (`source`,
 * `line`) in message attributes, `bodyEncoding: base64` for a line that is not UTF-8, and for a line too
 * large for a message, its start with `bodyBytes` and `bodySha256` (the intake rejects it: `size`).
 */
export function toRecord({ line, body, base64, oversize }: EventLine, source: string): SQSRecord {
  const now = String(Date.now());
  return {
    messageId: `${source}:${line}`,
    receiptHandle: '',
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: 'renewal-import',
      ApproximateFirstReceiveTimestamp: now,
      MessageGroupId: oversize ? `oversize:${oversize.sha256}` : messageGroupOf(body),
    },
    messageAttributes: {
      source: attribute(source, 'String'),
      line: attribute(String(line), 'Number'),
      ...(base64 ? { bodyEncoding: attribute('base64', 'String') } : {}),
      ...(oversize ? { bodyBytes: attribute(String(oversize.bytes), 'Number'), bodySha256: attribute(oversize.sha256, 'String') } : {}),
    },
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:renewal-intake.fifo',
    awsRegion: 'local',
  };
}

/**
 * The bodies one intake invocation carries at most: a Lambda invocation's payload is at most 6 MB,
 * and an SQS event source mapping fills a batch of 10 only while it fits.
 */
export const BATCH_MAX_BYTES = 5_000_000;

export interface FeedOptions extends ImportOptions {
  /** Records in all, for the progress, when `records` is a stream (an array counts itself). */
  total?: number;
  /** Records read ahead of the intake at most (default: two batches per invocation in flight). */
  window?: number;
}

/**
 * The lanes between the reader and the intake calls: a message group is pinned to one lane, a lane
 * sends one batch at a time, and the reader waits while `window` records are read and not yet taken.
 */
class Lanes {
  readonly lanes: SQSRecord[][];
  private readonly wakers: ((() => void) | undefined)[];
  private wakeReader: (() => void) | undefined;
  /** Records read and not yet taken by a lane. */
  private held = 0;
  /** The reader waits for room: a lane sends what it has rather than wait for a full batch. */
  private readerWaiting = false;
  ended = false;
  abort = false;

  constructor(
    concurrency: number,
    private readonly batchSize: number,
  ) {
    this.lanes = Array.from({ length: concurrency }, () => []);
    this.wakers = Array.from({ length: concurrency }, () => undefined);
  }

  wake(i: number): void {
    const w = this.wakers[i];
    this.wakers[i] = undefined;
    w?.();
  }

  wakeAll(): void {
    this.lanes.forEach((_, i) => this.wake(i));
  }

  private wakeTheReader(): void {
    const w = this.wakeReader;
    this.wakeReader = undefined;
    w?.();
  }

  /** Stop at once: every lane and the reader wake to find `abort`. */
  stop(): void {
    this.abort = true;
    this.wakeAll();
    this.wakeTheReader();
  }

  /** The record into its group's lane; the reader then waits while the window is full. */
  async push(r: SQSRecord, window: number): Promise<void> {
    const group = r.attributes.MessageGroupId ?? r.messageId;
    const i = createHash('sha1').update(group).digest().readUInt32BE(0) % this.lanes.length;
    this.lanes[i]!.push(r);
    this.held++;
    if (this.lanes[i]!.length >= this.batchSize) this.wake(i);
    while (this.held >= window && !this.abort) {
      this.readerWaiting = true;
      const room = new Promise<void>((res) => (this.wakeReader = res));
      this.wakeAll();
      await room;
      this.readerWaiting = false;
    }
  }

  /**
   * Whether lane `i` sends now: a full batch, or what there is once the input has ended, or once the
   * reader waits for room and no lane holds a full batch (a window smaller than a batch per lane): as a
   * queue with a backlog delivers, full batches while there are any, so no request goes out part-empty.
   */
  ready(i: number): boolean {
    const lane = this.lanes[i]!;
    return lane.length >= this.batchSize || (lane.length > 0 && (this.ended || (this.readerWaiting && !this.lanes.some((l) => l.length >= this.batchSize))));
  }

  /** Until lane `i` is woken (a record for it, the end, a stop). */
  idle(i: number): Promise<void> {
    return new Promise<void>((r) => (this.wakers[i] = r));
  }

  /** The next batch of lane `i`: up to batchSize records whose bodies fit BATCH_MAX_BYTES (one at least). */
  take(i: number): SQSRecord[] {
    const lane = this.lanes[i]!;
    let n = 0;
    let bytes = 0;
    while (n < lane.length && n < this.batchSize) {
      const b = Buffer.byteLength(lane[n]!.body);
      if (n > 0 && bytes + b > BATCH_MAX_BYTES) break;
      bytes += b;
      n++;
    }
    const batch = lane.splice(0, n);
    this.held -= batch.length;
    this.wakeTheReader();
    return batch;
  }
}

/** What the lanes have done so far, for the result, the progress and the message when the import stops. */
interface Tally {
  result: ImportResult;
  /** Records settled: stored, rejected, duplicate, or failed for good. */
  done: number;
  lastError: string;
  /** Batches in a row of which nothing was stored even after every redelivery. */
  failedInARow: number;
}

/**
 * One batch through the intake, its failed records redelivered after the backoff until none fails or
 * the receives run out (they would sit in the dead-letter queue). Returns whether any of it was stored.
 */
async function sendBatch(handler: IntakeHandler, first: SQSRecord[], redelivery: RetryPolicy, tally: Tally, aborted: () => boolean): Promise<boolean> {
  const { result } = tally;
  let batch = first;
  let storedAny = false;
  // One receive of what is left of the batch; what failed comes back after the redelivery backoff.
  const receive = async (): Promise<Attempt<void, number>> => {
    if (aborted()) return { done: undefined };
    let out: Awaited<ReturnType<IntakeHandler>>;
    try {
      out = await handler({ Records: batch });
    } catch (err) {
      // The handler itself failed (a deployed function's error, the network): the whole batch failed.
      out = {
        batchItemFailures: batch.map((r) => ({ itemIdentifier: r.messageId })),
        summary: { accepted: 0, duplicates: 0, rejected: 0 },
        error: `${(err as Error).name}: ${(err as Error).message}`,
      };
    }
    result.accepted += out.summary.accepted;
    result.duplicates += out.summary.duplicates;
    result.rejected += out.summary.rejected;
    if (out.error) tally.lastError = out.error;
    const failedIds = new Set(out.batchItemFailures.map((f) => f.itemIdentifier));
    if (failedIds.size < batch.length) storedAny = true;
    tally.done += batch.length - failedIds.size;
    batch = batch.filter((r) => failedIds.has(r.messageId));
    return batch.length ? { again: batch.length } : { done: undefined };
  };
  if (!(await retry(redelivery, receive, systemClock)).ok) {
    // Every receive failed them: they would sit in the dead-letter queue.
    result.failed += batch.length;
    tally.done += batch.length;
  }
  return storedAny;
}

/**
 * Feeds records through the intake handler the way SQS FIFO would: batches of `batchSize` (and of at
 * most BATCH_MAX_BYTES), `concurrency` batches in flight, a message group never in two batches at once
 * (each group is pinned to one lane, and a lane sends one batch at a time), and failed records
 * redelivered up to `maxReceives` times. `records` may be a stream: it is read only as far as `window`
 * records ahead of what the lanes have taken, so memory follows the batches in flight, not the input.
 */
export async function feedRecords(handler: IntakeHandler, records: Iterable<SQSRecord> | AsyncIterable<SQSRecord>, opts: FeedOptions = {}): Promise<ImportResult> {
  const batchSize = opts.batchSize ?? 10;
  const concurrency = opts.concurrency ?? 24;
  const window = opts.window ?? concurrency * batchSize * 2;
  const redelivery = { ...IMPORT_REDELIVERY, ...(opts.maxReceives !== undefined ? { attempts: opts.maxReceives } : {}) };
  const maxConsecutive = opts.maxConsecutiveFailures ?? 3;
  const total = Array.isArray(records) ? records.length : (opts.total ?? 0);
  const lanes = new Lanes(concurrency, batchSize);
  const tally: Tally = { result: { accepted: 0, duplicates: 0, rejected: 0, failed: 0 }, done: 0, lastError: '', failedInARow: 0 };
  const { result } = tally;
  const progress = new Progress('import', total, opts.quiet);
  let read = 0;
  const status = () => `accepted ${result.accepted} duplicates ${result.duplicates} rejected ${result.rejected}${result.failed ? ` FAILED ${result.failed}` : ''}`;

  const runLane = async (i: number) => {
    while (!lanes.abort) {
      if (!lanes.ready(i)) {
        if (lanes.ended) return;
        await lanes.idle(i);
        continue;
      }
      const storedAny = await sendBatch(handler, lanes.take(i), redelivery, tally, () => lanes.abort);
      // Several batches in a row with nothing stored mean the store is gone: stop at once instead of
      // grinding through the file.
      tally.failedInARow = storedAny ? 0 : tally.failedInARow + 1;
      if (tally.failedInARow >= maxConsecutive) lanes.stop();
      progress.update(tally.done, status());
    }
  };

  const workers = lanes.lanes.map((_, i) => runLane(i));
  try {
    for await (const r of records) {
      if (lanes.abort) break;
      read++;
      await lanes.push(r, window);
    }
  } catch (err) {
    lanes.stop();
    await Promise.all(workers);
    throw err;
  } finally {
    lanes.ended = true;
    lanes.wakeAll();
  }
  await Promise.all(workers);
  if (lanes.abort) {
    const left = Math.max(total, read) - tally.done;
    progress.done(status());
    throw new ImportAbortedError(
      `import stopped: ${tally.failedInARow} batches failed in a row, nothing of them stored${opts.target ? ` (${opts.target})` : ''}: ${tally.lastError || 'no error was reported'}. ` +
        `${result.accepted} events were accepted and are stored; ${left} were not tried. Bring the store back (renewal local status / renewal local up) and run the same import again: it is idempotent.`,
      result,
    );
  }
  progress.done();
  return result;
}

/** The records of an event file as it is read (`streamEventFile`), with their provenance. */
export async function* streamRecords(file: string): AsyncGenerator<SQSRecord> {
  const source = basename(file);
  for await (const l of streamEventFile(file)) yield toRecord(l, source);
}

/**
 * Imports an event file as a stream: read through once to count its events (and to refuse it whole
 * before anything is sent, when it must be), then fed with a bounded window of batches in flight.
 */
export async function importFile(handler: IntakeHandler, file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const total = await countEventFile(file);
  return feedRecords(handler, streamRecords(file), { ...opts, total });
}
