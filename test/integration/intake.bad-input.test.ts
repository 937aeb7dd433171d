import { describe, expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { useTestStack } from '../support/stack.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { normalized, render, type LogicalEvent } from '../support/events.ts';
import { toRecords } from '#cli/import.ts';
import { listRejected } from '#shared/store/rejected.ts';
import { eventItemKey } from '#shared/store/layout/events.ts';
import { orderKey } from '#shared/store/layout/orders.ts';
import type { OrderPaid, PlatformEvent } from '#shared/events.ts';

/**
 * RULES.md, input contract: "A malformed or contradictory event is rejected with a reason that names
 * the field, kept where ops can see and replay it, and never stops the rest of its batch." Each bad
 * body rides in one SQS batch with five good events; the good ones must be stored, the bad one listed
 * by `listRejected` with its field, reason and line, and no record of the batch may fail.
 */

const { db, tables } = await useTestStack();
const intake = makeIntake(new IngestStore(db, tables));

type Json = Record<string, unknown>;
const ORDER: Json = { type: 'order.paid', orderId: 'X1', storeId: 'S1', paidAt: '2023-12-05T10:00:00+08:00' };
const STARTED: Json = { type: 'binding.started', providerId: 'P1', storeId: 'S1', at: '2023-11-01T00:00:00+08:00' };
const ENDED: Json = { ...STARTED, type: 'binding.ended' };
const PAID: Json = { type: 'deposit.paid', paymentId: 'PAY1', providerId: 'P1', amountFen: 10_000_000, paidAt: '2023-12-02T09:00:00+08:00' };
const DEDUCTED: Json = { type: 'deposit.deducted', paymentId: 'PAY2', providerId: 'P1', amountFen: 100, at: '2024-01-02T09:00:00+08:00' };
const PROVIDER: Json = {
  type: 'provider.upserted',
  providerId: 'P1',
  name: 'Shop',
  email: 'ops@example.com',
  certifiedAt: '2023-06-01T00:00:00+08:00',
  regularizedAt: '2023-09-01T00:00:00+08:00',
};

/** `base` with `patch` applied; a field patched to `undefined` is left out. */
function body(base: Json, patch: Json = {}): string {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return JSON.stringify(out);
}

/** [what, body, the field the rejection must name, a part of its reason] */
const BAD: [string, string, string, string][] = [
  // Not one JSON object
  ['broken JSON', '{"type":"order.paid","orderId":"X1"', '(body)', 'not valid JSON'],
  ['JSON followed by junk', `${body(ORDER)} trailing`, '(body)', 'not valid JSON'],
  ['a bare word', 'order.paid', '(body)', 'not valid JSON'],
  ['an empty object', '{}', 'type', 'got missing'],
  ['an empty JSON array', '[]', '(body)', 'got an array'],
  ['an array holding a valid event', `[${body(ORDER)}]`, '(body)', 'got an array'],
  ['a JSON string', '"order.paid"', '(body)', 'got a string'],
  ['a JSON number', '42', '(body)', 'got a number'],
  ['JSON null', 'null', '(body)', 'got null'],
  ['JSON true', 'true', '(body)', 'got a boolean'],
  // type
  ['an unknown type', body(ORDER, { type: 'order.refunded' }), 'type', '"order.refunded"'],
  ['a type in the wrong case', body(ORDER, { type: 'Order.Paid' }), 'type', 'must be one of'],
  ['a numeric type', body(ORDER, { type: 1 }), 'type', 'must be one of'],
  ['no type', body(ORDER, { type: undefined }), 'type', 'got missing'],
  // required fields
  ['order.paid without orderId', body(ORDER, { orderId: undefined }), 'orderId', 'is required'],
  ['order.paid without storeId', body(ORDER, { storeId: undefined }), 'storeId', 'is required'],
  ['order.paid without paidAt', body(ORDER, { paidAt: undefined }), 'paidAt', 'is required'],
  ['binding.started without providerId', body(STARTED, { providerId: undefined }), 'providerId', 'is required'],
  ['binding.ended without at', body(ENDED, { at: undefined }), 'at', 'is required'],
  ['deposit.paid without amountFen', body(PAID, { amountFen: undefined }), 'amountFen', 'is required'],
  ['deposit.deducted without at', body(DEDUCTED, { at: undefined }), 'at', 'is required'],
  ['deposit.deducted without paymentId', body(DEDUCTED, { paymentId: undefined }), 'paymentId', 'is required'],
  ['provider.upserted without name', body(PROVIDER, { name: undefined }), 'name', 'is required'],
  ['provider.upserted without email', body(PROVIDER, { email: undefined }), 'email', 'is required'],
  ['provider.upserted without certifiedAt', body(PROVIDER, { certifiedAt: undefined }), 'certifiedAt', 'is required'],
  // unknown fields
  ['an extra unknown field', body(ORDER, { coupon: 'SAVE10' }), 'coupon', 'not a field of order.paid'],
  ['a field of another type (deposit.deducted with paidAt)', body(DEDUCTED, { paidAt: DEDUCTED.at }), 'paidAt', 'not a field of deposit.deducted'],
  ['a __proto__ field', body(ORDER).replace(/}$/, ',"__proto__":{"gift":true}}'), '__proto__', 'not a field of order.paid'],
  // wrong types
  ['gift "yes"', body(ORDER, { gift: 'yes' }), 'gift', 'must be true or false'],
  ['gift null', body(ORDER, { gift: null }), 'gift', 'must be true or false'],
  ['gift 1', body(ORDER, { gift: 1 }), 'gift', 'must be true or false'],
  ['amountFen "100"', body(PAID, { amountFen: '100' }), 'amountFen', 'not a string'],
  ['orderId 123', body(ORDER, { orderId: 123 }), 'orderId', 'must be a string'],
  ['name 42', body(PROVIDER, { name: 42 }), 'name', 'must be a string'],
  ['certifiedAt as epoch milliseconds', body(PROVIDER, { certifiedAt: 1_685_548_800_000 }), 'certifiedAt', 'must be a string'],
  // amounts
  ['a negative amount', body(PAID, { amountFen: -100 }), 'amountFen', 'must be positive'],
  ['a zero amount', body(DEDUCTED, { amountFen: 0 }), 'amountFen', 'must be positive'],
  ['a fractional amount (1.5)', body(PAID, { amountFen: 1.5 }), 'amountFen', 'integer'],
  ['an amount beyond the safe integers (2^53)', body(PAID, { amountFen: 2 ** 53 }), 'amountFen', 'integer'],
  ['an amount of 1e300', body(DEDUCTED, { amountFen: 1e300 }), 'amountFen', 'integer'],
  // instants
  ['an instant without offset', body(ORDER, { paidAt: '2023-12-05T10:00:00' }), 'paidAt', 'with an offset'],
  ['a date without time', body(ORDER, { paidAt: '2023-12-05' }), 'paidAt', 'with an offset'],
  ['an instant with a space for T', body(STARTED, { at: '2023-12-05 10:00:00+08:00' }), 'at', 'ISO-8601'],
  ['2023-02-29 (not a leap year)', body(ORDER, { paidAt: '2023-02-29T10:00:00+08:00' }), 'paidAt', 'no such date'],
  ['2023-11-31', body(ENDED, { at: '2023-11-31T12:00:00+08:00' }), 'at', 'no such date'],
  ['month 13', body(PAID, { paidAt: '2023-13-01T00:00:00Z' }), 'paidAt', 'no such date'],
  ['hour 24', body(ORDER, { paidAt: '2023-12-05T24:00:00+08:00' }), 'paidAt', 'no such date or time'],
  ['second 60', body(DEDUCTED, { at: '2023-12-31T23:59:60Z' }), 'at', 'no such date or time'],
  ['an offset beyond +14:00', body(ORDER, { paidAt: '2023-12-05T10:00:00+15:00' }), 'paidAt', 'ISO-8601'],
  ['an invalid optional regularizedAt', body(PROVIDER, { regularizedAt: '2023-11-30' }), 'regularizedAt', 'with an offset'],
  // ids
  ['an id of 129 characters', body(ORDER, { orderId: 'O'.repeat(129) }), 'orderId', '1 to 128 characters'],
  ['an id with a space', body(ORDER, { orderId: 'O 1' }), 'orderId', '[A-Za-z0-9_.:-]'],
  ['an id with /', body(ORDER, { storeId: 'S/1' }), 'storeId', '[A-Za-z0-9_.:-]'],
  ['an id with #', body(PAID, { paymentId: 'PAY#1' }), 'paymentId', '[A-Za-z0-9_.:-]'],
  ['an id with an emoji', body(STARTED, { providerId: 'P😀' }), 'providerId', '[A-Za-z0-9_.:-]'],
  ['an id in Chinese', body(STARTED, { storeId: '店铺1' }), 'storeId', '[A-Za-z0-9_.:-]'],
  ['an empty id', body(ORDER, { orderId: '' }), 'orderId', '1 to 128 characters'],
  // name
  ['an empty name', body(PROVIDER, { name: '' }), 'name', 'must not be empty'],
  ['a name of 201 characters', body(PROVIDER, { name: 'n'.repeat(201) }), 'name', 'at most 200'],
  ['a name of 201 Chinese characters', body(PROVIDER, { name: '商'.repeat(201) }), 'name', 'at most 200'],
  // email
  ['an invalid email', body(PROVIDER, { email: 'not-an-email' }), 'email', 'one valid email address'],
  ['an email with CR-LF and a header', body(PROVIDER, { email: 'ops@example.com\r\nBcc: all@example.com' }), 'email', 'one valid email address'],
  ['an email ending in a newline', body(PROVIDER, { email: 'ops@example.com\n' }), 'email', 'one valid email address'],
  ['an email in angle brackets', body(PROVIDER, { email: '<ops@example.com>' }), 'email', 'one valid email address'],
  ['an email with a display name', body(PROVIDER, { email: 'Shop <ops@example.com>' }), 'email', 'one valid email address'],
  ['two addresses with a comma', body(PROVIDER, { email: 'ops@example.com,boss@example.com' }), 'email', 'one valid email address'],
  ['two addresses with a space', body(PROVIDER, { email: 'ops@example.com boss@example.com' }), 'email', 'one valid email address'],
  ['an email without a domain dot', body(PROVIDER, { email: 'ops@localhost' }), 'email', 'one valid email address'],
  ['an email of 255 characters', body(PROVIDER, { email: `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}.cn` }), 'email', 'at most 254'],
];

