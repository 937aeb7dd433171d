import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { systemClock } from '#shared/clock.ts';
import { messageGroupOf } from '#shared/events.ts';
import { retry, type Attempt, type RetryPolicy } from '#shared/retry.ts';
import { RAW_MAX_BYTES } from '#shared/store/layout/rejected.ts';
import { MAX_EVENT_BYTES, type IntakeSummary } from '#shared/usecases/intake.ts';
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
  /**
   * The line is larger than an event may be (`MAX_EVENT_BYTES`): `body` is only its start, and this
   * is the whole line's size and SHA-256, for the intake to reject it with reason `size`.
   */
  oversize?: { bytes: number; sha256: string };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const LENIENT = new TextDecoder('utf-8');
/** The first bytes of a file that decide its encoding (UTF-16 has a NUL in every other byte). */
const HEAD_BYTES = 4096;

/**
 * Reads NDJSON event bytes strictly (OPS.md, input contract), as they come: `push` each chunk, `end`
 * after the last, each returns the lines completed. A UTF-8 BOM is skipped. Lines end in LF or CRLF; a
 * file with CR-only line endings, or in UTF-16 (a BOM, or NUL bytes), is refused whole (InputFileError),
 * naming its encoding, since reading it as UTF-8 would turn it into one record or into noise: both are
 * decided before the first line is complete. A line that is not valid UTF-8 is kept as its bytes
 * (base64) for the intake to reject with reason `encoding`. A line larger than an event may be is kept
 * as its start, its size and hash (`oversize`), never whole: memory follows `MAX_EVENT_BYTES`, not the
 * longest line. Blank lines are skipped.
 */
export class EventLineReader {
  private head: Buffer[] | undefined = [];
  private headBytes = 0;
  private lineNo = 1;
  /** The current line's bytes while it is within the limit. */
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** The current line, once over the limit: its start, its size, its running hash. */
  private over: { start: Buffer; bytes: number; hash: Hash } | undefined;
  /** A CR at the end of the last chunk: the end of a CRLF, or a byte of the line. */
  private pendingCr = false;
  private sawLf = false;
  /** Bytes read (after a BOM), and where the first CR was: CR-only line endings, if no LF ever comes. */
  private pos = 0;
  private firstCr = -1;

  constructor(private readonly name = 'FILE') {}

