import { describe, expect, it } from 'vitest';
import { useTestStack } from '../support/stack.ts';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { toRecords } from '#cli/import.ts';
import { listRejected } from '#shared/store/rejected.ts';

const good = (i: number) => JSON.stringify({ type: 'order.paid', orderId: `O${i}`, storeId: 'S1', paidAt: '2023-12-05T10:00:00+08:00' });

describe('scratch', async () => {
  const { db, tables } = await useTestStack();
  const { intake } = await import('#functions/intake.ts');
  it('constructor type', async () => {
    const recs = toRecords([good(1), '{"type":"constructor"}', good(2)].join('\n'), 'c');
    const r = await Promise.race([intake({ Records: recs }), new Promise((res) => setTimeout(() => res('TIMEOUT'), 3000))]);
    console.log('constructor:', JSON.stringify(r));
  });
  it('binding collision', async () => {
    const a = { type: 'binding.started', providerId: 'A:B', storeId: 'C', at: '2023-12-01T00:00:00Z' };
    const b = { type: 'binding.started', providerId: 'A', storeId: 'B:C', at: '2023-12-01T00:00:00Z' };
    const r = await intake({ Records: toRecords([a, b].map((x) => JSON.stringify(x)).join('\n'), 'b') });
    console.log('binding:', JSON.stringify(r));
    const s = await db.send(new ScanCommand({ TableName: tables.events }));
    console.log(s.Items?.map((i) => [i.pk, i.sk]));
    console.log((await listRejected(db, tables.rejected)).map((x) => x.reason));
  });
  it('long name', async () => {
    const ev = { type: 'provider.upserted', providerId: 'P1', name: 'x'.repeat(70000), email: 'a@b.co', certifiedAt: '2023-01-01T00:00:00Z' };
    const r = await intake({ Records: toRecords(JSON.stringify(ev), 'l') });
    console.log('long:', JSON.stringify(r));
    try { await listRejected(db, tables.rejected); console.log('list ok'); } catch (e) { console.log('list THROWS', (e as Error).message.slice(0, 200)); }
  });
  it('huge extra key', async () => {
    const ev: Record<string, unknown> = JSON.parse(good(9));
    ev['k'.repeat(250000)] = 1;
    const r = await intake({ Records: toRecords([good(10), JSON.stringify(ev)].join('\n'), 'h') });
    console.log('hugekey:', JSON.stringify(r));
  });
});
