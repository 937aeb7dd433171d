/**
 * The bench's meter (tools/bench/meter.ts) on the wire against dynalite: what one intake batch of ten
 * orders is billed (ten items, ten byStore entries and one change record written; ten consistent key
 * reads), a redelivery (reads only, plus the change record looked up), and a projecting Scan billed by
 * whole items, not by what it returns.
 */
import { describe, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#shared/aws.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { meterDelta, meterDynamo } from '#tools/bench/meter.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { toRecords } from '#cli/import.ts';
import { freshTables, useTestStack } from '../support/stack.ts';
import { ev } from '../support/pipeline.ts';

const { clients: sdk } = await useTestStack();

describe('meterDynamo', () => {
  it('one batch of ten new orders: 11 item writes and 10 index writes, 10 strongly consistent reads; a redelivery writes nothing', async () => {
    const tables = await freshTables();
    const db = createDocumentClient(sdk.dynamodb);
    const meter = meterDynamo(db, tables);
    const intake = makeIntake(new IngestStore(db, tables));
    const records = toRecords(Array.from({ length: 10 }, (_, i) => ev.order(`M${i}`, `S${i}`, '2024-01-10T10:00:00+08:00')).join('\n'), 'm.ndjson');
    expect((await intake({ Records: records })).summary).toEqual({ accepted: 10, duplicates: 0, rejected: 0 });
    expect({ ...meter.snapshot(), operations: meter.operations }).toEqual({
      requests: 2,
      operations: { BatchGetItem: 1, BatchWriteItem: 1 },
      itemsRead: 0,
      itemsWritten: 11,
      wruTable: 11,
      wruIndexes: 10,
      rru: 10, // ten keys that found nothing, strongly consistent: the minimum each
    });
    const before = meter.snapshot();
    expect((await intake({ Records: records })).summary).toEqual({ accepted: 0, duplicates: 10, rejected: 0 });
    const redelivery = meterDelta(meter.snapshot(), before);
    // The ten orders read back, and their one change record looked up by GetItem: nothing written.
    expect(redelivery).toMatchObject({ requests: 2, itemsRead: 11, itemsWritten: 0, wruTable: 0, wruIndexes: 0, rru: 11, operations: { BatchGetItem: 1, GetItem: 1 } });
    db.destroy();
  });

  it('a projecting Scan is billed by the whole items it reads', async () => {
    const tables = await freshTables();
    const db = createDocumentClient(sdk.dynamodb);
    const intake = makeIntake(new IngestStore(db, tables));
    const big = Array.from({ length: 10 }, (_, i) => JSON.stringify({ type: 'order.paid', orderId: `B${i}-${'x'.repeat(100)}`, storeId: `S-${'y'.repeat(120)}`, paidAt: '2024-01-10T10:00:00+08:00' }));
    expect((await intake({ Records: toRecords(big.join('\n'), 'b.ndjson') })).summary.accepted).toBe(10);
    const meter = meterDynamo(db, tables);
    await db.send(new ScanCommand({ TableName: tables.orders, ProjectionExpression: 'paidAt' }));
    const whole = meter.snapshot().rru;
    await db.send(new ScanCommand({ TableName: tables.orders }));
    // Ten items of 600-700 bytes: under 8 KB, two 4 KB units, at half for an eventually consistent scan.
    expect(meter.snapshot().rru - whole).toBe(1);
    expect(whole).toBe(1);
    db.destroy();
  });
});
