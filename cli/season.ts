import { campaignRegistry } from '#shared/campaigns.ts';
import { periodWindow, type Campaign, type PeriodWindow } from '#shared/rules/campaign.ts';

/** The campaign the demo season is written for (its dates below are that season's). */
const demoCampaign = (): Campaign => campaignRegistry().require('renewal-2024');
import { bindingIntervals, depositBalanceAtClose, intervalsFor, orderCounts, type BindingEvent, type DepositEntry } from '#shared/rules/rules.ts';

/**
 * A believable demo season, generated from a fixed seed: providers in and out of scope, on probation,
 * big and small; stores bound to one or two providers, bindings that start or end mid-season;
 * gift orders, orders on the boundary instants; deposits in instalments, late, deducted and topped
 * up; and the platform's imperfections: redeliveries, conflicting versions, malformed lines, late
 * arrivals, binding ends delivered before their starts.
 *
 * Most assessed providers pass; a minority fail on orders, on the deposit or on both, against a
 * threshold that fits the season's size (`DEMO_SEASON.thresholdOrders`, which ops would set as
 * THRESHOLD_ORDERS). It also returns what each provider's figures must come out as, computed
 * independently of the store by brute force over the events, so a run can be checked end to end.
 */

/**
 * The default demo season and the threshold ops set for it: the one place the CLI demo, the embedded
 * stack's THRESHOLD_ORDERS default and the rehearsal read it from. 100,000 orders over 120 providers
 * average about 830 each; 300 keeps most assessed providers above the line and the small ones below.
 */
export const DEMO_SEASON = Object.freeze({ providers: 120, orders: 100_000, seed: 20240229, thresholdOrders: 300 });

/**
 * The threshold for a season of another size: the demo's, scaled with the orders per provider, so a
 * smaller or larger season revokes about the same share of providers.
 */
export function demoThreshold(opts: { providers: number; orders: number }): number {
  const perProvider = DEMO_SEASON.orders / DEMO_SEASON.providers;
  return Math.max(1, Math.round((DEMO_SEASON.thresholdOrders * (opts.orders / opts.providers)) / perProvider));
}

export interface SeasonOptions {
  providers: number;
  orders: number;
  seed: number;
  campaign?: Campaign;
}

export interface ExpectedFigures {
  paidOrders: number;
  depositBalanceFen: number;
  /** Why the provider is in the demo (the rule case it covers, or 'ordinary'). */
  story: string;
}

export interface Season {
  /** NDJSON lines in delivery order (late, duplicated and malformed ones included). */
  lines: string[];
  /**
   * Parallel to `lines`, non-decreasing: the instant the platform delivers each line. An event's own
   * time for most; later for the late arrivals, but an event of the assessment period never after
   * 2024-02-29T16:15:00Z, so the evaluation at 16:30Z sees it; a redelivery or a conflicting version
   * after its original; malformed lines at some time in the season.
   */
  deliverAtMs: number[];
  /** The threshold this season is meant to be evaluated with (THRESHOLD_ORDERS). */
  thresholdOrders: number;
  /** Per provider: the figures the system must find, and why the provider is in the demo. */
  expected: Map<string, ExpectedFigures>;
  stats: { orders: number; duplicates: number; conflicts: number; malformed: number };
}

const DAY = 86_400_000;
const MINUTE = 60_000;
const CST = 8 * 3_600_000;

/** The last instant a late event of the period may arrive: 15 minutes before the evaluation (close + 30 min). */
export function lastLateArrival(c: Campaign = demoCampaign()): number {
  return periodWindow(c).endMs + 15 * MINUTE;
}

export function generateSeason(opts: SeasonOptions): Season {
  const d = newDraft(opts);
  addProviders(d, opts.providers);
  shareStores(d);
  addOrders(d, opts.orders);
  const delivered = deliveryOrder(d);
  const imperfections = addImperfections(d, delivered, opts.orders);
  delivered.sort((a, b) => a.deliverAtMs - b.deliverAtMs);
  return {
    lines: delivered.map((x) => x.line),
    deliverAtMs: delivered.map((x) => x.deliverAtMs),
    thresholdOrders: demoThreshold(opts),
    expected: expectation(d),
    stats: { orders: d.orders.length, ...imperfections },
  };
}