/** Five good events of different types, unique to case `i`. */
function goodEvents(i: number): LogicalEvent[] {
  const t = Date.parse('2023-12-15T04:00:00Z') + i * 1000;
  return [
    { type: 'order.paid', orderId: `G${i}-O1`, storeId: `G${i}-S`, paidAt: t, gift: false },
    { type: 'order.paid', orderId: `G${i}-O2`, storeId: `G${i}-S`, paidAt: t + 1, gift: true },
    { type: 'deposit.paid', paymentId: `G${i}-PAY`, providerId: `G${i}-P`, amountFen: 10_000_000, paidAt: t },
    { type: 'binding.started', providerId: `G${i}-P`, storeId: `G${i}-S`, at: t },
    { type: 'provider.upserted', providerId: `G${i}-P`, name: `Good ${i}`, email: `g${i}@example.com`, certifiedAt: t },
  ];
}

/** Reads each event's item back by its key (the layouts `shared/store/layout/orders.ts` and `events.ts` own) and checks its fields. */
async function expectStored(events: LogicalEvent[]) {
  const items = await Promise.all(
    events.map(async (e) => {
      const read =
        e.type === 'order.paid'
          ? new GetCommand({ TableName: tables.orders, Key: orderKey(e.orderId), ConsistentRead: true })
          : new GetCommand({ TableName: tables.events, Key: eventItemKey(normalized(e) as Exclude<PlatformEvent, OrderPaid>), ConsistentRead: true });
      return (await db.send(read)).Item;
    }),
  );
  events.forEach((e, i) => {
    const want = normalized(e);
    const item = items[i];
    expect(item, `${e.type} ${JSON.stringify(want)} is stored`).toBeDefined();
    expect(Object.fromEntries(Object.keys(want).map((k) => [k, item![k]]))).toEqual(want);
  });
}

