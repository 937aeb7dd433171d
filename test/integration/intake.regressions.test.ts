import { describe, expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { useTestStack } from '../support/stack.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { toRecords } from '#cli/import.ts';
import { listRejected } from '#shared/store/rejected.ts';

/**
 * Hostile bodies found while testing the intake: each must be rejected on its own while the good
 * event of the same batch is stored, and the batch must settle (never hang, never fail).
 */
const { db, tables } = await useTestStack();
const intake = makeIntake(new IngestStore(db, tables));

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
let seq = 0;

async function alongsideGoodOrder(bad: string) {
  const orderId = `REG${++seq}`;
  const good = JSON.stringify({ type: 'order.paid', orderId, storeId: 'S1', paidAt: '2023-12-05T10:00:00+08:00' });
  const settled = await Promise.race([intake({ Records: toRecords(`${good}\n${bad}`, `reg-${seq}.ndjson`) }), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
  expect(settled).not.toBe('hung');
  const out = settled as Awaited<ReturnType<typeof intake>>;
  expect(out.batchItemFailures).toEqual([]);
  expect(out.summary).toEqual({ accepted: 1, duplicates: 0, rejected: 1 });
  const stored = await db.send(new GetCommand({ TableName: tables.orders, Key: { orderId } }));
  expect(stored.Item?.orderId).toBe(orderId);
  const rejected = (await listRejected(db, tables.rejected)).filter((r) => r.source === `reg-${seq}.ndjson`);
  expect(rejected).toHaveLength(1);
  return rejected[0]!;
}

describe('intake regressions', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])('type %s (an inherited property name) is an unknown type', async (type) => {
    const r = await alongsideGoodOrder(JSON.stringify({ type }));
    expect(r.field).toBe('type');
    expect(r.reason).toMatch(/^type: must be one of/);
  });

  it('a deeply nested type is an unknown type', async () => {
    const r = await alongsideGoodOrder(`{"type":${deep(10_000)}}`);
    expect(r.reason).toMatch(/got an array/);
  });

  it('an unknown field holding deeply nested arrays is rejected and kept', async () => {
    const r = await alongsideGoodOrder(`{"type":"order.paid","orderId":"N1","storeId":"S1","paidAt":"2023-12-05T10:00:00Z","x":${deep(10_000)}}`);
    expect(r.field).toBe('x');
    expect(r.raw.length).toBeGreaterThan(10_000);
  });

  it('an unknown field with a 250,000-character name is rejected and kept within one item', async () => {
    const key = 'k'.repeat(250_000);
    const r = await alongsideGoodOrder(`{"type":"order.paid","orderId":"N2","storeId":"S1","paidAt":"2023-12-05T10:00:00Z","${key}":1}`);
    expect(r.field.length).toBeLessThanOrEqual(200);
    expect(r.reason.length).toBeLessThanOrEqual(2000);
  });

  it('a 64,000-character name is rejected and the rejected list still reads', async () => {
    const name = '名'.repeat(64_000);
    const r = await alongsideGoodOrder(JSON.stringify({ type: 'provider.upserted', providerId: 'LONG', name, email: 'a@example.com', certifiedAt: '2023-01-01T00:00:00Z' }));
    expect(r.field).toBe('name');
  });

  it('bindings whose ids contain ":" never share an identity', async () => {
    const a = { type: 'binding.started', providerId: 'A:B', storeId: 'C', at: '2023-11-01T00:00:00Z' };
    const b = { type: 'binding.started', providerId: 'A', storeId: 'B:C', at: '2023-11-01T00:00:00Z' };
    const out = await intake({ Records: toRecords(`${JSON.stringify(a)}\n${JSON.stringify(b)}`, 'colons.ndjson') });
    expect(out.summary).toEqual({ accepted: 2, duplicates: 0, rejected: 0 });
  });
});

describe('intake regressions: duplicates inside one SQS batch', () => {
  it('the same bad body twice in one batch (no file line) is one rejected record and fails nothing', async () => {
    const bad = '{"type":"order.paid","orderId":"DUPBAD","storeId":"S1","paidAt":"2023-12-05T10:00:00"}';
    const records = toRecords(`${bad}\n${bad}`, 'sqs').map((r, i) => ({ ...r, messageId: `m-${i}`, messageAttributes: {} }));
    const out = await intake({ Records: records });
    expect(out.batchItemFailures).toEqual([]);
    expect(out.summary).toEqual({ accepted: 0, duplicates: 0, rejected: 2 });
    const kept = (await listRejected(db, tables.rejected)).filter((r) => r.raw === bad);
    expect(kept).toHaveLength(1);
  });
});