// ---------------------------------------------------------------------------------------------------
// The draft: the season's truth as it is generated, before it becomes delivered lines.

interface Draft {
  c: Campaign;
  w: PeriodWindow;
  r: Rng;
  /** Every event with its own time (the instant it happened on the platform). */
  events: { ev: Record<string, unknown>; atMs: number }[];
  bindingEvents: BindingEvent[];
  deposits: Map<string, DepositEntry[]>;
  orders: { storeId: string; paidAtMs: number; gift: boolean }[];
  stories: Map<string, string>;
  providerIds: string[];
  /** Share of the season's orders each provider's stores get (relative weight). */
  weights: number[];
  storesOf: Map<string, string[]>;
  unboundStores: string[];
  storeSeq: number;
  /** Well before the season: when the long-standing bindings and certifications happened. */
  beforeSeason: number;
}

function newDraft(opts: SeasonOptions): Draft {
  const c = opts.campaign ?? demoCampaign();
  const w = periodWindow(c);
  return {
    c,
    w,
    r: rng(opts.seed),
    events: [],
    bindingEvents: [],
    deposits: new Map(),
    orders: [],
    stories: new Map(),
    providerIds: [],
    weights: [],
    storesOf: new Map(),
    unboundStores: [],
    storeSeq: 0,
    beforeSeason: w.startMs - 200 * DAY,
  };
}

/** mulberry32: small, fast, and the same sequence on every machine. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    between: (lo: number, hi: number) => lo + next() * (hi - lo),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof rng>;

/** Renders an instant in one of the two offset forms the platform sends. */
const iso = (ms: number, cst: boolean) => (cst ? `${new Date(ms + CST).toISOString().slice(0, 19)}+08:00` : new Date(ms).toISOString());
const pad = (n: number, w: number) => String(n).padStart(w, '0');
const add = (d: Draft, ev: Record<string, unknown>, atMs: number) => d.events.push({ ev, atMs });
const newStore = (d: Draft) => `S${pad(++d.storeSeq, 5)}`;
const story = (d: Draft, providerId: string, s: string) => d.stories.set(providerId, d.stories.get(providerId) === 'ordinary' ? s : `${d.stories.get(providerId)}; ${s}`);

const NAMES = ['义乌小商品', '临沂商贸', '广州白马服装', '杭州四季青', '泉州鞋服', '佛山家具', '揭阳五金', '东莞电子', '汕头玩具', '景德镇陶瓷', '苏州丝绸', '曹县汉服', '青岛海鲜', '云南普洱', '五常大米'];
/** Provider 13 has the name a hostile provider would choose: every output must show it as text. */
export const HOSTILE_NAME = `<b>Hostile & "Co"</b>\r\nBcc: x@example.com`;

// ---------------------------------------------------------------------------------------------------
// Providers: the first few are written stories that cover the rules' edge cases; the rest are ordinary.

function addProviders(d: Draft, count: number): void {
  for (let i = 1; i <= count; i++) {
    const providerId = `P${pad(i, 4)}`;
    d.providerIds.push(providerId);
    d.stories.set(providerId, 'ordinary');
    addProfile(d, i, providerId);
    bindStores(d, i, providerId);
    payDeposit(d, i, providerId);
    d.weights.push(orderWeight(d, i, providerId));
  }
}

