import type { SQSRecord } from 'aws-lambda';
import { parseEvent } from '../events.ts';
import { uses, type Needs } from '../store/access.ts';
import { INGEST_ACCESS, type IngestEntry, type IngestOutcome } from '../store/ingest.ts';

/** What the intake uses of its store: its IAM policy is derived from this. */
export const INTAKE_INGEST = uses(INGEST_ACCESS, ['ingest']);
export const INTAKE_NEEDS = [INTAKE_INGEST];

/**
 * The most one SQS message may carry, its body and its message attributes together: 1 MiB, 1,048,576
 * bytes. AWS raised it from 256 KiB (SendMessage, `MessageBody`: "The maximum size is 1 MiB or 1,048,576
 * bytes", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html; AWS
 * Compute Blog, "More room to build: serverless services now support payloads up to 1 MB",
 * https://aws.amazon.com/blogs/compute/more-room-to-build-serverless-services-now-support-payloads-up-to-1-mb,
 * both read 2026-12-01).
 */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

/**
 * What an event's message body may take of an SQS message: the rest is kept for the attributes a
 * producer adds (`source`, a file name of at most 255 bytes, `line`, `bodyEncoding`, `bodyBytes`,
 * `bodySha256`: under 500 bytes with their names and types). 1,047,552 bytes.
 */
export const MAX_EVENT_BYTES = SQS_MAX_MESSAGE_BYTES - 1_024;

/** Counts of one intake batch, returned beside the partial batch response (Lambda ignores them). */
export interface IntakeSummary {
  accepted: number;
  duplicates: number;
  rejected: number;
}

/**
 * Gathers the records of one SQS batch, as Powertools' batch processor hands them over one by one
 * (in parallel), into a single store call: once every record has been submitted, the batch is
 * stored with one BatchGetItem and one BatchWriteItem, and each record's promise settles with its
 * own outcome. A storage failure fails every record of the batch, so SQS redelivers them; what was
 * already written then comes back as duplicates.
 */
export class IntakeBatch {
  private readonly entries: IngestEntry[] = [];
  private readonly waiters: { resolve: (o: IngestOutcome) => void; reject: (e: unknown) => void }[] = [];
  readonly summary: IntakeSummary = { accepted: 0, duplicates: 0, rejected: 0 };
  /** Why the store failed this batch, when it did (every record is then a batch item failure). */
  error?: string;

  constructor(
    private readonly store: Needs<typeof INTAKE_INGEST>,
    private readonly expected: number,
  ) {}

  submit(record: SQSRecord): Promise<IngestOutcome> {
    const origin = originOf(record);
    this.entries.push(entryOf(record, origin));
    const outcome = new Promise<IngestOutcome>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.entries.length === this.expected) void this.flush();
    return outcome;
  }

  private async flush(): Promise<void> {
    try {
      const outcomes = await this.store.ingest(this.entries);
      outcomes.forEach((o, i) => {
        if (o.status === 'accepted') this.summary.accepted++;
        else if (o.status === 'duplicate') this.summary.duplicates++;
        else this.summary.rejected++;
        this.waiters[i]!.resolve(o);
      });
    } catch (err) {
      this.error = `${(err as Error).name}: ${(err as Error).message}`;
      for (const w of this.waiters) w.reject(err);
    }
  }
}

/** What a record is to the store: an event, or a rejection with its field and reason. */
function entryOf(record: SQSRecord, origin: IngestEntry['origin']): IngestEntry {
  const oversize = oversizeOf(record);
  if (oversize) return { kind: 'invalid', field: 'size', reason: oversize.reason, raw: record.body, origin, ...(oversize.whole ? { whole: oversize.whole } : {}) };
  const body = bodyOf(record);
  if (!body.ok) return { kind: 'invalid', field: 'encoding', reason: body.reason, raw: record.body, origin };
  const parsed = parseEvent(body.text);
  return parsed.ok ? { kind: 'event', event: parsed.event, raw: body.text, origin } : { kind: 'invalid', field: parsed.field, reason: parsed.reason, raw: body.text, event: parsed.event, origin };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A body larger than an event may be (`MAX_EVENT_BYTES`), with reason `size` and its byte count. Two
 * ways in: a producer that met a longer line sends only its start, saying so in the attributes
 * `bodyBytes` and `bodySha256` (`renewal import` does: such a line cannot travel whole), or a body over
 * the limit arrives whole (an invocation by hand, a queue configured for more): it is not stored either.
 */
function oversizeOf(record: SQSRecord): { reason: string; whole?: { bytes: number; sha256: string } } | undefined {
  const attrs = record.messageAttributes ?? {};
  const declared = attrs.bodyBytes?.stringValue;
  const sha256 = attrs.bodySha256?.stringValue;
  if (declared && /^\d+$/.test(declared) && sha256 && /^[0-9a-f]{64}$/.test(sha256)) {
    const bytes = Number(declared);
    return { reason: sizeReason(bytes), whole: { bytes, sha256 } };
  }
  // A UTF-16 code unit is at most 3 bytes of UTF-8: most bodies need no count.
  if (record.body.length * 3 <= MAX_EVENT_BYTES) return undefined;
  const bytes = Buffer.byteLength(record.body);
  return bytes > MAX_EVENT_BYTES ? { reason: sizeReason(bytes) } : undefined;
}

/** The reason a too-large event is rejected with: `size`, its byte count, and the limit. */
export const sizeReason = (bytes: number): string =>
  `size: the event is ${bytes} bytes; an event may be at most ${MAX_EVENT_BYTES} bytes (an SQS message carries at most ${SQS_MAX_MESSAGE_BYTES} bytes, attributes included); raw holds its start`;

/**
 * The event text of a record. A producer that cannot send a line as text (it is not valid UTF-8, as
 * `renewal import` finds) sends its bytes in base64 with the message attribute `bodyEncoding: base64`:
 * valid UTF-8 inside goes on as usual, anything else is rejected with reason `encoding`, the bytes kept.
 */
function bodyOf(record: SQSRecord): { ok: true; text: string } | { ok: false; reason: string } {
  if (record.messageAttributes?.bodyEncoding?.stringValue !== 'base64') return { ok: true, text: record.body };
  const bytes = Buffer.from(record.body, 'base64');
  try {
    return { ok: true, text: UTF8.decode(bytes) };
  } catch {
    // Where it breaks: the bytes before the first replacement character of a lenient decode.
    const lenient = new TextDecoder('utf-8').decode(bytes);
    const at = Buffer.byteLength(lenient.slice(0, Math.max(0, lenient.indexOf('\ufffd'))));
    return { ok: false, reason: `encoding: not valid UTF-8 (byte 0x${(bytes[at] ?? 0).toString(16).padStart(2, '0')} at offset ${at} of the line); raw holds the line's bytes in base64` };
  }
}

/** Import provenance travels as message attributes; SQS's own messageId identifies the rest. */
function originOf(record: SQSRecord): IngestEntry['origin'] {
  const attrs = record.messageAttributes ?? {};
  const line = attrs.line?.stringValue;
  return {
    messageId: record.messageId,
    ...(attrs.source?.stringValue ? { source: attrs.source.stringValue } : {}),
    ...(line && /^\d+$/.test(line) ? { line: Number(line) } : {}),
  };
}
