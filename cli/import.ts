import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { messageGroupOf } from '#shared/events.ts';
import type { IntakeSummary } from '#shared/usecases/intake.ts';
import { Progress } from './output.ts';

export type IntakeHandler = (event: SQSEvent) => Promise<{ batchItemFailures: { itemIdentifier: string }[]; summary: IntakeSummary }>;

export interface ImportOptions {
  /** Records per intake invocation: 10, the most an SQS FIFO event source mapping delivers. */
  batchSize?: number;
  /** Intake invocations in flight at once (Lambda concurrency). */
  concurrency?: number;
  /** Redeliveries of a failed record before the import gives up on it (SQS maxReceiveCount). */
  maxReceives?: number;
  quiet?: boolean;
}

export interface ImportResult extends IntakeSummary {
  /** Records still failing after every redelivery: they would sit in the dead-letter queue. */
  failed: number;
}


export function toRecords(text: string, source: string): SQSRecord[] {
  const records: SQSRecord[] = [];
  text.split('\n').forEach((raw, i) => {
    const body = raw.replace(/\r$/, '');
    if (!body.trim()) return; // blank lines are skipped (OPS.md)
    const line = i + 1;
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
  const maxReceives = opts.maxReceives ?? 5;
  const lanes: SQSRecord[][] = Array.from({ length: concurrency }, () => []);
  for (const r of records) {
    const group = r.attributes.MessageGroupId ?? r.messageId;
    const lane = createHash('sha1').update(group).digest().readUInt32BE(0) % concurrency;
    lanes[lane]!.push(r);
  }
  const result: ImportResult = { accepted: 0, duplicates: 0, rejected: 0, failed: 0 };
  const progress = new Progress('import', records.length, opts.quiet);
  let done = 0;
  await Promise.all(
    lanes.map(async (lane) => {
      for (let i = 0; i < lane.length; i += batchSize) {
        let batch = lane.slice(i, i + batchSize);
        for (let receive = 1; batch.length; receive++) {
          const out = await handler({ Records: batch });
          result.accepted += out.summary.accepted;
          result.duplicates += out.summary.duplicates;
          result.rejected += out.summary.rejected;
          const failedIds = new Set(out.batchItemFailures.map((f) => f.itemIdentifier));
          done += batch.length - failedIds.size;
          batch = batch.filter((r) => failedIds.has(r.messageId));
          if (batch.length && receive >= maxReceives) {
            result.failed += batch.length;
            done += batch.length;
            break;
          }
          if (batch.length) await new Promise((r) => setTimeout(r, 100 * 2 ** receive));
        }
        progress.update(done, `accepted ${result.accepted} duplicates ${result.duplicates} rejected ${result.rejected}`);
      }
    }),
  );
  progress.done();
  return result;
}

export async function importFile(handler: IntakeHandler, file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const text = await readFile(file, 'utf8');
  return feedRecords(handler, toRecords(text, basename(file)), opts);
}
