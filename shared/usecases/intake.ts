import type { SQSRecord } from 'aws-lambda';
import { parseEvent } from '../events.ts';
import { uses, type Needs } from '../store/access.ts';
import { INGEST_ACCESS, type IngestEntry, type IngestOutcome } from '../store/ingest.ts';

/** What the intake uses of its store: its IAM policy is derived from this. */
export const INTAKE_INGEST = uses(INGEST_ACCESS, ['ingest']);
export const INTAKE_NEEDS = [INTAKE_INGEST];

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
    const body = bodyOf(record);
    if (body.ok) {
      const parsed = parseEvent(body.text);
      this.entries.push(
        parsed.ok
          ? { kind: 'event', event: parsed.event, raw: body.text, origin }
          : { kind: 'invalid', field: parsed.field, reason: parsed.reason, raw: body.text, event: parsed.event, origin },
      );
    } else this.entries.push({ kind: 'invalid', field: 'encoding', reason: body.reason, raw: record.body, origin });
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

const UTF8 = new TextDecoder('utf-8', { fatal: true });

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
