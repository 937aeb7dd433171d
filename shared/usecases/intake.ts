import type { SQSRecord } from 'aws-lambda';
import { parseEvent } from '../events.ts';
import { uses, type Needs } from '../store/access.ts';
import { INGEST_ACCESS, type IngestEntry, type IngestOutcome, type Origin } from '../store/ingest.ts';

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

  constructor(
    private readonly store: Needs<typeof INTAKE_INGEST>,
    private readonly expected: number,
  ) {}

  submit(record: SQSRecord): Promise<IngestOutcome> {
    const origin = originOf(record);
    const parsed = parseEvent(record.body);
    this.entries.push(
      parsed.ok
        ? { kind: 'event', event: parsed.event, raw: record.body, origin }
        : { kind: 'invalid', field: parsed.field, reason: parsed.reason, raw: record.body, event: parsed.event, origin },
    );
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
      for (const w of this.waiters) w.reject(err);
    }
  }
}

/** Import provenance travels as message attributes; SQS's own messageId identifies the rest. */
function originOf(record: SQSRecord): Origin {
  const attrs = record.messageAttributes ?? {};
  const line = attrs.line?.stringValue;
  return {
    messageId: record.messageId,
    ...(attrs.source?.stringValue ? { source: attrs.source.stringValue } : {}),
    ...(line && /^\d+$/.test(line) ? { line: Number(line) } : {}),
  };
}