  push(chunk: Buffer): EventLine[] {
    if (this.head) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes < HEAD_BYTES) return [];
      return this.start();
    }
    return this.scan(chunk);
  }

  end(): EventLine[] {
    const out = this.head ? this.start() : [];
    if (!this.sawLf && this.firstCr >= 0 && this.firstCr < this.pos - 1)
      throw new InputFileError(`${this.name}: lines end in CR only (old Mac line endings), so the whole file would be one event; convert them to LF or CRLF (e.g. tr '\\r' '\\n')`);
    // A CR that ends the input ends the last line, as CRLF would.
    this.pendingCr = false;
    this.finishLine(out);
    return out;
  }

  private start(): EventLine[] {
    const bytes = Buffer.concat(this.head!);
    this.head = undefined;
    if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
      throw new InputFileError(`${this.name}: is UTF-16 (${bytes[0] === 0xff ? 'little' : 'big'}-endian, with a byte-order mark); events must be UTF-8 NDJSON (convert it: iconv -f UTF-16 -t UTF-8)`);
    }
    const head = bytes.subarray(0, HEAD_BYTES);
    const nuls = head.reduce((n, b) => n + (b === 0 ? 1 : 0), 0);
    if (nuls > 0 && nuls >= head.length / 8) {
      const le = head.findIndex((b) => b === 0) % 2 === 1;
      throw new InputFileError(
        `${this.name}: looks like UTF-16 (${le ? 'little' : 'big'}-endian, no byte-order mark: every other byte is NUL); events must be UTF-8 NDJSON (convert it: iconv -f UTF-16${le ? 'LE' : 'BE'} -t UTF-8)`,
      );
    }
    // UTF-8 BOM: accepted
    return this.scan(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes);
  }

  private scan(chunk: Buffer): EventLine[] {
    const out: EventLine[] = [];
    if (!this.sawLf && this.firstCr < 0) {
      const cr = chunk.indexOf(0x0d);
      if (cr >= 0) this.firstCr = this.pos + cr;
    }
    this.pos += chunk.length;
    let from = 0;
    while (from <= chunk.length) {
      const lf = chunk.indexOf(0x0a, from);
      const to = lf < 0 ? chunk.length : lf;
      this.append(chunk.subarray(from, to), lf >= 0);
      if (lf < 0) break;
      this.sawLf = true;
      this.finishLine(out);
      from = lf + 1;
    }
    return out;
  }

  /** Adds bytes to the current line; a CR at their end waits for the next byte, unless the line ends here. */
  private append(bytes: Buffer, endsLine: boolean): void {
    if (!bytes.length && !endsLine) return;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (bytes.length) this.add(CR); // more came before the LF: the CR was a byte of the line
    }
    if (bytes.length && bytes[bytes.length - 1] === 0x0d) {
      bytes = bytes.subarray(0, -1); // the CR of a CRLF, or (the chunk ends here) perhaps
      if (!endsLine) this.pendingCr = true;
    }
    if (bytes.length) this.add(bytes);
  }

  private add(bytes: Buffer): void {
    if (this.over) {
      this.over.bytes += bytes.length;
      this.over.hash.update(bytes);
      return;
    }
    this.parts.push(bytes);
    this.partBytes += bytes.length;
    if (this.partBytes > MAX_EVENT_BYTES) {
      // Over the limit as bytes: it cannot be an event. Keep its start and hash the rest as it comes.
      const whole = Buffer.concat(this.parts);
      this.over = { start: whole.subarray(0, RAW_MAX_BYTES), bytes: whole.length, hash: createHash('sha256').update(whole) };
      this.parts = [];
      this.partBytes = 0;
    }
  }

  private finishLine(out: EventLine[]): void {
    const line = this.lineNo++;
    if (this.over) {
      const { start, bytes, hash } = this.over;
      this.over = undefined;
      out.push({ line, body: LENIENT.decode(utf8Start(start)), oversize: { bytes, sha256: hash.digest('hex') } });
      return;
    }
    const raw = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.partBytes = 0;
    let text: string;
    try {
      text = UTF8.decode(raw);
    } catch {
      const body = raw.toString('base64');
      // Its base64 is what travels: a third larger than the line.
      if (body.length > MAX_EVENT_BYTES)
        out.push({ line, body: LENIENT.decode(utf8Start(raw.subarray(0, RAW_MAX_BYTES))), oversize: { bytes: raw.length, sha256: createHash('sha256').update(raw).digest('hex') } });
      else out.push({ line, body, base64: true });
      return;
    }
    if (text.trim()) out.push({ line, body: text }); // blank lines are skipped (OPS.md)
  }
}

const CR = Buffer.from([0x0d]);

/** `bytes` without a character cut at its end. */
function utf8Start(bytes: Buffer): Buffer {
  let end = bytes.length;
  let back = 0;
  while (end > 0 && back < 4 && (bytes[end - 1]! & 0xc0) === 0x80) (end--, back++);
  if (end > 0 && bytes[end - 1]! >= 0xc0) {
    const need = bytes[end - 1]! >= 0xf0 ? 4 : bytes[end - 1]! >= 0xe0 ? 3 : 2;
    if (back + 1 < need) return bytes.subarray(0, end - 1);
  }
  return bytes;
}

/** Parses NDJSON event bytes held whole (a test's text, a small file): the same reading as a stream. */
export function parseEventFile(bytes: Buffer, name = 'FILE'): EventLine[] {
  const reader = new EventLineReader(name);
  return [...reader.push(bytes), ...reader.end()];
}

/** Opens an event file for reading; a missing file or a directory is an InputFileError naming it. */
async function checkFile(file: string): Promise<number> {
  let st;
  try {
    st = await stat(file);
  } catch {
    throw new InputFileError(`FILE: no such file: ${file}`);
  }
  if (st.isDirectory()) throw new InputFileError(`FILE: ${file} is a directory; give the NDJSON file of events`);
  return st.size;
}

/**
 * The lines of an event file as it is read, 64 KiB at a time: what is held is one chunk and the line
 * being read. Throws InputFileError (before yielding any line) for a file refused whole.
 */
