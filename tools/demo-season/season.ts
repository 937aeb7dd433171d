import { campaignRegistry } from '#shared/campaigns.ts';
import type { Campaign } from '#shared/rules/campaign.ts';

/** The campaign the demo season is played in unless another is given: the first campaign file by period (npm start's). */
export const demoCampaign = (): Campaign => campaignRegistry().list()[0]!;

/**
 * A believable demo season, generated from a fixed seed for any campaign's period: providers in and
 * out of scope, on probation, big and small; stores bound to one or two providers, bindings that
 * start or end mid-season; gift orders, orders on the boundary instants; deposits in instalments,
 * late, deducted and topped up; and the platform's imperfections: redeliveries, conflicting versions,
 * malformed lines, late arrivals, binding ends delivered before their starts.
 *
 * The season is planned before it is written. Each provider is first given its fate — in scope or
 * not, regularized or not, its orders above or below the threshold, its deposit paid in full or not,
 * each by a story ("deposit 1 fen short", "one order short of the threshold") — and an exact number
 * of orders that must count for it; then events are written that realize the plan: counted orders
 * placed inside the period and inside a binding of one of its stores, the rest placed where they
 * cannot count (gifts, outside the period, outside the binding, stores nobody serves). The
 * expectation the season returns is that plan (`expected`), never a computation over the events, so
 * a run checked against it checks the rules too; the tests check that a reference evaluator written
 * from RULES.md finds the same plan in the events (test/unit/demo-season.test.ts).
 *
 * Most assessed providers pass; a minority fail on orders, on the deposit or on both, against a
 * threshold that fits the season's size (`DEMO_SEASON.thresholdOrders`, which ops would set as
 * THRESHOLD_ORDERS). Every instant is derived from the campaign's dates (China time, UTC+8), so the
 * same generator writes a season in any campaign's period.
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
  /** The campaign whose period, cuts and deposit the season is written for; default renewal-2024. */
  campaign?: Campaign;
}

export type PlannedReason = 'orders_below_threshold' | 'deposit_not_paid_in_full' | 'not_in_scope' | 'not_regularized';

/** What the generator planned for one provider: its outcome and the figures it must be decided from. */
export interface PlannedOutcome {
  outcome: 'retained' | 'revoked' | 'not_assessed';
  reasons: PlannedReason[];
  /** Orders planned to count for it (also for a provider not assessed: the aggregates hold them). */
  paidOrders: number;
  /** Its deposit balance at the period end, by its deposit story. */
  depositBalanceFen: number;
  /** Why the provider is in the demo (the rule cases it covers, or 'ordinary'). */
  story: string;
  /** The plan in one line, e.g. "P0012: 299 counted orders (threshold 300), deposit 1 fen short, so revoked on both". */
  plan: string;
}

export interface Season {
  /** NDJSON lines in delivery order (late, duplicated and malformed ones included). */
  lines: string[];
  /**
   * Parallel to `lines`, non-decreasing: the instant the platform delivers each line. An event's own
   * time for most; later for the late arrivals, but an event of the assessment period never after
   * `lastLateArrival` (15 minutes after the close), so the evaluation at 30 minutes after it sees it;
   * a redelivery or a conflicting version after its original; malformed lines at some time in the season.
   */
  deliverAtMs: number[];
  /** The threshold this season is meant to be evaluated with (THRESHOLD_ORDERS). */
  thresholdOrders: number;
  /** Per provider: the planned outcome and figures the system must find. */
  expected: Map<string, PlannedOutcome>;
  stats: { orders: number; duplicates: number; conflicts: number; malformed: number };
}

const DAY = 86_400_000;
const MINUTE = 60_000;
const CST = 8 * 3_600_000;

/**
 * The campaign's instants, computed here from its dates (China time, UTC+8, no DST) rather than by the
 * rules module, so that a wrong rule cannot move the plan along with it.
 */