describe('a bad event is rejected with its field and never fails its batch', () => {
  it('covers at least 25 distinct bad inputs', () => {
    expect(new Set(BAD.map(([, b]) => b)).size).toBe(BAD.length);
    expect(BAD.length).toBeGreaterThanOrEqual(25);
  });

  it.each(BAD.map((c, i) => [i, ...c] as const))('#%i %s', async (i, _what, bad, field, reasonPart) => {
    const good = goodEvents(i);
    const position = i % 6; // the bad body goes first, last and everywhere between
    const bodies = good.map((e) => render(e));
    bodies.splice(position, 0, bad);
    const source = `bad-${i}.ndjson`;
    const records = toRecords(bodies.join('\n'), source);
    expect(records).toHaveLength(6);

    const out = await intake({ Records: records });
    expect(out.batchItemFailures).toEqual([]);
    expect(out.summary).toEqual({ accepted: 5, duplicates: 0, rejected: 1 });
    await expectStored(good);

    const rejected = (await listRejected(db, tables.rejected)).filter((r) => r.source === source);
    expect(rejected).toHaveLength(1);
    const r = rejected[0]!;
    expect(r.field).toBe(field);
    expect(r.reason).toContain(reasonPart);
    expect(r.reason.startsWith(`${field}:`), r.reason).toBe(true);
    expect(r.line).toBe(position + 1);
    expect(r.messageId).toBe(`${source}:${position + 1}`);
    expect(r.raw).toBe(bad);
    // A body that is a JSON object is also kept parsed, for ops to read; anything else only raw.
    let parsed: unknown;
    try {
      parsed = JSON.parse(bad);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) expect(r.event).toEqual(parsed);
    else expect(r.event).toBeUndefined();

    // SQS redelivers the same batch: the good ones are duplicates, the bad one is kept once.
    const again = await intake({ Records: toRecords(bodies.join('\n'), source) });
    expect(again.batchItemFailures).toEqual([]);
    expect(again.summary).toEqual({ accepted: 0, duplicates: 5, rejected: 1 });
    expect((await listRejected(db, tables.rejected)).filter((x) => x.source === source)).toHaveLength(1);
  });

  it('a batch of only bad events is all rejected, and none fails', async () => {
    const bodies = BAD.slice(0, 10).map(([, b]) => b);
    const source = 'all-bad.ndjson';
    const out = await intake({ Records: toRecords(bodies.join('\n'), source) });
    expect(out.batchItemFailures).toEqual([]);
    expect(out.summary).toEqual({ accepted: 0, duplicates: 0, rejected: 10 });
    const rejected = (await listRejected(db, tables.rejected)).filter((r) => r.source === source);
    expect(rejected.map((r) => r.line).sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