/** Scope and probation (clauses 1 and 2.1), each boundary instant once. */
function addProfile(d: Draft, i: number, providerId: string): void {
  const { r, w } = d;
  let certifiedAtMs = d.beforeSeason + r.int(0, 150) * DAY;
  let regularizedAtMs: number | undefined = certifiedAtMs + r.int(10, 40) * DAY;
  let s = 'ordinary';
  if (i === 7) (certifiedAtMs = w.startMs), (s = 'certified exactly at 2023-12-01 00:00 CST: not in scope');
  else if (i === 8) (certifiedAtMs = w.startMs + 20 * DAY), (s = 'certified mid-season: not in scope');
  else if (i === 9) (regularizedAtMs = undefined), (s = 'still on probation: not assessed');
  else if (i === 10) (regularizedAtMs = w.startMs), (s = 'regularized exactly at 2023-12-01 00:00 CST: not assessed');
  else if (i === 11) (regularizedAtMs = w.startMs - 1000), (s = 'regularized 2023-11-30 23:59:59 CST: assessed');
  else if (i > 11 && i % 17 === 0) (certifiedAtMs = w.startMs + r.int(1, 80) * DAY), (s = 'certified in the season: not in scope');
  else if (i > 11 && i % 19 === 0) (regularizedAtMs = r.chance(0.5) ? undefined : w.startMs + r.int(1, 60) * DAY), (s = 'not regularized by 2023-11-30');
  if (regularizedAtMs !== undefined && regularizedAtMs < certifiedAtMs) regularizedAtMs = certifiedAtMs;
  d.stories.set(providerId, s);
  add(
    d,
    {
      type: 'provider.upserted',
      providerId,
      name: i === 13 ? HOSTILE_NAME : `${r.pick(NAMES)}产业带服务商${pad(i, 3)}`,
      email: `ops+${providerId.toLowerCase()}@provider${pad(i, 3)}.example.com`,
      certifiedAt: iso(certifiedAtMs, r.chance(0.5)),
      ...(regularizedAtMs !== undefined ? { regularizedAt: iso(regularizedAtMs, r.chance(0.5)) } : {}),
    },
    certifiedAtMs,
  );
}

function bind(d: Draft, providerId: string, storeId: string, startMs: number, endMs?: number): void {
  add(d, { type: 'binding.started', providerId, storeId, at: iso(startMs, d.r.chance(0.5)) }, startMs);
  d.bindingEvents.push({ providerId, storeId, kind: 'started', atMs: startMs });
  if (endMs !== undefined) {
    add(d, { type: 'binding.ended', providerId, storeId, at: iso(endMs, d.r.chance(0.5)) }, endMs);
    d.bindingEvents.push({ providerId, storeId, kind: 'ended', atMs: endMs });
  }
}

/** Stores (clause 2.3): 2-8 each, mostly bound before the season for good; some start or end mid-season. */
function bindStores(d: Draft, i: number, providerId: string): void {
  const { r, w } = d;
  const stores: string[] = [];
  for (let s = r.int(2, 8); s > 0; s--) {
    const storeId = newStore(d);
    stores.push(storeId);
    const roll = r.next();
    if (roll < 0.78 || i <= 6) bind(d, providerId, storeId, d.beforeSeason + r.int(0, 150) * DAY);
    else if (roll < 0.87) bind(d, providerId, storeId, w.startMs + r.int(1, 60) * DAY + r.int(0, DAY - 1));
    else if (roll < 0.95) bind(d, providerId, storeId, d.beforeSeason, w.startMs + r.int(1, 80) * DAY + r.int(0, DAY - 1));
    else bind(d, providerId, storeId, d.beforeSeason, w.startMs - r.int(1, 30) * DAY); // ended before the season
  }
  d.storesOf.set(providerId, stores);
}

function pay(d: Draft, providerId: string, paymentId: string, kind: 'paid' | 'deducted', amountFen: number, atMs: number): void {
  const at = iso(atMs, d.r.chance(0.5));
  add(
    d,
    kind === 'paid' ? { type: 'deposit.paid', paymentId, providerId, amountFen, paidAt: at } : { type: 'deposit.deducted', paymentId, providerId, amountFen, at },
    atMs,
  );
  (d.deposits.get(providerId) ?? d.deposits.set(providerId, []).get(providerId)!).push({ kind, amountFen, atMs });
}

/**
 * The deposit (clause 2.2.2): most pay in full, in one go or in instalments; a few fall short by one
 * fen, pay the second half at the close instant (too late), have part deducted in the season, or pay
 * nothing; some are deducted and top up in time, or are deducted only after the close.
 */
