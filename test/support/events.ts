import fc from 'fast-check';

/**
 * Valid platform event streams for the intake tests (RULES.md, "Platform events: the input contract").
 *
 * Events are generated as logical facts (instants as epoch ms) and rendered to JSON bodies in a chosen
 * style (offset, key order, explicit `gift`), so the same fact can be delivered in several textual
 * forms that the intake must treat as one. `normalized` is this file's own statement of what the store
 * keeps, written independently of `shared/events.ts`.
 */

export type LogicalEvent =
  | { type: 'provider.upserted'; providerId: string; name: string; email: string; certifiedAt: number; regularizedAt?: number }
  | { type: 'binding.started' | 'binding.ended'; providerId: string; storeId: string; at: number }
  | { type: 'order.paid'; orderId: string; storeId: string; paidAt: number; gift: boolean }
  | { type: 'deposit.paid'; paymentId: string; providerId: string; amountFen: number; paidAt: number }
  | { type: 'deposit.deducted'; paymentId: string; providerId: string; amountFen: number; at: number };

/** How one delivery of a fact is written. Every style of a fact must be read as the same fact. */
export interface RenderStyle {
  /** UTC offset of the rendered instants, minutes (0 renders as `Z`). */
  offsetMinutes: number;
  /** Render `.000` even when the instant has no milliseconds. */
  millis: boolean;
  /** Key order: rotate the keys by this much, and reverse them when odd. */
  keyOrder: number;
  /** Write `"gift": false` rather than leaving it out (order.paid only). */
  giftExplicit: boolean;
}

export const PLAIN: RenderStyle = { offsetMinutes: 480, millis: false, keyOrder: 0, giftExplicit: false };

const INSTANT_FIELDS = ['certifiedAt', 'regularizedAt', 'at', 'paidAt'] as const;

function offsetSuffix(minutes: number): string {
  if (minutes === 0) return 'Z';
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** An instant written as local wall time at `offsetMinutes`, with that offset. */
export function renderInstant(ms: number, offsetMinutes: number, millis = false): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const withMillis = millis || ms % 1000 !== 0;
  return `${local.slice(0, withMillis ? 23 : 19)}${offsetSuffix(offsetMinutes)}`;
}

/** The JSON body of one delivery of `e`. */
export function render(e: LogicalEvent, style: RenderStyle = PLAIN): string {
  const obj: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (v === undefined) continue;
    if (k === 'gift' && v === false && !style.giftExplicit) continue;
    obj[k] = (INSTANT_FIELDS as readonly string[]).includes(k) ? renderInstant(v as number, style.offsetMinutes, style.millis) : v;
  }
  let keys = Object.keys(obj);
  const r = keys.length ? style.keyOrder % keys.length : 0;
  keys = [...keys.slice(r), ...keys.slice(0, r)];
  if (style.keyOrder % 2 === 1) keys.reverse();
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, obj[k]])));
}

/** What the store must keep of `e`: instants as UTC ISO-8601 with milliseconds, `gift` explicit. */
export function normalized(e: LogicalEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (v === undefined) continue;
    out[k] = (INSTANT_FIELDS as readonly string[]).includes(k) ? new Date(v as number).toISOString() : v;
  }
  return out;
}

/**
 * The identity of a fact (RULES.md: one order per orderId, one payment per paymentId, one profile per
 * provider; a binding event is identified by all of its fields). `|` is not an id character, so two
 * different facts never share an identity here.
 */
export function identity(e: LogicalEvent): string {
  switch (e.type) {
    case 'order.paid':
      return `order|${e.orderId}`;
    case 'deposit.paid':
    case 'deposit.deducted':
      return `payment|${e.paymentId}`;
    case 'provider.upserted':
      return `provider|${e.providerId}`;
    case 'binding.started':
    case 'binding.ended':
      return `binding|${e.providerId}|${e.storeId}|${e.at}|${e.type}`;
  }
}

/** The instant a fact happened, for time-ordering a stream. */
export function timeOf(e: LogicalEvent): number {
  switch (e.type) {
    case 'provider.upserted':
      return e.certifiedAt;
    case 'order.paid':
    case 'deposit.paid':
      return e.paidAt;
    default:
      return e.at;
  }
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const MIN_MS = Date.parse('2023-06-01T00:00:00Z');
const MAX_MS = Date.parse('2024-04-30T00:00:00Z');

/** Instants around the season, mostly whole seconds, some with milliseconds, some on the period edges. */
export const arbInstant: fc.Arbitrary<number> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: MIN_MS / 1000, max: MAX_MS / 1000 }).map((s) => s * 1000) },
  { weight: 2, arbitrary: fc.integer({ min: MIN_MS, max: MAX_MS }) },
  { weight: 1, arbitrary: fc.constantFrom(Date.parse('2023-11-30T16:00:00Z'), Date.parse('2024-02-29T16:00:00Z') - 1) },
);

