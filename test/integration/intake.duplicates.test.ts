import { describe, expect, it } from 'vitest';
import { scanAll as scanItems } from '#shared/store/batch.ts';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { useTestStack } from '../support/stack.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { normalized, render, PLAIN, type LogicalEvent, type RenderStyle } from '../support/events.ts';
import { toRecords } from '#cli/import.ts';
import type { RejectedEvent } from '#shared/store/layout/rejected.ts';
import { listRejected } from '#shared/store/rejected.ts';

/**
 * RULES.md, input contract: "Events may arrive late, out of order and more than once: the outcome must
 * be the same as if each had arrived once". A redelivery of the same fact (in whatever textual form) is
 * a no-op; a second order/payment with the same id and other content is a `conflict`, and the first stays.
 * Everything is read back from dynalite.
 */

const { db, tables } = await useTestStack();
const intake = makeIntake(new IngestStore(db, tables));

let sources = 0;
const nextSource = (what: string) => `dup-${what}-${++sources}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Delivers bodies as one SQS batch; a delivery here must never fail a record. */
async function deliver(bodies: string[], source = nextSource('batch')) {
  const out = await intake({ Records: toRecords(bodies.join('\n'), source) });
  expect(out.batchItemFailures).toEqual([]);
  return out.summary;
}

/** Every item of a table, strongly consistent. */
const scan = (table: string) => scanItems(db, { TableName: table, ConsistentRead: true }, 1);

const getOrder = async (orderId: string) => (await db.send(new GetCommand({ TableName: tables.orders, Key: { orderId }, ConsistentRead: true }))).Item;

/** The stored items of the events table that belong to `e`'s fact (found by content, not by key layout). */
async function storedFor(e: LogicalEvent): Promise<Record<string, unknown>[]> {
  if (e.type === 'order.paid') {
    const item = await getOrder(e.orderId);
    return item ? [item] : [];
  }
  const items = await scan(tables.events);
  switch (e.type) {
    case 'provider.upserted':
      return items.filter((i) => i.type === e.type && i.providerId === e.providerId);
    case 'deposit.paid':
    case 'deposit.deducted':
      return items.filter((i) => i.paymentId === e.paymentId);
    default:
      return items.filter((i) => i.type === e.type && i.providerId === e.providerId && i.storeId === e.storeId && i.at === new Date(e.at).toISOString());
  }
}

async function storedOne(e: LogicalEvent): Promise<Record<string, unknown>> {
  const items = await storedFor(e);
  expect(items).toHaveLength(1);
  return items[0]!;
}

/** The event fields of a stored item, compared with what `normalized` says must be kept. */
function expectHolds(item: Record<string, unknown>, e: LogicalEvent) {
  const want = normalized(e);
  const got = Object.fromEntries(Object.keys(want).map((k) => [k, item[k]]));
  expect(got).toEqual(want);
  if (!('regularizedAt' in want)) expect(item).not.toHaveProperty('regularizedAt');
}

const rejectedFrom = async (source: string): Promise<RejectedEvent[]> => (await listRejected(db, tables.rejected)).filter((r) => r.source === source);

const at = (iso: string) => Date.parse(iso);

// ---------------------------------------------------------------------------------------------

describe('an exact redelivery is a no-op', () => {
  it('the same order.paid message delivered again is counted as a duplicate and leaves the item as it was', async () => {
    const body = '{"type":"order.paid","orderId":"DUP-1","storeId":"S1","paidAt":"2023-12-05T10:00:00+08:00"}';
    const source = nextSource('same');
    expect(await deliver([body], source)).toEqual({ accepted: 1, duplicates: 0, rejected: 0 });
    const before = await getOrder('DUP-1');
    expect(before).toMatchObject({ orderId: 'DUP-1', storeId: 'S1', paidAt: '2023-12-05T02:00:00.000Z', gift: false });
    expect(typeof before?.ingestedAt).toBe('string');

    await sleep(5); // a rewrite would now carry a later ingestedAt
    expect(await deliver([body], source)).toEqual({ accepted: 0, duplicates: 1, rejected: 0 });
    expect(await getOrder('DUP-1')).toEqual(before);
    expect(await rejectedFrom(source)).toEqual([]);
  });

  it.each([
    ['keys reordered', '{"paidAt":"2023-12-05T10:00:00+08:00","storeId":"S1","type":"order.paid","orderId":"DUP-2"}'],
    ['Z instead of +08:00 for the same instant', '{"type":"order.paid","orderId":"DUP-2","storeId":"S1","paidAt":"2023-12-05T02:00:00Z"}'],
    ['milliseconds written out', '{"type":"order.paid","orderId":"DUP-2","storeId":"S1","paidAt":"2023-12-05T10:00:00.000+08:00"}'],
    ['another offset, same instant', '{"type":"order.paid","orderId":"DUP-2","storeId":"S1","paidAt":"2023-12-04T21:00:00-05:00"}'],
    ['gift: false written out', '{"type":"order.paid","orderId":"DUP-2","storeId":"S1","paidAt":"2023-12-05T10:00:00+08:00","gift":false}'],
    ['all of these at once', '{"gift":false,"paidAt":"2023-12-05T02:00:00.000Z","orderId":"DUP-2","storeId":"S1","type":"order.paid"}'],
  ])('same order content with %s is a duplicate', async (_what, variant) => {
    // The original goes in once (the first case stores it); each case then redelivers a variant.
    const original = '{"type":"order.paid","orderId":"DUP-2","storeId":"S1","paidAt":"2023-12-05T10:00:00+08:00"}';
    if (!(await getOrder('DUP-2'))) expect(await deliver([original])).toEqual({ accepted: 1, duplicates: 0, rejected: 0 });
    const before = await getOrder('DUP-2');
    await sleep(5);
    const source = nextSource('variant');
    expect(await deliver([variant], source)).toEqual({ accepted: 0, duplicates: 1, rejected: 0 });
    expect(await getOrder('DUP-2')).toEqual(before);
    expect(await rejectedFrom(source)).toEqual([]);
  });

  const t = at('2023-12-20T09:30:15Z');
  const FACTS: [string, LogicalEvent][] = [
    ['order.paid', { type: 'order.paid', orderId: 'DUP-O3', storeId: 'S3', paidAt: t, gift: false }],
    ['order.paid (gift)', { type: 'order.paid', orderId: 'DUP-O4', storeId: 'S3', paidAt: t, gift: true }],
    ['deposit.paid', { type: 'deposit.paid', paymentId: 'DUP-PAY1', providerId: 'P3', amountFen: 10_000_000, paidAt: t }],
    ['deposit.deducted', { type: 'deposit.deducted', paymentId: 'DUP-PAY2', providerId: 'P3', amountFen: 250, at: t }],
    ['binding.started', { type: 'binding.started', providerId: 'P3', storeId: 'DUP-S3', at: t }],
    ['binding.ended', { type: 'binding.ended', providerId: 'P3', storeId: 'DUP-S3', at: t + 1 }],
    ['provider.upserted', { type: 'provider.upserted', providerId: 'DUP-P3', name: '义乌 <Shop> & "Co"', email: 'ops@example.cn', certifiedAt: t, regularizedAt: t + 1000 }],
    ['provider.upserted (on probation)', { type: 'provider.upserted', providerId: 'DUP-P4', name: 'n', email: 'a@b.co', certifiedAt: t }],
  ];
  const STYLES: RenderStyle[] = [
    PLAIN,
    { ...PLAIN, keyOrder: 1 },
    { ...PLAIN, keyOrder: 2 },
    { ...PLAIN, offsetMinutes: 0 },
    { ...PLAIN, offsetMinutes: 0, millis: true },
    { ...PLAIN, offsetMinutes: -300, keyOrder: 3 },
    { ...PLAIN, offsetMinutes: 345, giftExplicit: true },
    { ...PLAIN, offsetMinutes: -720, millis: true, keyOrder: 5, giftExplicit: true },
  ];

  it.each(FACTS)('%s: every textual form of the same fact, one per batch or all in one batch, is one stored item', async (_type, fact) => {
    const bodies = [...new Set(STYLES.map((s) => render(fact, s)))];
    expect(bodies.length).toBeGreaterThanOrEqual(5);
    const source = nextSource('forms');
    expect(await deliver([bodies[0]!], source)).toEqual({ accepted: 1, duplicates: 0, rejected: 0 });
    const before = await storedOne(fact);
    expectHolds(before, fact);

    await sleep(5);
    for (const body of bodies) expect(await deliver([body])).toEqual({ accepted: 0, duplicates: 1, rejected: 0 });
    expect(await deliver(bodies)).toEqual({ accepted: 0, duplicates: bodies.length, rejected: 0 });
    expect(await storedOne(fact)).toEqual(before);
    expect(await rejectedFrom(source)).toEqual([]);
  });

  it.each(FACTS)('%s: a first delivery that carries the same fact twice in one batch stores it once', async (_type, base) => {
    const fact = { ...base, ...('orderId' in base ? { orderId: `${base.orderId}-b` } : {}), ...('paymentId' in base ? { paymentId: `${base.paymentId}-b` } : {}) } as LogicalEvent;
    if (fact.type === 'provider.upserted') fact.providerId += '-b';
    if (fact.type === 'binding.started' || fact.type === 'binding.ended') fact.storeId += '-b';
    const out = await deliver([render(fact, PLAIN), render(fact, { ...PLAIN, offsetMinutes: 0, keyOrder: 1, giftExplicit: true })]);
    expect(out).toEqual({ accepted: 1, duplicates: 1, rejected: 0 });
    expectHolds(await storedOne(fact), fact);
  });
});

// ---------------------------------------------------------------------------------------------

describe('a second version with the same id is a conflict; the first stays', () => {
  interface Case {
    label: string;
    /** The field the rejection must name. */
    field: string;
    first: LogicalEvent;
    second: LogicalEvent;
  }
  const t = at('2023-12-10T08:00:00Z');
  const order: LogicalEvent = { type: 'order.paid', orderId: 'C-O', storeId: 'S1', paidAt: t, gift: false };
  const paid: LogicalEvent = { type: 'deposit.paid', paymentId: 'C-PAY', providerId: 'P1', amountFen: 10_000_000, paidAt: t };
  const deducted: LogicalEvent = { type: 'deposit.deducted', paymentId: 'C-DED', providerId: 'P1', amountFen: 500, at: t };
  const CASES: Case[] = [
    { label: 'order.paid, other storeId', field: 'storeId', first: order, second: { ...order, storeId: 'S2' } },
    { label: 'order.paid, other paidAt', field: 'paidAt', first: order, second: { ...order, paidAt: t + 1000 } },
    { label: 'order.paid, gift true after false', field: 'gift', first: order, second: { ...order, gift: true } },
    { label: 'deposit.paid, other amountFen', field: 'amountFen', first: paid, second: { ...paid, amountFen: 9_999_999 } },
    { label: 'deposit.paid, other providerId', field: 'providerId', first: paid, second: { ...paid, providerId: 'P2' } },
    { label: 'deposit.paid, other paidAt', field: 'paidAt', first: paid, second: { ...paid, paidAt: t - 60_000 } },
    { label: 'deposit.deducted, other amountFen', field: 'amountFen', first: deducted, second: { ...deducted, amountFen: 501 } },
    { label: 'deposit.deducted, other providerId', field: 'providerId', first: deducted, second: { ...deducted, providerId: 'P2' } },
    { label: 'deposit.deducted, other at (1 ms)', field: 'at', first: deducted, second: { ...deducted, at: t + 1 } },
    {
      label: 'deducted after paid, same paymentId',
      field: 'type',
      first: paid,
      second: { type: 'deposit.deducted', paymentId: 'C-PAY', providerId: 'P1', amountFen: 10_000_000, at: t },
    },
    {
      label: 'paid after deducted, same paymentId',
      field: 'type',
      first: deducted,
      second: { type: 'deposit.paid', paymentId: 'C-DED', providerId: 'P1', amountFen: 500, paidAt: t },
    },
  ];
  let n = 0;
  /** Gives both versions a fresh id, so each case starts from nothing. */
  function fresh({ field, first, second }: Case) {
    const suffix = `-${++n}`;
    const withId = (e: LogicalEvent) => ('orderId' in e ? { ...e, orderId: e.orderId + suffix } : 'paymentId' in e ? { ...e, paymentId: e.paymentId + suffix } : e) as LogicalEvent;
    return { field, first: withId(first), second: withId(second) };
  }
  const idOf = (e: LogicalEvent) => ('orderId' in e ? `orderId ${e.orderId}` : 'paymentId' in e ? `paymentId ${e.paymentId}` : '?');

  async function expectConflictRecorded(source: string, line: number, field: string, second: LogicalEvent) {
    const rejected = await rejectedFrom(source);
    expect(rejected).toHaveLength(1);
    const r = rejected[0]!;
    expect(r.line).toBe(line);
    expect(r.reason).toMatch(/^conflict/);
    expect(r.reason).toMatch(new RegExp(`\\b${field}\\b`)); // names the field as a word: 'at' is not 'paidAt'
    expect(r.reason).toContain(idOf(second));
    // The differing fields of paid vs deducted are the type and its time field; the reason names them all.
    if (field === 'type') expect(['at', 'paidAt', 'type']).toContain(r.field);
    else expect(r.field).toBe(field);
    expect(r.event).toEqual(normalized(second));
  }

  it.each(CASES)('$label: in a later batch, the second version is rejected', async (c) => {
    const { field, first, second } = fresh(c);
    expect(await deliver([render(first)])).toEqual({ accepted: 1, duplicates: 0, rejected: 0 });
    const before = await storedOne(first);
    await sleep(5);
    const source = nextSource('conflict');
    // A blank first line (skipped, as in an import file) puts the second version on line 2.
    expect(await deliver(['', render(second, { ...PLAIN, offsetMinutes: 0 })], source)).toEqual({ accepted: 0, duplicates: 0, rejected: 1 });
    const after = await storedOne(first);
    expect(after).toEqual(before);
    expectHolds(after, first);
    await expectConflictRecorded(source, 2, field, second);

    // The first version redelivered is still a plain duplicate, and the rejected one redelivered is kept once.
    expect(await deliver([render(first, { ...PLAIN, keyOrder: 1 })])).toEqual({ accepted: 0, duplicates: 1, rejected: 0 });
    expect(await deliver(['', render(second, { ...PLAIN, offsetMinutes: 0 })], source)).toEqual({ accepted: 0, duplicates: 0, rejected: 1 });
    expect(await rejectedFrom(source)).toHaveLength(1);
    expect(await storedOne(first)).toEqual(before);
  });

  it.each(CASES)('$label: in the same batch, the earlier record wins', async (c) => {
    const { field, first, second } = fresh(c);
    const source = nextSource('conflict-batch');
    expect(await deliver([render(first), render(second, { ...PLAIN, keyOrder: 3 })], source)).toEqual({ accepted: 1, duplicates: 0, rejected: 1 });
    expectHolds(await storedOne(first), first);
    await expectConflictRecorded(source, 2, field, second);
  });
});

// ---------------------------------------------------------------------------------------------

describe('provider profiles: the latest wins, an older one redelivered does not revert it', () => {
  const t = at('2023-10-01T00:00:00Z');
  const v1: LogicalEvent = { type: 'provider.upserted', providerId: 'PROF-1', name: 'Old name', email: 'old@example.com', certifiedAt: t, regularizedAt: t + 86_400_000 };
  const v2: LogicalEvent = { type: 'provider.upserted', providerId: 'PROF-1', name: 'New name', email: 'new@example.com', certifiedAt: t };

  it('a newer profile replaces the older one whole; the older one redelivered afterwards is a duplicate', async () => {
    expect(await deliver([render(v1)])).toEqual({ accepted: 1, duplicates: 0, rejected: 0 });
    expectHolds(await storedOne(v1), v1);

    expect(await deliver([render(v2)])).toEqual({ accepted: 1, duplicates: 0, rejected: 0 });
    const newer = await storedOne(v2);
    expectHolds(newer, v2); // also: regularizedAt of v1 is gone, not merged in

    await sleep(5);
    expect(await deliver([render(v1)])).toEqual({ accepted: 0, duplicates: 1, rejected: 0 });
    expect(await deliver([render(v1, { ...PLAIN, offsetMinutes: 0, keyOrder: 3 })])).toEqual({ accepted: 0, duplicates: 1, rejected: 0 });
    expect(await deliver([render(v2, { ...PLAIN, keyOrder: 1 })])).toEqual({ accepted: 0, duplicates: 1, rejected: 0 });
    expect(await storedOne(v2)).toEqual(newer);
    const rejected = await listRejected(db, tables.rejected);
    expect(rejected.filter((r) => JSON.stringify(r.event ?? '').includes('PROF-1'))).toEqual([]);
  });

  it('two profiles of one provider in one batch: the later record wins', async () => {
    const a = { ...v1, providerId: 'PROF-2' } as LogicalEvent;
    const b = { ...v2, providerId: 'PROF-2' } as LogicalEvent;
    expect(await deliver([render(a), render(b)])).toEqual({ accepted: 2, duplicates: 0, rejected: 0 });
    expectHolds(await storedOne(b), b);
    expect(await deliver([render(a)])).toEqual({ accepted: 0, duplicates: 1, rejected: 0 });
    expectHolds(await storedOne(b), b);
  });
});

// ---------------------------------------------------------------------------------------------

describe('bindings', () => {
  const startedAt = at('2023-11-01T00:00:00Z');
  const endedAt = at('2024-01-15T12:00:00Z');
  const started = (storeId: string, when = startedAt): LogicalEvent => ({ type: 'binding.started', providerId: 'BP1', storeId, at: when });
  const ended = (storeId: string, when = endedAt): LogicalEvent => ({ type: 'binding.ended', providerId: 'BP1', storeId, at: when });
  const bindingItems = async (storeId: string) => (await scan(tables.events)).filter((i) => i.storeId === storeId && String(i.type).startsWith('binding.'));

  it('the same binding event twice is one item', async () => {
    expect(await deliver([render(started('BS1'))])).toEqual({ accepted: 1, duplicates: 0, rejected: 0 });
    const before = await storedOne(started('BS1'));
    await sleep(5);
    expect(await deliver([render(started('BS1'), { ...PLAIN, offsetMinutes: 0 })])).toEqual({ accepted: 0, duplicates: 1, rejected: 0 });
    expect(await bindingItems('BS1')).toEqual([before]);
  });

  it('a binding.ended that arrives before its binding.started is stored, and both are kept', async () => {
    expect(await deliver([render(ended('BS2'))])).toEqual({ accepted: 1, duplicates: 0, rejected: 0 });
    expect(await deliver([render(started('BS2'))])).toEqual({ accepted: 1, duplicates: 0, rejected: 0 });
    const items = await bindingItems('BS2');
    expect(items).toHaveLength(2);
    expectHolds(
      items.find((i) => i.type === 'binding.ended')!,
      ended('BS2'),
    );
    expectHolds(
      items.find((i) => i.type === 'binding.started')!,
      started('BS2'),
    );
  });

  it('a start and an end of one pair at the same instant are two facts', async () => {
    expect(await deliver([render(started('BS3')), render(ended('BS3', startedAt))])).toEqual({ accepted: 2, duplicates: 0, rejected: 0 });
    expect((await bindingItems('BS3')).map((i) => i.type).sort()).toEqual(['binding.ended', 'binding.started']);
  });
});
