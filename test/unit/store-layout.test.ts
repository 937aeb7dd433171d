/**
 * The key layout of each table (shared/store/layout/): what is built reads back as what was put in,
 * even for hostile ids, and the ranges the stores query hold exactly the items meant. Keys compare as
 * DynamoDB compares them: by their UTF-8 bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ID } from '#shared/events.ts';
import { providerOfTotalsKey, providerTotalsKey, storeCountsKey, storeOfCountsKey } from '#shared/store/layout/aggregates.ts';
import { changeKey, recordKey, recordRef, writtenRange } from '#shared/store/layout/changes.ts';
import { noticeKey, revisionKey } from '#shared/store/layout/decisions.ts';
import { eventIndexKeys, eventItemKey, providerEntryKind, BINDING_PREFIX } from '#shared/store/layout/events.ts';
import { parseStorePaid, storePaid, storePaidRange } from '#shared/store/layout/orders.ts';
import { outboxKey } from '#shared/store/layout/outbox.ts';
import { fromRejectedItem, rejectedItem } from '#shared/store/layout/rejected.ts';

/** DynamoDB's order of string keys: byte by byte of their UTF-8. */
const cmp = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const between = (k: string, from: string, to: string) => cmp(from, k) <= 0 && cmp(k, to) <= 0;

/** Any string at all, with the separators the layouts use well represented. */
const hostile = fc.oneof(fc.string({ unit: fc.constantFrom('#', ':', '|', 'a', 'Z', '0', '-', 'é', '😀') }), fc.string({ unit: 'grapheme' }), fc.string());
/** Every id the input contract allows (`ID`: `:` included, `#` not). */
const validId = fc.stringMatching(ID);
const instant = fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2099-12-31T23:59:59.999Z') }).map((ms) => new Date(ms).toISOString());
const campaignId = fc.constantFrom('renewal-2024', 'renewal-2024b', 'renewal_2025.x');

describe('the ids the layouts rely on', () => {
  it('never hold `#`, the separator of the keys that join several ids', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        expect(ID.test(s) && s.includes('#')).toBe(false);
      }),
    );
  });
});

describe('orders', () => {
  it('a storePaid key reads back as its instant and order id, whatever the id holds', () => {
    fc.assert(
      fc.property(instant, hostile, (paidAt, orderId) => {
        expect(parseStorePaid(storePaid(paidAt, orderId))).toEqual({ paidAt, orderId });
      }),
      { numRuns: 500 },
    );
  });

  it('the byStore range of [from, to) holds every order paid in it and none paid before or at `to`', () => {
    fc.assert(
      fc.property(instant, instant, instant, validId, (a, b, paidAt, orderId) => {
        const [from, to] = cmp(a, b) <= 0 ? [a, b] : [b, a];
        const range = storePaidRange(from, to);
        const inWindow = from <= paidAt && paidAt < to;
        expect(between(storePaid(paidAt, orderId), range.from, range.to)).toBe(inWindow);
      }),
      { numRuns: 1000 },
    );
  });

  it('at the edges: paid at `from` is in, paid at `to` is out', () => {
    const from = '2024-01-01T00:00:00.000Z';
    const to = '2024-01-02T00:00:00.000Z';
    const range = storePaidRange(from, to);
    expect(between(storePaid(from, 'O1'), range.from, range.to)).toBe(true);
    expect(between(storePaid(to, 'O1'), range.from, range.to)).toBe(false);
    expect(between(storePaid('2024-01-01T23:59:59.999Z', 'zzz'), range.from, range.to)).toBe(true);
  });
});