/** Real offsets, including the extremes ±14:00/-12:00 and a non-hour one. */
export const arbStyle: fc.Arbitrary<RenderStyle> = fc.record({
  offsetMinutes: fc.constantFrom(0, 480, -300, 345, 840, -720),
  millis: fc.boolean(),
  keyOrder: fc.nat({ max: 11 }),
  giftExplicit: fc.boolean(),
});

// Ids use the whole alphabet of the contract, ':' included. Some provider and store ids read alike once
// a binding's ids are joined with ':' ('P1:S1' with 'S2', and 'P1' with 'S1:S2'), and now and then a
// stream holds two such bindings at one instant (`arbAlikeBindings`): distinct facts that a key
// joining a binding's ids with ':' would take for one.
const ALIKE = { P: ['P1', 'P1:S1'], S: ['S2', 'S1:S2'] } as const;
const arbRefId = (prefix: keyof typeof ALIKE) =>
  fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,10}$/).map((s) => `${prefix}${s}`) }, { weight: 1, arbitrary: fc.constantFrom(...ALIKE[prefix]) });
const arbAlikeBindings: fc.Arbitrary<LogicalEvent[]> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<LogicalEvent[]>([]) },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constantFrom('binding.started' as const, 'binding.ended' as const), at: arbInstant }).map(({ type, at }) => [
      { type, providerId: 'P1:S1', storeId: 'S2', at },
      { type, providerId: 'P1', storeId: 'S1:S2', at },
    ]),
  },
);
const arbFullId = fc.oneof({ weight: 8, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,16}$/) }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:-]{128}$/) });

// A name is any text, but a lone surrogate is not text: it cannot be encoded as UTF-8 on the wire.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const arbName = fc
  .oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), fc.constantFrom('义乌小商品产业带服务商', '<b>&amp;"Shop"</b>', "O'Brien & Söhne", '  spaces  ', '😀 emoji 👨‍👩‍👧', 'x'.repeat(200)))
  .filter((s) => s.length > 0 && [...s].length <= 200 && !LONE_SURROGATE.test(s));

const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/);
const arbEmail = fc
  .tuple(fc.stringMatching(/^[A-Za-z0-9._%+'-]{1,16}$/), fc.array(label, { minLength: 1, maxLength: 2 }), fc.constantFrom('com', 'cn', 'co'))
  .map(([local, labels, tld]) => `${local}@${[...labels, tld].join('.')}`);

const arbAmount = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 20_000_000 }) }, { weight: 1, arbitrary: fc.constant(Number.MAX_SAFE_INTEGER) });

/** How `arbProfiles` draws each field of a provider's profile. */
export interface ProfileArbitraries {
  name: (providerId: string) => fc.Arbitrary<string>;
  email: (providerId: string) => fc.Arbitrary<string>;
  /** Both `certifiedAt` and `regularizedAt` (which is now and then left out: a provider on probation). */
  at: fc.Arbitrary<number>;
}

/** One `provider.upserted` per provider id, in that order. */
export function arbProfiles(providerIds: readonly string[], draw: ProfileArbitraries): fc.Arbitrary<LogicalEvent[]> {
  return fc.tuple(
    ...providerIds.map((providerId) =>
      fc.record(
        {
          type: fc.constant('provider.upserted' as const),
          providerId: fc.constant(providerId),
          name: draw.name(providerId),
          email: draw.email(providerId),
          certifiedAt: draw.at,
          regularizedAt: draw.at,
        },
        { requiredKeys: ['type', 'providerId', 'name', 'email', 'certifiedAt'] },
      ),
    ),
  );
}

export interface StreamOptions {
  maxProviders?: number;
  maxStores?: number;
  maxBindings?: number;
  maxOrders?: number;
  maxDeposits?: number;
}

/**
 * A valid stream of distinct facts in time order: providers with one profile each, binding starts
 * and ends (now and then two that read alike, `arbAlikeBindings`), orders of the stores, deposits paid
 * and deducted. No two facts share an identity.
 */