function payDeposit(d: Draft, i: number, providerId: string): void {
  const { r, w } = d;
  const full = d.c.depositRequiredFen;
  const p = (k: number | string) => `PAY-${providerId}-${k}`;
  const roll = r.next();
  if (i === 1 || i === 2 || i === 3 || (i > 6 && roll < 0.6)) pay(d, providerId, p(1), 'paid', full, w.startMs - r.int(1, 100) * DAY);
  else if (i === 6 || (i > 6 && roll < 0.8)) {
    for (let k = 1; k <= 4; k++) pay(d, providerId, p(k), 'paid', full / 4, w.startMs + (k * 20 - 10) * DAY);
    if (i === 6) story(d, providerId, 'deposit in four instalments');
  } else if (i === 4 || (i > 6 && roll < 0.815)) {
    pay(d, providerId, p(1), 'paid', full - 1, w.startMs - 5 * DAY);
    story(d, providerId, 'deposit 1 fen short');
  } else if (i === 5 || (i > 6 && roll < 0.83)) {
    pay(d, providerId, p(1), 'paid', full / 2, w.startMs + 3 * DAY);
    pay(d, providerId, p(2), 'paid', full / 2, w.endMs); // at the close instant: too late
    story(d, providerId, 'second half of the deposit paid at the close instant (late)');
  } else if (roll < 0.85) {
    pay(d, providerId, p(1), 'paid', full, w.startMs - 30 * DAY);
    pay(d, providerId, p('D1'), 'deducted', r.int(1, 50) * 100_000, w.startMs + r.int(1, 80) * DAY);
    story(d, providerId, 'part of the deposit deducted in the season, not topped up');
  } else if (roll < 0.92) {
    const deducted = r.int(1, 50) * 100_000;
    const at = w.startMs + r.int(1, 60) * DAY;
    pay(d, providerId, p(1), 'paid', full, w.startMs - 30 * DAY);
    pay(d, providerId, p('D1'), 'deducted', deducted, at);
    pay(d, providerId, p(2), 'paid', deducted, at + r.int(1, 20) * DAY); // topped up before the close
    story(d, providerId, 'deposit deducted, then topped up in time');
  } else if (roll < 0.98) {
    pay(d, providerId, p(1), 'paid', full, w.startMs - 30 * DAY);
    pay(d, providerId, p('D1'), 'deducted', 500_000, w.endMs + DAY); // after the close: does not count
    story(d, providerId, 'deposit deducted after the close (does not count)');
  } else story(d, providerId, 'no deposit at all');
}

/**
 * The provider's share of the season's orders. Six big providers; most others healthy; a minority
 * small (below the threshold), and a few close to it. Provider 13 (the hostile name) is small, so the
 * public notice shows it.
 */
function orderWeight(d: Draft, i: number, providerId: string): number {
  const { r } = d;
  if (i <= 6) return i === 2 ? 8 : 12;
  const roll = r.next();
  if (i === 13 || roll < 0.07) {
    story(d, providerId, 'small: few orders');
    return r.between(0.08, 0.45);
  }
  if (roll < 0.13) {
    story(d, providerId, 'close to the threshold');
    return r.between(0.85, 1.2);
  }
  return r.between(1.4, 3.2);
}

/** Stores shared by two providers (the store's orders count for both). */
function shareStores(d: Draft): void {
  const { r, w } = d;
  for (let k = 0; k < Math.max(2, Math.floor(d.providerIds.length / 10)); k++) {
    const a = r.pick(d.providerIds);
    const b = r.pick(d.providerIds);
    if (a === b) continue;
    const storeId = newStore(d);
    bind(d, a, storeId, d.beforeSeason);
    bind(d, b, storeId, w.startMs + r.int(0, 45) * DAY);
    d.storesOf.get(a)!.push(storeId);
    d.storesOf.get(b)!.push(storeId);
  }
  d.unboundStores = Array.from({ length: 20 }, () => newStore(d)); // orders from stores nobody serves
}

// ---------------------------------------------------------------------------------------------------
// Orders: spread by the providers' weights over a season with a shape; a few on the edges.

