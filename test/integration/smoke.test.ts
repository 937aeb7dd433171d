import { describe, expect, it } from 'vitest';
import { useTestStack } from '../support/stack.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { toRecords } from '#cli/import.ts';

describe('intake smoke', () => {
  it('stores an order through the handler', async () => {
    const { db, tables } = await useTestStack();
    const intake = makeIntake(new IngestStore(db, tables));
    const out = await intake({ Records: toRecords('{"type":"order.paid","orderId":"O1","storeId":"S1","paidAt":"2023-12-05T10:00:00+08:00"}', 't') });
    expect(out.summary).toEqual({ accepted: 1, duplicates: 0, rejected: 0 });
    const got = await db.send(new GetCommand({ TableName: tables.orders, Key: { orderId: 'O1' } }));
    expect(got.Item?.paidAt).toBe('2023-12-05T02:00:00.000Z');
  });
});
