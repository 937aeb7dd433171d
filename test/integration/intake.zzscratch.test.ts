import { describe, it } from 'vitest';
import { useTestStack } from '../support/stack.ts';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { feedRecords, toRecords } from '#cli/import.ts';
import { listRejected } from '#shared/store/rejected.ts';

const good = (i: number) => JSON.stringify({ type: 'order.paid', orderId: `O${i}`, storeId: 'S1', paidAt: '2023-12-05T10:00:00+08:00' });
const deep = '['.repeat(10000) + ']'.repeat(10000);

describe('scratch', async () => {
  const { db, tables } = await useTestStack();
  const { intake } = await import('#functions/intake.ts');
  const race = <T,>(p: Promise<T>) => Promise.race([p, new Promise((res) => setTimeout(() => res('TIMEOUT after 3s'), 3000))]);
  const has = async (id: string) => !!(await db.send(new GetCommand({ TableName: tables.orders, Key: { orderId: id } }))).Item;
  it('hangs', async () => {
    for (const [i, bad] of ['{"type":"constructor"}', '{"type":"hasOwnProperty","orderId":"x"}', `{"type":${deep}}`].entries()) {
      const recs = toRecords([good(100 + i), bad].join('\n'), `hang${i}`);
      console.log('hang', bad.slice(0, 40), JSON.stringify(await race(intake({ Records: recs }))), 'good stored:', await has(`O${100 + i}`));
    }
  });
  it('poison', async () => {
    const ev: Record<string, unknown> = JSON.parse(good(9)); ev['k'.repeat(250000)] = 1;
    const cases = [JSON.stringify(ev), good(8).replace(/}$/, `,"x":${deep}}`)];
    for (const [i, bad] of cases.entries()) {
      const recs = toRecords([good(200 + i), bad].join('\n'), `poison${i}`);
      console.log('poison', bad.length, JSON.stringify(await intake({ Records: recs })), 'good stored:', await has(`O${200 + i}`));
      console.log('  feedRecords:', JSON.stringify(await feedRecords(intake, recs, { maxReceives: 3, quiet: true })), 'good stored:', await has(`O${200 + i}`));
    }
  });
  it('binding collision', async () => {
    const a = { type: 'binding.started', providerId: 'A:B', storeId: 'C', at: '2023-12-01T00:00:00Z' };
    const b = { type: 'binding.started', providerId: 'A', storeId: 'B:C', at: '2023-12-01T00:00:00Z' };
    const r = await intake({ Records: toRecords([a, b].map((x) => JSON.stringify(x)).join('\n'), 'b') });
    console.log('binding:', JSON.stringify(r));
    const s = await db.send(new ScanCommand({ TableName: tables.events }));
    console.log(s.Items?.filter((i) => String(i.type).startsWith('binding')).map((i) => [i.pk, i.sk]));
    console.log((await listRejected(db, tables.rejected)).filter((x) => x.source === 'b').map((x) => [x.field, x.reason]));
    const r2 = await intake({ Records: toRecords(['', JSON.stringify(b)].join('\n'), 'b2') });
    console.log('binding b alone later:', JSON.stringify(r2));
  });
  it('long', async () => {
    const ev = { type: 'provider.upserted', providerId: 'P1', name: 'x'.repeat(64_000), email: 'a@b.co', certifiedAt: '2023-01-01T00:00:00Z' };
    const r = await intake({ Records: toRecords([JSON.stringify(ev), good(300)].join('\n'), 'l') });
    console.log('long:', JSON.stringify(r));
    try { await listRejected(db, tables.rejected); console.log('list ok'); } catch (e) { console.log('list THROWS', (e as Error).name, (e as Error).message.slice(0, 200)); }
  });
});