function addOrders(d: Draft, count: number): void {
  const { r, w } = d;
  const totalWeight = d.weights.reduce((a, b) => a + b, 0);
  const order = (storeId: string, paidAtMs: number, gift = r.chance(0.03)) => d.orders.push({ storeId, paidAtMs, gift });
  // A season's shape, so progress over it is worth a picture: orders grow towards the close, spike on
  // the 12.12 shopping festival and drop over the Spring Festival (2024-02-09..17).
  const festival = [Date.parse('2023-12-11T16:00:00Z'), Date.parse('2023-12-12T16:00:00Z')];
  const springFestival = [Date.parse('2024-02-08T16:00:00Z'), Date.parse('2024-02-17T16:00:00Z')];
  const seasonInstant = (): number => {
    for (;;) {
      const t = w.startMs + r.int(0, w.endMs - w.startMs - 1);
      let weight = 0.6 + 0.4 * ((t - w.startMs) / (w.endMs - w.startMs));
      if (t >= festival[0]! && t < festival[1]!) weight *= 2.4;
      if (t >= springFestival[0]! && t < springFestival[1]!) weight *= 0.35;
      if (r.next() * 2.4 < weight) return t;
    }
  };
  // Boundary instants of the half-open period (clause 2.1), for the big providers' first stores.
  const edges = [w.startMs - 1, w.startMs, w.endMs - 1, w.endMs, Date.parse('2024-02-28T16:00:00Z'), Date.parse('2024-02-29T15:59:59.999Z')];
  for (const at of edges) for (const p of d.providerIds.slice(0, 6)) order(d.storesOf.get(p)![0]!, at, false);
  while (d.orders.length < count) {
    if (r.chance(0.01)) {
      order(r.pick(d.unboundStores), w.startMs + r.int(0, w.endMs - w.startMs - 1));
      continue;
    }
    let x = r.next() * totalWeight;
    let p = 0;
    while (x > d.weights[p]! && p < d.weights.length - 1) x -= d.weights[p++]!;
    const stores = d.storesOf.get(d.providerIds[p]!)!;
    // 2% of orders fall just outside the season: they must not count.
    const paidAtMs = r.chance(0.02) ? (r.chance(0.5) ? w.startMs - r.int(1, 5 * DAY) : w.endMs + r.int(0, 5 * DAY)) : seasonInstant();
    order(r.pick(stores), paidAtMs);
  }
  d.orders.forEach((o, n) => {
    add(d, { type: 'order.paid', orderId: `O${pad(n + 1, 8)}`, storeId: o.storeId, paidAt: iso(o.paidAtMs, r.chance(0.5)), ...(o.gift || r.chance(0.5) ? { gift: o.gift } : {}) }, o.paidAtMs);
  });
}

// ---------------------------------------------------------------------------------------------------
// Delivery: when the platform hands each line over.

interface Delivered {
  line: string;
  deliverAtMs: number;
}

/**
 * Each event at its own time, 5% late (up to ten days, but an event of the period never after
 * `lastLateArrival`), and 30% of binding ends before any event of the season, so before their starts.
 */
function deliveryOrder(d: Draft): Delivered[] {
  const { r, w } = d;
  const latest = lastLateArrival(d.c);
  const sorted = [...d.events].sort((a, b) => a.atMs - b.atMs);
  return sorted.map(({ ev, atMs }) => {
    let deliverAtMs = atMs;
    if (ev.type === 'binding.ended' && r.chance(0.3)) deliverAtMs = d.beforeSeason - DAY;
    else if (r.chance(0.05)) {
      deliverAtMs = atMs + r.int(1, 10) * DAY;
      if (atMs >= w.startMs && atMs < w.endMs) deliverAtMs = Math.max(atMs, Math.min(deliverAtMs, latest));
    }
    return { line: JSON.stringify(ev), deliverAtMs };
  });
}

/**
 * The platform's imperfections: 1% of orders redelivered (half with their keys in another order),
 * five orders and one payment redelivered with different content (rejected as conflicts, the first
 * version stays), each after its original; and 15 malformed lines during the season.
 */