export function arbStream(opts: StreamOptions = {}): fc.Arbitrary<LogicalEvent[]> {
  const { maxProviders = 4, maxStores = 5, maxBindings = 8, maxOrders = 25, maxDeposits = 8 } = opts;
  return fc
    .record({
      providerIds: fc.uniqueArray(arbRefId('P'), { minLength: 1, maxLength: maxProviders }),
      storeIds: fc.uniqueArray(arbRefId('S'), { minLength: 1, maxLength: maxStores }),
      orderIds: fc.uniqueArray(arbFullId, { maxLength: maxOrders }),
      paymentIds: fc.uniqueArray(arbFullId, { maxLength: maxDeposits }),
    })
    .chain(({ providerIds, storeIds, orderIds, paymentIds }) => {
      const provider = fc.constantFrom(...providerIds);
      const store = fc.constantFrom(...storeIds);
      const profiles = arbProfiles(providerIds, { name: () => arbName, email: () => arbEmail, at: arbInstant });
      const bindings = fc.uniqueArray(fc.record({ type: fc.constantFrom('binding.started' as const, 'binding.ended' as const), providerId: provider, storeId: store, at: arbInstant }), {
        maxLength: maxBindings,
        selector: (b) => identity(b),
      });
      const orders = fc.tuple(
        ...orderIds.map((orderId) => fc.record({ type: fc.constant('order.paid' as const), orderId: fc.constant(orderId), storeId: store, paidAt: arbInstant, gift: fc.boolean() })),
      );
      const deposits = fc.tuple(
        ...paymentIds.map((paymentId) =>
          fc.oneof(
            fc.record({ type: fc.constant('deposit.paid' as const), paymentId: fc.constant(paymentId), providerId: provider, amountFen: arbAmount, paidAt: arbInstant }),
            fc.record({ type: fc.constant('deposit.deducted' as const), paymentId: fc.constant(paymentId), providerId: provider, amountFen: arbAmount, at: arbInstant }),
          ),
        ),
      );
      return fc.tuple(profiles, bindings, arbAlikeBindings, orders, deposits).map(([p, b, alike, o, d]) => {
        const taken = new Set(b.map(identity));
        return [...p, ...b, ...alike.filter((e) => !taken.has(identity(e))), ...o, ...d].sort((x, y) => timeOf(x) - timeOf(y)) as LogicalEvent[];
      });
    });
}

/**
 * Other versions of some orders and payments of `stream`: same orderId / paymentId, different content
 * (RULES.md: such a second version is a `conflict`). At most `max` ids get 1 or 2 other versions each.
 */
export function arbConflictingVersions(stream: LogicalEvent[], max = 5): fc.Arbitrary<LogicalEvent[]> {
  type Versioned = Extract<LogicalEvent, { type: 'order.paid' | 'deposit.paid' | 'deposit.deducted' }>;
  const targets = stream.filter((e): e is Versioned => e.type === 'order.paid' || e.type === 'deposit.paid' || e.type === 'deposit.deducted');
  if (!targets.length) return fc.constant([]);
  const storeIds = [...new Set(stream.flatMap((e) => ('storeId' in e ? [e.storeId] : [])))];
  const providerIds = [...new Set(stream.flatMap((e) => ('providerId' in e ? [e.providerId] : [])))];
  const other = (e: Versioned): fc.Arbitrary<LogicalEvent> => {
    if (e.type === 'order.paid') {
      return fc
        .record({ storeId: fc.option(fc.constantFrom(...storeIds, `${e.storeId}x`), { nil: undefined }), shift: fc.integer({ min: -86_400, max: 86_400 }), flip: fc.boolean() })
        .map(({ storeId, shift, flip }) => ({ ...e, storeId: storeId ?? e.storeId, paidAt: e.paidAt + shift * 1000, gift: flip ? !e.gift : e.gift }));
    }
    const time = e.type === 'deposit.paid' ? e.paidAt : e.at;
    return fc
      .record({
        type: fc.constantFrom('deposit.paid' as const, 'deposit.deducted' as const),
        providerId: fc.constantFrom(...providerIds, e.providerId),
        amountFen: fc.oneof(fc.constant(e.amountFen), arbAmount),
        time: fc.oneof(fc.constant(time), arbInstant),
      })
      .map(({ type, providerId, amountFen, time: t }) =>
        type === 'deposit.paid' ? { type, paymentId: e.paymentId, providerId, amountFen, paidAt: t } : { type, paymentId: e.paymentId, providerId, amountFen, at: t },
      );
  };
  return fc
    .uniqueArray(fc.constantFrom(...targets), { minLength: 1, maxLength: Math.min(max, targets.length), selector: identity })
    .chain((chosen) => fc.tuple(...chosen.map((e) => fc.array(other(e), { minLength: 1, maxLength: 2 }))))
    .map((groups) => {
      // Keep only versions that really differ from the original and from each other.
      const seen = new Set(stream.map((e) => JSON.stringify(normalized(e))));
      return groups.flat().filter((v) => {
        const k = JSON.stringify(normalized(v));
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    });
}

/** One delivery of a fact: the fact and the body it was written as. */
export interface Delivery {
  event: LogicalEvent;
  body: string;
}

/**
 * How a queue might deliver `events`: every fact at least once and up to 3 more times, each copy in
 * its own style (offset, key order, `gift` explicit or not), all shuffled together.
 */
export function arbDeliveries(events: LogicalEvent[]): fc.Arbitrary<Delivery[]> {
  const extraCopies = fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) });
  return fc
    .tuple(...events.map(() => fc.tuple(extraCopies, fc.array(arbStyle, { minLength: 4, maxLength: 4 }))))
    .map((plans) => plans.flatMap(([extra, styles], i) => styles.slice(0, 1 + extra).map((s) => ({ event: events[i]!, body: render(events[i]!, s) }))))
    .chain((deliveries) => (deliveries.length ? fc.shuffledSubarray(deliveries, { minLength: deliveries.length }) : fc.constant([])));
}

/** An NDJSON text of bodies, as `renewal import` reads it. */
export const ndjson = (bodies: string[]): string => bodies.join('\n');
