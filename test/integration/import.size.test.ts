import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { sendEvents } from '#cli/aws.ts';
import { importFile, readEventFile, toRecord } from '#cli/import.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { scanAll } from '#shared/store/batch.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { listRejected } from '#shared/store/rejected.ts';
import { freshTables, useTestStack } from '../support/stack.ts';

/**
 * Size limits at the door (issue 16): an SQS message carries at most 1 MiB, attributes included, so an
 * event may be at most 1,047,552 bytes (the rest is kept for the attributes). A line at the limit is
 * stored; one byte over and far over, it is rejected with reason `size` and its byte count, and the
 * stored `raw` says it was cut (`rawTruncated`, the whole line's size and SHA-256). Locally (the file
 * through the intake), through the queue path (records as SQS delivers them, straight to the intake),
 * and as `--aws` sends them (what SendMessageBatch is given, delivered to the same intake).
 */
const { db } = await useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'renewal-size-'));

// Literal, not read from the code under test: 1 MiB (the SQS quota) less 1,024 bytes for attributes.
const LIMIT = 1_048_576 - 1_024;
const SQS_MAX = 1_048_576;

/** A valid order.paid of exactly `bytes` bytes (JSON padded with trailing spaces). */
function orderOf(id: string, bytes: number): string {
  const json = JSON.stringify({ type: 'order.paid', orderId: id, storeId: 'S1', paidAt: '2023-12-05T10:00:00+08:00', gift: false });
  return json + ' '.repeat(bytes - json.length);
}
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const atLimit = orderOf('AT', LIMIT);
const oneOver = orderOf('OVER1', LIMIT + 1);
const farOver = orderOf('FAR', 5_000_000);
const normal = orderOf('N1', 120);

async function expectRejectedBySize(tables: Awaited<ReturnType<typeof freshTables>>) {
  const orders = (await scanAll(db, { TableName: tables.orders })).map((o) => o.orderId).sort();
  expect(orders).toEqual(['AT', 'N1']);
  const rejected = (await listRejected(db, tables.rejected)).sort((a, b) => (a.rawBytes ?? 0) - (b.rawBytes ?? 0));
  expect(rejected).toHaveLength(2);
  for (const [r, line] of [
    [rejected[0]!, oneOver],
    [rejected[1]!, farOver],
  ] as const) {
    expect(r.field).toBe('size');
    expect(r.reason).toMatch(new RegExp(`^size: the event is ${line.length} bytes; an event may be at most ${LIMIT} bytes`));
    expect(r).toMatchObject({ rawTruncated: true, rawBytes: line.length, rawSha256: sha256(line) });
    expect(Buffer.byteLength(r.raw)).toBeLessThanOrEqual(64_000);
    expect(line.startsWith(r.raw)).toBe(true);
  }
  return rejected;
}

describe('size limits at the door', () => {
  it('locally: a line at the limit is stored; one byte over and 5 MB over are rejected with reason size, their byte count and a marked cut', async () => {
    const file = join(dir, 'sizes.ndjson');
    writeFileSync(file, [normal, atLimit, oneOver, farOver].join('\n') + '\n');
    const lines = await readEventFile(file);
    // The reader never holds a line over the limit whole: it keeps its start, size and hash.
    expect(lines.map((l) => l.oversize?.bytes)).toEqual([undefined, undefined, LIMIT + 1, 5_000_000]);
    expect(lines[3]!.body.length).toBeLessThanOrEqual(64_000);
    const tables = await freshTables();
    const r = await importFile(makeIntake(new IngestStore(db, tables)), file, { quiet: true });
    expect(r).toEqual({ accepted: 2, duplicates: 0, rejected: 2, failed: 0 });
    const rejected = await expectRejectedBySize(tables);
    expect(rejected.map((x) => x.line)).toEqual([3, 4]);
  });

  it('through the queue path: records as SQS delivers them, bodies whole, go to the intake; over the limit is rejected, never stored', async () => {
    const tables = await freshTables();
    const intake = makeIntake(new IngestStore(db, tables));
    const record = (id: string, body: string): SQSRecord => ({
      messageId: id,
      receiptHandle: '',
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0', MessageGroupId: id },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:local:000000000000:q.fifo',
      awsRegion: 'local',
    });
    const out = await intake({ Records: [record('m1', normal), record('m2', atLimit), record('m3', oneOver), record('m4', farOver)] });
    expect(out.summary).toEqual({ accepted: 2, duplicates: 0, rejected: 2 });
    expect(out.batchItemFailures).toEqual([]);
    const rejected = await expectRejectedBySize(tables);
    expect(rejected.map((x) => x.messageId)).toEqual(['m3', 'm4']);
    // A redelivery is the same rejection, kept once.
    await intake({ Records: [record('m4', farOver)] });
    expect(await listRejected(db, tables.rejected)).toHaveLength(2);
  });

  it('with --aws: what SendMessageBatch is given fits an SQS message, and the deployed intake rejects the cut lines with reason size', async () => {
    const file = join(dir, 'sizes-aws.ndjson');
    writeFileSync(file, [normal, atLimit, oneOver, farOver].join('\n'));
    const lines = await readEventFile(file);
    // SQS has no local stand-in here: the client is mocked to capture what the queue would be given.
    const sqs = mockClient(SQSClient);
    const entries: SendMessageBatchRequestEntry[] = [];
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: SendMessageBatchRequestEntry[] }) => {
      entries.push(...input.Entries);
      return { Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })), Failed: [] };
    });
    try {
      const sent = await sendEvents('https://sqs.example/q.fifo', lines, { client: new SQSClient({ region: 'ap-southeast-1' }), source: 'sizes-aws.ndjson' });
      expect(sent).toEqual({ sent: 4, failed: [] });
    } finally {
      sqs.restore();
    }
    for (const e of entries) {
      // SQS counts the body and every attribute's name, type and value.
      const attrs = Object.entries(e.MessageAttributes ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v.DataType!) + Buffer.byteLength(v.StringValue ?? ''), 0);
      expect(Buffer.byteLength(e.MessageBody!) + attrs).toBeLessThanOrEqual(SQS_MAX);
    }
    // Delivered as SQS would: the attributes become the record's messageAttributes.
    const records = entries.map((e): SQSRecord => {
      const line = lines[Number(e.Id)]!;
      const r = toRecord(line, 'sizes-aws.ndjson');
      const messageAttributes = Object.fromEntries(
        Object.entries(e.MessageAttributes ?? {}).map(([k, v]) => [k, { stringValue: v.StringValue!, dataType: v.DataType!, stringListValues: [], binaryListValues: [] }]),
      );
      return { ...r, messageId: `sqs-${e.Id}`, body: e.MessageBody!, messageAttributes };
    });
    const tables = await freshTables();
    const out = await makeIntake(new IngestStore(db, tables))({ Records: records });
    expect(out.summary).toEqual({ accepted: 2, duplicates: 0, rejected: 2 });
    await expectRejectedBySize(tables);
  });
});