interface Instants {
  startMs: number;
  /** Exclusive: the first instant after the period. */
  endMs: number;
  certifiedBeforeMs: number;
  regularizedBeforeMs: number;
  days: number;
}

const midnight = (date: string) => Date.parse(`${date}T00:00:00+08:00`);
const dayBefore = (date: string) => new Date(midnight(date) + CST - DAY).toISOString().slice(0, 10);

function instantsOf(c: Campaign): Instants {
  const startMs = midnight(c.periodStartDate);
  const endMs = midnight(c.periodEndDate) + DAY;
  return { startMs, endMs, certifiedBeforeMs: midnight(c.certifiedBeforeDate), regularizedBeforeMs: midnight(c.regularizedBeforeDate), days: Math.round((endMs - startMs) / DAY) };
}

/** The last instant a late event of the period may arrive: 15 minutes before the evaluation (close + 30 min). */
export function lastLateArrival(c: Campaign = demoCampaign()): number {
  return instantsOf(c).endMs + 15 * MINUTE;
}

export function generateSeason(opts: SeasonOptions): Season {
  const d = newDraft(opts);
  addProviders(d, opts.providers);
  shareStores(d);
  planCounts(d, opts.orders);
  addOrders(d, opts.orders);
  const delivered = deliveryOrder(d);
  const imperfections = addImperfections(d, delivered, opts.orders);
  delivered.sort((a, b) => a.deliverAtMs - b.deliverAtMs);
  return {
    lines: delivered.map((x) => x.line),
    deliverAtMs: delivered.map((x) => x.deliverAtMs),
    thresholdOrders: d.threshold,
    expected: expectation(d),
    stats: { orders: d.orderCount, ...imperfections },
  };
}

// ---------------------------------------------------------------------------------------------------
// The draft: the season's plan and its events as they are written, before they become delivered lines.

/** Where in a store an order counts for exactly the providers named: `[fromMs, toMs)`, inside the period. */
interface Window {
  storeId: string;
  fromMs: number;
  toMs: number;
  countsFor: string[];
}

interface Plan {
  providerId: string;
  eligibility: 'assessed' | 'not_in_scope' | 'not_regularized';
  /** Whether the orders meet the threshold: chosen, then realized by `counted`. */
  ordersPass: boolean;
  /** Whether the deposit is paid in full: chosen by the deposit story, realized by `depositBalanceFen`. */
  depositPass: boolean;
  depositBalanceFen: number;
  /** Share of the season's orders (relative weight), and the orders that must count for it. */
  weight: number;
  /** Close to the threshold: how far above (0..3) or below (-1..-3) it the count is planned. */
  closeBy?: number;
  counted: number;
  /** How many of `counted` are still to be written. */
  left: number;
  stories: string[];
  /** Where its counted orders may go, and where its stores' orders count for nobody. */
  windows: Window[];
  dead: Window[];
}

interface Draft {
  c: Campaign;
  w: Instants;
  r: Rng;
  threshold: number;
  /** Every event with its own time (the instant it happened on the platform). */
  events: { ev: Record<string, unknown>; atMs: number }[];
  orders: { storeId: string; paidAtMs: number; gift: boolean }[];
  orderCount: number;
  plans: Plan[];
  byId: Map<string, Plan>;
  /** Windows of the shared stores, where an order counts for both providers. */
  sharedWindows: Window[];
  unboundStores: string[];
  storeSeq: number;
  /** Well before the season and its cuts: when the long-standing bindings and certifications happened. */
  beforeSeason: number;
  /** The shopping festival (12.12) and the Spring Festival lull, as instant ranges, for the season's shape. */
  festival?: [number, number];
  lull: [number, number];
}