describe('events', () => {
  const binding = fc.record({
    type: fc.constantFrom('binding.started' as const, 'binding.ended' as const),
    providerId: validId,
    storeId: validId,
    at: instant,
  });
  const deposit = fc.oneof(
    fc.record({ type: fc.constant('deposit.paid' as const), paymentId: validId, providerId: validId, amountFen: fc.nat(), paidAt: instant }),
    fc.record({ type: fc.constant('deposit.deducted' as const), paymentId: validId, providerId: validId, amountFen: fc.nat(), at: instant, reason: fc.string() }),
  );

  it("a provider's byProvider entries tell bindings from deposits, whatever the ids", () => {
    fc.assert(
      fc.property(binding, deposit, (b, d) => {
        expect(providerEntryKind(eventIndexKeys(b).gsk!)).toBe('binding');
        expect(providerEntryKind(eventIndexKeys(d).gsk!)).toBe('deposit');
        expect(eventItemKey(b).sk.startsWith(BINDING_PREFIX)).toBe(true);
      }),
    );
  });

  it('two different bindings of a store never share a key', () => {
    fc.assert(
      fc.property(binding, binding, (x, y) => {
        const same = x.type === y.type && x.providerId === y.providerId && x.at === y.at;
        const store = { storeId: 'S1' };
        expect(eventItemKey({ ...x, ...store }).sk === eventItemKey({ ...y, ...store }).sk).toBe(same);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('changes', () => {
  it('a record reference reads back as the record key, whatever the record id holds', () => {
    fc.assert(
      fc.property(fc.nat({ max: 99 }), instant, hostile, (shard, at, id) => {
        const key = changeKey(shard, at, id);
        expect(recordKey(recordRef(key))).toEqual(key);
      }),
      { numRuns: 500 },
    );
  });

  it('the window [from, to) holds exactly the records written in it', () => {
    fc.assert(
      fc.property(instant, instant, instant, fc.uuid(), (a, b, at, id) => {
        const [from, to] = cmp(a, b) <= 0 ? [a, b] : [b, a];
        const range = writtenRange(from, to);
        const { sk } = changeKey(0, at, id);
        expect(between(sk, range.from, range.to) && range.within(sk)).toBe(from <= at && at < to);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('aggregates', () => {
  it('a store-counts key reads back as its store, whatever the store id holds, and only for its own campaign', () => {
    fc.assert(
      fc.property(campaignId, campaignId, hostile, (c, other, storeId) => {
        const key = storeCountsKey(c, storeId);
        expect(storeOfCountsKey(c, key)).toBe(storeId);
        if (other !== c) expect(() => storeOfCountsKey(other, key)).toThrow(RangeError);
      }),
      { numRuns: 500 },
    );
  });

  it('a provider-totals key reads back as its provider', () => {
    fc.assert(
      fc.property(campaignId, hostile, (c, p) => {
        expect(providerOfTotalsKey(providerTotalsKey(c, p))).toBe(p);
      }),
    );
  });
});

describe('decisions and outbox', () => {
  it('revision and notice-version keys sort as their numbers (the newest is read last, or first backwards)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 999_999 }), fc.nat({ max: 999_999 }), (x, y) => {
        expect(Math.sign(cmp(revisionKey('c', 'P1', x).sk, revisionKey('c', 'P1', y).sk))).toBe(Math.sign(x - y));
        expect(Math.sign(cmp(noticeKey('c', x).sk, noticeKey('c', y).sk))).toBe(Math.sign(x - y));
      }),
    );
  });

  it('two different notices never share an outbox key, for every id the contract allows', () => {
    const notice = fc.record({ campaignId, kind: fc.constantFrom('outcome', 'progress'), providerId: validId, seq: fc.nat({ max: 9999 }) });
    fc.assert(
      fc.property(notice, notice, (x, y) => {
        const same = JSON.stringify([x.campaignId, x.kind, x.providerId, x.seq]) === JSON.stringify([y.campaignId, y.kind, y.providerId, y.seq]);
        const [kx, ky] = [outboxKey(x), outboxKey(y)];
        expect(kx.pk === ky.pk && kx.sk === ky.sk).toBe(same);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('rejected', () => {
  const origin = fc.record({ messageId: fc.string(), source: fc.string(), line: fc.nat() }, { requiredKeys: [] });

  it('a rejection reads back as written, its raw body included, and a redelivery gets the same id', () => {
    fc.assert(
      fc.property(fc.string(), fc.jsonValue(), fc.string({ minLength: 1, maxLength: 200 }), fc.string({ maxLength: 2000 }), origin, instant, (raw, event, field, reason, o, at) => {
        const item = rejectedItem(raw, event, field, reason, o, at);
        expect(fromRejectedItem(item)).toEqual({
          reason,
          field,
          receivedAt: at,
          raw,
          ...(field === 'encoding' ? { rawEncoding: 'base64' } : {}),
          ...o,
          event: JSON.parse(JSON.stringify(event)),
        });
        expect(rejectedItem(raw, event, field, reason, o, new Date(Date.parse(at) + 1000).toISOString()).rejectId).toBe(item.rejectId);
      }),
      { numRuns: 300 },
    );
  });

  it('whatever the sender put in, the item fits one DynamoDB item (400 KB)', () => {
    const huge = 'x'.repeat(300_000);
    const item = rejectedItem(huge, { huge }, huge, huge, { source: 'a.ndjson', line: 1 }, '2024-01-01T00:00:00.000Z');
    expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(400_000);
    expect(fromRejectedItem(item)).not.toHaveProperty('event');
  });
});