export async function* streamEventFile(file: string): AsyncGenerator<EventLine> {
  await checkFile(file);
  const reader = new EventLineReader('FILE');
  for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) yield* reader.push(chunk as Buffer);
  yield* reader.end();
}

/** Reads and parses a whole event file; a missing file or a directory is an InputFileError naming it. */
export async function readEventFile(file: string): Promise<EventLine[]> {
  const lines: EventLine[] = [];
  for await (const l of streamEventFile(file)) lines.push(l);
  return lines;
}

/**
 * Reads an event file through once without keeping it: the events it holds (for the progress) and
 * whether it is refused whole (InputFileError), both known before the first event is sent.
 */
export async function countEventFile(file: string): Promise<number> {
  let n = 0;
  for await (const _ of streamEventFile(file)) n++;
  return n;
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
  const lanes: SQSRecord[][] = Array.from({ length: concurrency }, () => []);
  const result: ImportResult = { accepted: 0, duplicates: 0, rejected: 0, failed: 0 };
  const progress = new Progress('import', total, opts.quiet);
  let done = 0;
  let read = 0;
  // Records read and not yet taken by a lane; the reader waits while there are `window` of them.
  let held = 0;
  let ended = false;
  let readerWaiting = false;
  let wakeReader: (() => void) | undefined;
  const laneWakers: ((() => void) | undefined)[] = Array.from({ length: concurrency }, () => undefined);
  const wakeLane = (i: number) => {
    const w = laneWakers[i];
    laneWakers[i] = undefined;
    w?.();
  };
  const wakeAll = () => lanes.forEach((_, i) => wakeLane(i));
  // A batch counts as failed when nothing of it was stored even after every redelivery. Several in a
  // row mean the store is gone: stop at once instead of grinding through the file.
  let failedInARow = 0;
  let lastError = '';
  let abort = false;
  const stop = () => {
    abort = true;
    wakeAll();
    wakeReader?.();
  };
  const status = () => `accepted ${result.accepted} duplicates ${result.duplicates} rejected ${result.rejected}${result.failed ? ` FAILED ${result.failed}` : ''}`;

  /** The next batch of a lane: up to batchSize records whose bodies fit BATCH_MAX_BYTES (one at least). */
  const take = (lane: SQSRecord[]): SQSRecord[] => {
    let n = 0;
    let bytes = 0;
    while (n < lane.length && n < batchSize) {
      const b = Buffer.byteLength(lane[n]!.body);
      if (n > 0 && bytes + b > BATCH_MAX_BYTES) break;
      bytes += b;
      n++;
    }
    const batch = lane.splice(0, n);
    held -= batch.length;
    const w = wakeReader;
    wakeReader = undefined;
    w?.();
    return batch;
  };

  const runLane = async (i: number) => {
    const lane = lanes[i]!;
    while (!abort) {
      // A full batch, or what there is once the input has ended or the reader waits for room.
      if (!(lane.length >= batchSize || (lane.length > 0 && (ended || readerWaiting)))) {
        if (ended) return;
        await new Promise<void>((r) => (laneWakers[i] = r));
        continue;
      }
      let batch = take(lane);
      let storedAny = false;
      // One receive of what is left of the batch; what failed comes back after the redelivery backoff.
      const receive = async (): Promise<Attempt<void, number>> => {
        if (abort) return { done: undefined };
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
      if (failedInARow >= maxConsecutive) stop();
      progress.update(done, status());
    }
  };

  const workers = lanes.map((_, i) => runLane(i));
  try {
    for await (const r of records) {
      if (abort) break;
      const group = r.attributes.MessageGroupId ?? r.messageId;
      const i = createHash('sha1').update(group).digest().readUInt32BE(0) % concurrency;
      lanes[i]!.push(r);
      read++;
      held++;
      if (lanes[i]!.length >= batchSize) wakeLane(i);
      while (held >= window && !abort) {
        readerWaiting = true;
        const room = new Promise<void>((res) => (wakeReader = res));
        wakeAll();
        await room;
        readerWaiting = false;
      }
    }
  } catch (err) {
    stop();
    await Promise.all(workers);
    throw err;
  } finally {
    ended = true;
    wakeAll();
  }
  await Promise.all(workers);
  if (abort) {
    const left = Math.max(total, read) - done;
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