function newDraft(opts: SeasonOptions): Draft {
  const c = opts.campaign ?? demoCampaign();
  const w = instantsOf(c);
  const day = (k: number) => w.startMs + k * DAY;
  // 12.12 when the period holds a 12 December; the lull where the Spring Festival fell in the 2024
  // season (days 70-78 of 91: 2024-02-09..17), at the same share of any period.
  const festivalDay = Array.from({ length: w.days }, (_, k) => k).find((k) => new Date(day(k) + CST).toISOString().slice(5, 10) === '12-12');
  return {
    c,
    w,
    r: rng(opts.seed),
    threshold: demoThreshold(opts),
    events: [],
    orders: [],
    orderCount: 0,
    plans: [],
    byId: new Map(),
    sharedWindows: [],
    unboundStores: [],
    storeSeq: 0,
    beforeSeason: Math.min(w.startMs, w.certifiedBeforeMs, w.regularizedBeforeMs) - 200 * DAY,
    ...(festivalDay !== undefined ? { festival: [day(festivalDay), day(festivalDay + 1)] as [number, number] } : {}),
    lull: [day(Math.round(w.days * 0.77)), day(Math.round(w.days * 0.857))],
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
/** A whole day of the period, `k` days in (0-based), at the same share of any period as of the 91-day one. */
const seasonDay = (d: Draft, k91: number) => d.w.startMs + Math.min(d.w.days - 1, Math.round((k91 * d.w.days) / 91)) * DAY;

const NAMES = [
  '义乌小商品',
  '临沂商贸',
  '广州白马服装',
  '杭州四季青',
  '泉州鞋服',
  '佛山家具',
  '揭阳五金',
  '东莞电子',
  '汕头玩具',
  '景德镇陶瓷',
  '苏州丝绸',
  '曹县汉服',
  '青岛海鲜',
  '云南普洱',
  '五常大米',
];
/** Provider 13 has the name a hostile provider would choose: every output must show it as text. */
export const HOSTILE_NAME = `<b>Hostile & "Co"</b>\r\nBcc: x@example.com`;

// ---------------------------------------------------------------------------------------------------
// Providers: the first few are written stories that cover the rules' edge cases; the rest are ordinary.

function addProviders(d: Draft, count: number): void {
  for (let i = 1; i <= count; i++) {
    const providerId = `P${pad(i, 4)}`;
    const plan: Plan = { providerId, eligibility: 'assessed', ordersPass: true, depositPass: true, depositBalanceFen: 0, weight: 0, counted: 0, left: 0, stories: [], windows: [], dead: [] };
    d.plans.push(plan);
    d.byId.set(providerId, plan);
    addProfile(d, i, plan);
    bindStores(d, i, plan);
    payDeposit(d, i, plan);
    planOrders(d, i, plan);
  }
}

/** Scope and probation (clauses 1 and 2.1), each boundary instant once. */
function addProfile(d: Draft, i: number, plan: Plan): void {
  const { r, w, c } = d;
  const afterCut = Math.max(w.certifiedBeforeMs, w.startMs);
  let certifiedAtMs = d.beforeSeason + r.int(0, 150) * DAY;
  let regularizedAtMs: number | undefined = certifiedAtMs + r.int(10, 40) * DAY;
  const outOfScope = (s: string) => ((plan.eligibility = 'not_in_scope'), plan.stories.push(s));
  const onProbation = (s: string) => ((plan.eligibility = 'not_regularized'), plan.stories.push(s));
  if (i === 7) ((certifiedAtMs = w.certifiedBeforeMs), outOfScope(`certified exactly at ${c.certifiedBeforeDate} 00:00 CST: not in scope`));
  else if (i === 8) ((certifiedAtMs = afterCut + 20 * DAY), outOfScope('certified mid-season: not in scope'));
  else if (i === 9) ((regularizedAtMs = undefined), onProbation('still on probation: not assessed'));
  else if (i === 10) ((regularizedAtMs = w.regularizedBeforeMs), onProbation(`regularized exactly at ${c.regularizedBeforeDate} 00:00 CST: not assessed`));
  else if (i === 11) ((regularizedAtMs = w.regularizedBeforeMs - 1000), plan.stories.push(`regularized ${dayBefore(c.regularizedBeforeDate)} 23:59:59 CST: assessed`));
  else if (i > 11 && i % 17 === 0) ((certifiedAtMs = afterCut + r.int(1, 80) * DAY), outOfScope('certified in the season: not in scope'));
  else if (i > 11 && i % 19 === 0) {
    regularizedAtMs = r.chance(0.5) ? undefined : w.regularizedBeforeMs + r.int(1, 60) * DAY;
    onProbation(`not regularized by ${dayBefore(c.regularizedBeforeDate)}`);
  }
  if (regularizedAtMs !== undefined && regularizedAtMs < certifiedAtMs) regularizedAtMs = certifiedAtMs;
  add(
    d,
    {
      type: 'provider.upserted',
      providerId: plan.providerId,
      name: i === 13 ? HOSTILE_NAME : `${r.pick(NAMES)}产业带服务商${pad(i, 3)}`,
      email: `ops+${plan.providerId.toLowerCase()}@provider${pad(i, 3)}.example.com`,
      certifiedAt: iso(certifiedAtMs, r.chance(0.5)),
      ...(regularizedAtMs !== undefined ? { regularizedAt: iso(regularizedAtMs, r.chance(0.5)) } : {}),
    },
    certifiedAtMs,
  );
}

function bind(d: Draft, providerId: string, storeId: string, startMs: number, endMs?: number): void {
  add(d, { type: 'binding.started', providerId, storeId, at: iso(startMs, d.r.chance(0.5)) }, startMs);
  if (endMs !== undefined) add(d, { type: 'binding.ended', providerId, storeId, at: iso(endMs, d.r.chance(0.5)) }, endMs);
}

/**
 * Stores (clause 2.3): 2-8 each; the first bound before the season for good, most others too; some
 * start or end mid-season, a few ended before it. Each binding gives the store's window where an order
 * counts for the provider (inside both the period and the binding) and where it counts for nobody.
 */
function bindStores(d: Draft, i: number, plan: Plan): void {
  const { r, w } = d;
  const { providerId } = plan;
  const counts = (storeId: string, fromMs: number, toMs: number) => toMs > fromMs && plan.windows.push({ storeId, fromMs, toMs, countsFor: [providerId] });
  const dead = (storeId: string, fromMs: number, toMs: number) => toMs > fromMs && plan.dead.push({ storeId, fromMs, toMs, countsFor: [] });
  const inSeason = (lo91: number, hi91: number) => seasonDay(d, r.int(lo91, hi91)) + r.int(0, DAY - 1);
  for (let s = r.int(2, 8); s > 0; s--) {
    const storeId = newStore(d);
    const roll = r.next();
    if (roll < 0.78 || i <= 6 || plan.windows.length === 0) {
      bind(d, providerId, storeId, d.beforeSeason + r.int(0, 150) * DAY);
      counts(storeId, w.startMs, w.endMs);
    } else if (roll < 0.87) {
      const at = inSeason(1, 60);
      bind(d, providerId, storeId, at);
      dead(storeId, w.startMs, at);
      counts(storeId, at, w.endMs);
    } else if (roll < 0.95) {
      const at = inSeason(1, 80);
      bind(d, providerId, storeId, d.beforeSeason, at);
      counts(storeId, w.startMs, at);
      dead(storeId, at, w.endMs);
    } else {
      bind(d, providerId, storeId, d.beforeSeason, w.startMs - r.int(1, 30) * DAY); // ended before the season
      dead(storeId, w.startMs, w.endMs);
    }
  }
}

function pay(d: Draft, providerId: string, paymentId: string, kind: 'paid' | 'deducted', amountFen: number, atMs: number): void {
  const at = iso(atMs, d.r.chance(0.5));
  add(d, kind === 'paid' ? { type: 'deposit.paid', paymentId, providerId, amountFen, paidAt: at } : { type: 'deposit.deducted', paymentId, providerId, amountFen, at }, atMs);
}

/**
 * The deposit (clause 2.2.2), planned by its story: most pay in full, in one go or in instalments; a
 * few fall short by one fen, pay the second half at the close instant (too late), have part deducted
 * in the season, or pay nothing; some are deducted and top up in time, or are deducted only after the
 * close. Each story states the balance at the close and whether it is the deposit in full.
 */
function payDeposit(d: Draft, i: number, plan: Plan): void {
  const { r, w } = d;
  const { providerId } = plan;
  const full = d.c.depositRequiredFen;
  const p = (k: number | string) => `PAY-${providerId}-${k}`;
  const deduction = () => Math.max(1, Math.round((full * r.int(1, 50)) / 100));
  const planned = (balance: number, inFull: boolean, story?: string) => {
    plan.depositBalanceFen = balance;
    plan.depositPass = inFull;
    if (story) plan.stories.push(story);
  };
  const roll = r.next();
  if (i === 12) {
    pay(d, providerId, p(1), 'paid', full - 1, w.startMs - 5 * DAY);
    planned(full - 1, false, 'deposit 1 fen short');
  } else if (i === 1 || i === 2 || i === 3 || i === 14 || i === 15 || (i > 6 && roll < 0.6)) {
    pay(d, providerId, p(1), 'paid', full, w.startMs - r.int(1, 100) * DAY);
    planned(full, true);
  } else if (i === 6 || (i > 6 && roll < 0.8)) {
    const quarter = Math.floor(full / 4);
    for (let k = 1; k <= 4; k++) pay(d, providerId, p(k), 'paid', k < 4 ? quarter : full - 3 * quarter, seasonDay(d, k * 20 - 10));
    planned(full, true, i === 6 ? 'deposit in four instalments' : undefined);
  } else if (i === 4 || (i > 6 && roll < 0.815)) {
    pay(d, providerId, p(1), 'paid', full - 1, w.startMs - 5 * DAY);
    planned(full - 1, false, 'deposit 1 fen short');
  } else if (i === 5 || (i > 6 && roll < 0.83)) {
    const half = Math.floor(full / 2);
    pay(d, providerId, p(1), 'paid', half, w.startMs + 3 * DAY);
    pay(d, providerId, p(2), 'paid', full - half, w.endMs); // at the close instant: too late
    planned(half, false, 'second half of the deposit paid at the close instant (late)');
  } else if (roll < 0.85) {
    const deducted = deduction();
    pay(d, providerId, p(1), 'paid', full, w.startMs - 30 * DAY);
    pay(d, providerId, p('D1'), 'deducted', deducted, seasonDay(d, r.int(1, 80)));
    planned(full - deducted, false, 'part of the deposit deducted in the season, not topped up');
  } else if (roll < 0.92) {
    const deducted = deduction();
    const at = seasonDay(d, r.int(1, 60));
    pay(d, providerId, p(1), 'paid', full, w.startMs - 30 * DAY);
    pay(d, providerId, p('D1'), 'deducted', deducted, at);
    pay(d, providerId, p(2), 'paid', deducted, Math.min(at + r.int(1, 20) * DAY, w.endMs - DAY)); // topped up before the close
    planned(full, true, 'deposit deducted, then topped up in time');
  } else if (roll < 0.98) {
    pay(d, providerId, p(1), 'paid', full, w.startMs - 30 * DAY);
    pay(d, providerId, p('D1'), 'deducted', Math.max(1, Math.round(full / 20)), w.endMs + DAY); // after the close: does not count
    planned(full, true, 'deposit deducted after the close (does not count)');
  } else planned(0, false, 'no deposit at all');
}

/**
 * The provider's share of the season's orders, and whether they will meet the threshold. Six big
 * providers; most others healthy; a minority small (below the threshold), and a few close to it, on
 * either side. Provider 13 (the hostile name) is small, so the public notice shows it; providers 12,
 * 14 and 15 sit on the threshold itself.
 */
function planOrders(d: Draft, i: number, plan: Plan): void {
  const { r } = d;
  if (i <= 6) return void (plan.weight = i === 2 ? 8 : 12);
  const roll = r.next();
  if (i === 12 || i === 15) {
    plan.weight = 1;
    plan.ordersPass = false;
    plan.stories.push('one order short of the threshold');
  } else if (i === 14) {
    plan.weight = 1;
    plan.stories.push('exactly at the threshold: retained');
  } else if (i === 13 || roll < 0.07) {
    plan.weight = r.between(0.08, 0.45);
    plan.ordersPass = false;
    plan.stories.push('small: few orders');
  } else if (roll < 0.13) {
    plan.weight = r.between(0.85, 1.2);
    plan.ordersPass = r.chance(0.5);
    plan.closeBy = plan.ordersPass ? r.int(0, 3) : -r.int(1, 3);
    plan.stories.push('close to the threshold');
  } else plan.weight = r.between(1.4, 3.2);
}

/** Stores shared by two providers: in the window where both are bound, an order counts for both. */
function shareStores(d: Draft): void {
  const { r, w } = d;
  const ids = d.plans.map((p) => p.providerId);
  for (let k = 0; k < Math.max(2, Math.floor(ids.length / 10)); k++) {
    const a = r.pick(ids);
    const b = r.pick(ids);
    if (a === b) continue;
    const storeId = newStore(d);
    const bFrom = seasonDay(d, r.int(0, 45));
    bind(d, a, storeId, d.beforeSeason);
    bind(d, b, storeId, bFrom);
    d.byId.get(a)!.windows.push({ storeId, fromMs: w.startMs, toMs: bFrom, countsFor: [a] });
    d.sharedWindows.push({ storeId, fromMs: bFrom, toMs: w.endMs, countsFor: [a, b] });
  }
  d.unboundStores = Array.from({ length: 20 }, () => newStore(d)); // orders from stores nobody serves
}

// ---------------------------------------------------------------------------------------------------
// Orders: first how many count for each provider, then where they go; the rest where they cannot count.

/** The share of the season's orders planned to count; the rest are gifts, outside the period or a binding. */
const COUNTED_SHARE = 0.9;

/**
 * Each provider's counted orders: its share of the season by weight, then moved to its side of the
 * threshold as planned (at least the threshold if its orders pass, below it if not; providers 12 and
 * 15 one short, provider 14 exactly on it, the close ones within three of it).
 */
function planCounts(d: Draft, orders: number): void {
  const T = d.threshold;
  const totalWeight = d.plans.reduce((a, p) => a + p.weight, 0);
  const counted = (p: Plan, i: number, unit: number) => {
    const share = Math.round(p.weight * unit);
    let n: number;
    if (i === 12 || i === 15) n = T - 1;
    else if (i === 14) n = T;
    else if (p.closeBy !== undefined) n = Math.max(0, T + p.closeBy);
    else n = p.ordersPass ? Math.max(T, share) : Math.min(T - 1, share);
    // Big providers' first stores carry the boundary instants (four of which count).
    return i <= 6 ? Math.max(n, 4) : n;
  };
  // A small season may not fit its floors (the passing ones at least the threshold): shrink the shares.
  let unit = (orders * COUNTED_SHARE) / totalWeight;
  while (unit > 1e-3 && d.plans.reduce((a, p, n) => a + counted(p, n + 1, unit), 0) + 12 > orders * COUNTED_SHARE) unit *= 0.9;
  d.plans.forEach((p, n) => (p.counted = p.left = counted(p, n + 1, unit)));
}

function addOrders(d: Draft, count: number): void {
  const { r, w } = d;
  const order = (storeId: string, paidAtMs: number, gift = false) => d.orders.push({ storeId, paidAtMs, gift });
  const at = (x: Window) => shapedInstant(d, x.fromMs, x.toMs);

  // Boundary instants of the half-open period (clause 2.1), on the big providers' first stores: the
  // last ms before, the first, the start of the last day, the last ms (twice), the close.
  for (const p of d.plans.slice(0, 6)) {
    const storeId = p.windows[0]!.storeId;
    for (const t of [w.startMs, w.endMs - DAY, w.endMs - 1, w.endMs - 1]) order(storeId, t);
    for (const t of [w.startMs - 1, w.endMs]) order(storeId, t);
    p.left -= 4;
  }
  // Shared stores: some of both providers' counted orders, where both are bound.
  for (const x of d.sharedWindows) {
    const [a, b] = x.countsFor.map((id) => d.byId.get(id)!) as [Plan, Plan];
    for (let n = Math.floor(Math.min(a.left, b.left) * 0.15); n > 0; n--) {
      order(x.storeId, at(x));
      a.left--;
      b.left--;
    }
  }
  // Every provider's remaining counted orders, over its windows by their length.
  for (const p of d.plans) {
    const total = p.windows.reduce((s, x) => s + (x.toMs - x.fromMs), 0);
    for (; p.left > 0; p.left--) {
      let y = r.next() * total;
      const x = p.windows.find((v) => (y -= v.toMs - v.fromMs) < 0) ?? p.windows.at(-1)!;
      order(x.storeId, at(x));
    }
  }
  const counted = d.orders.length;
  const noise = count - counted;
  if (noise < d.plans.length * 2) throw new RangeError(`a season of ${count} orders is too small for its plan (${counted} counted orders for ${d.plans.length} providers)`);
  // The rest count for nobody: gifts (clause 2.3), paid just outside the period, outside a binding,
  // and of stores nobody serves, in about the proportions of a season (3% : 2% : rest : 1%).
  const stores = d.plans.map((p) => p.windows.map((x) => x.storeId)).flat();
  const dead = d.plans.flatMap((p) => p.dead);
  for (let n = 0; n < noise; n++) {
    const roll = r.next();
    if (roll < 0.3 || (!dead.length && roll < 0.8)) order(r.pick(stores), shapedInstant(d, w.startMs, w.endMs), true);
    else if (roll < 0.5) order(r.pick(stores), r.chance(0.5) ? w.startMs - r.int(1, 5 * DAY) : w.endMs + r.int(0, 5 * DAY), r.chance(0.03));
    else if (roll < 0.8) {
      const x = r.pick(dead);
      order(x.storeId, at(x), r.chance(0.03));
    } else order(r.pick(d.unboundStores), shapedInstant(d, w.startMs, w.endMs), r.chance(0.03));
  }
  // Numbered in a random order, so an order's id says nothing about the plan.
  for (let k = d.orders.length - 1; k > 0; k--) {
    const j = r.int(0, k);
    [d.orders[k], d.orders[j]] = [d.orders[j]!, d.orders[k]!];
  }
  d.orderCount = d.orders.length;
  d.orders.forEach((o, n) => {
    add(d, { type: 'order.paid', orderId: `O${pad(n + 1, 8)}`, storeId: o.storeId, paidAt: iso(o.paidAtMs, r.chance(0.5)), ...(o.gift || r.chance(0.5) ? { gift: o.gift } : {}) }, o.paidAtMs);
  });
}

/**
 * An instant in `[fromMs, toMs)` with the season's shape, so progress over it is worth a picture:
 * orders grow towards the close, spike on the 12.12 shopping festival and drop over the Spring Festival.
 */
function shapedInstant(d: Draft, fromMs: number, toMs: number): number {
  const { r, w } = d;
  for (;;) {
    const t = fromMs + r.int(0, toMs - fromMs - 1);
    let weight = 0.6 + 0.4 * ((t - w.startMs) / (w.endMs - w.startMs));
    if (d.festival && t >= d.festival[0] && t < d.festival[1]) weight *= 2.4;
    if (t >= d.lull[0] && t < d.lull[1]) weight *= 0.35;
    if (r.next() * 2.4 < weight) return t;
  }
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
  // After the instant they claim (the period's fifth day), before the close.
  const dated = malformedAt(d);
  for (const line of malformed(d)) delivered.push({ line, deliverAtMs: dated + r.int(0, w.endMs - dated - 1) });
  return { duplicates, conflicts, malformed: malformed(d).length };
}

/** The instant the malformed lines claim: the period's fifth day, 10:00Z. */
const malformedAt = (d: Draft) => d.w.startMs + 4 * DAY + CST + 10 * 3_600_000;

/** Fifteen lines the contract rejects, each for another field; dated in the season's period. */
function malformed(d: Draft): string[] {
  const z = new Date(malformedAt(d)).toISOString().replace('.000Z', 'Z');
  const day = z.slice(0, 10);
  const noSuchDay = `${day.slice(0, 4)}-02-30T10:00:00+08:00`;
  return [
    `{"type":"order.paid","orderId":"BAD1","storeId":"S00001","paidAt":"${day}T10:00:00"}`,
    `{"type":"order.paid","orderId":"BAD2","storeId":"S00001","paidAt":"${noSuchDay}"}`,
    `{"type":"order.paid","orderId":"BAD 3","storeId":"S00001","paidAt":"${z}"}`,
    '{"type":"order.refunded","orderId":"BAD4"}',
    `{"type":"deposit.paid","paymentId":"BAD5","providerId":"P0001","amountFen":-100,"paidAt":"${z}"}`,
    `{"type":"deposit.paid","paymentId":"BAD6","providerId":"P0001","amountFen":100.5,"paidAt":"${z}"}`,
    `{"type":"deposit.paid","paymentId":"BAD7","providerId":"P0001","amountFen":"10000000","paidAt":"${z}"}`,
    '{"type":"binding.started","providerId":"P0001","storeId":"S00001"}',
    `{"type":"provider.upserted","providerId":"P9999","name":"x","email":"not-an-address","certifiedAt":"${iso(d.beforeSeason, false)}"}`,
    `{"type":"order.paid","orderId":"BAD10","storeId":"S00001","paidAt":"${z}","gift":"no"}`,
    '[{"type":"order.paid"}]',
    '{"type":"order.paid","orderId":"BAD12",',
    'null',
    `{"type":"order.paid","orderId":"${'X'.repeat(129)}","storeId":"S00001","paidAt":"${z}"}`,
    `{"type":"order.paid","orderId":"BAD15","storeId":"S00001","paidAt":"${z}","coupon":"X"}`,
  ];
}

/** The same event with its keys in another order: a redelivery must still be recognised. */
function reorder(ev: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(ev).reverse());
}

// ---------------------------------------------------------------------------------------------------
// What the system must find: the plan, as each provider's outcome, reasons and figures.

function expectation(d: Draft): Map<string, PlannedOutcome> {
  const full = d.c.depositRequiredFen;
  return new Map(
    d.plans.map((p): [string, PlannedOutcome] => {
      const reasons: PlannedReason[] =
        p.eligibility !== 'assessed' ? [p.eligibility] : [...(p.ordersPass ? [] : ['orders_below_threshold' as const]), ...(p.depositPass ? [] : ['deposit_not_paid_in_full' as const])];
      const outcome = p.eligibility !== 'assessed' ? 'not_assessed' : reasons.length ? 'revoked' : 'retained';
      const deposit = p.depositPass ? 'deposit paid in full' : p.depositBalanceFen === 0 ? 'no deposit' : `deposit ${full - p.depositBalanceFen} fen short`;
      const so =
        outcome === 'not_assessed'
          ? `not assessed (${reasons[0]})`
          : outcome === 'retained'
            ? 'retained'
            : reasons.length === 2
              ? 'revoked on both'
              : `revoked on ${p.ordersPass ? 'the deposit' : 'orders'}`;
      return [
        p.providerId,
        {
          outcome,
          reasons,
          paidOrders: p.counted,
          depositBalanceFen: p.depositBalanceFen,
          story: p.stories.length ? p.stories.join('; ') : 'ordinary',
          plan: `${p.providerId}: ${p.counted} counted order${p.counted === 1 ? '' : 's'} (threshold ${d.threshold}), ${deposit}, so ${so}`,
        },
      ];
    }),
  );
}