function addImperfections(d: Draft, delivered: Delivered[], orders: number) {
  const { r, w } = d;
  const orderLines = delivered.filter((x) => x.line.startsWith('{"type":"order.paid"'));
  const after = (x: Delivered) => x.deliverAtMs + r.int(1, 3 * 24 * 60) * MINUTE;
  let duplicates = 0;
  for (let k = 0; k < Math.floor(orders / 100); k++) {
    const x = r.pick(orderLines);
    delivered.push({ line: r.chance(0.5) ? x.line : JSON.stringify(reorder(JSON.parse(x.line))), deliverAtMs: after(x) });
    duplicates++;
  }
  let conflicts = 0;
  for (let k = 0; k < 5; k++) {
    const x = r.pick(orderLines);
    delivered.push({ line: JSON.stringify({ ...JSON.parse(x.line), storeId: r.pick(d.unboundStores) }), deliverAtMs: after(x) });
    conflicts++;
  }
  const payment = delivered.find((x) => x.line.includes('"deposit.paid"'))!;
  delivered.push({ line: JSON.stringify({ ...JSON.parse(payment.line), amountFen: 1 }), deliverAtMs: after(payment) });
  conflicts++;
  for (const line of MALFORMED) delivered.push({ line, deliverAtMs: w.startMs + r.int(0, w.endMs - w.startMs - 1) });
  return { duplicates, conflicts, malformed: MALFORMED.length };
}

const MALFORMED = [
  '{"type":"order.paid","orderId":"BAD1","storeId":"S00001","paidAt":"2023-12-05T10:00:00"}',
  '{"type":"order.paid","orderId":"BAD2","storeId":"S00001","paidAt":"2023-02-29T10:00:00+08:00"}',
  '{"type":"order.paid","orderId":"BAD 3","storeId":"S00001","paidAt":"2023-12-05T10:00:00Z"}',
  '{"type":"order.refunded","orderId":"BAD4"}',
  '{"type":"deposit.paid","paymentId":"BAD5","providerId":"P0001","amountFen":-100,"paidAt":"2023-12-05T10:00:00Z"}',
  '{"type":"deposit.paid","paymentId":"BAD6","providerId":"P0001","amountFen":100.5,"paidAt":"2023-12-05T10:00:00Z"}',
  '{"type":"deposit.paid","paymentId":"BAD7","providerId":"P0001","amountFen":"10000000","paidAt":"2023-12-05T10:00:00Z"}',
  '{"type":"binding.started","providerId":"P0001","storeId":"S00001"}',
  '{"type":"provider.upserted","providerId":"P9999","name":"x","email":"not-an-address","certifiedAt":"2023-01-01T00:00:00Z"}',
  '{"type":"order.paid","orderId":"BAD10","storeId":"S00001","paidAt":"2023-12-05T10:00:00Z","gift":"no"}',
  '[{"type":"order.paid"}]',
  '{"type":"order.paid","orderId":"BAD12",',
  'null',
  `{"type":"order.paid","orderId":"${'X'.repeat(129)}","storeId":"S00001","paidAt":"2023-12-05T10:00:00Z"}`,
  '{"type":"order.paid","orderId":"BAD15","storeId":"S00001","paidAt":"2023-12-05T10:00:00Z","coupon":"X"}',
];

/** The same event with its keys in another order: a redelivery must still be recognised. */
function reorder(ev: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(ev).reverse());
}

// ---------------------------------------------------------------------------------------------------
// What the system must find: brute force over the generated truth, with the rules' own predicates.

function expectation(d: Draft): Map<string, ExpectedFigures> {
  const intervals = bindingIntervals(d.bindingEvents);
  const storeProviders = new Map<string, string[]>();
  for (const [p, stores] of intervals) for (const s of stores.keys()) (storeProviders.get(s) ?? storeProviders.set(s, []).get(s)!).push(p);
  const counts = new Map<string, number>();
  for (const o of d.orders)
    for (const p of storeProviders.get(o.storeId) ?? [])
      if (orderCounts(d.c, o, intervalsFor(intervals, p, o.storeId))) counts.set(p, (counts.get(p) ?? 0) + 1);
  return new Map(
    d.providerIds.map((p) => [p, { paidOrders: counts.get(p) ?? 0, depositBalanceFen: depositBalanceAtClose(d.c, d.deposits.get(p) ?? []), story: d.stories.get(p)! }]),
  );
}
