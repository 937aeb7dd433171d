import { RENEWAL_2024, periodWindow, type Campaign } from '#shared/rules/campaign.ts';
import { bindingIntervals, depositBalanceAtClose, intervalsFor, orderCounts, type BindingEvent } from '#shared/rules/rules.ts';


/**
 * A realistic demo season, generated from a fixed seed: providers in and out of scope, on probation,
 * big and small; stores bound to one or two providers, bindings that start or end mid-season;
 * gift orders, orders on the boundary instants; deposits in instalments, late and deducted; and the
 * platform's imperfections: redeliveries, conflicting versions, malformed lines, late arrivals.
 * It also returns what each provider's figures must come out as, computed independently of the
 * store by brute force over the events, so a run can be checked end to end.
 */

export interface SeasonOptions {
  providers: number;
  orders: number;
  seed: number;
  campaign?: Campaign;
}

export interface Season {
  /** NDJSON lines in delivery order (late, duplicated and malformed ones included). */
  lines: string[];
  /** Per provider: the figures the system must find, and why the provider is in the demo. */
  expected: Map<string, { paidOrders: number; depositBalanceFen: number; story: string }>;
  stats: { orders: number; duplicates: number; conflicts: number; malformed: number };
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
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}

const CST = 8 * 3_600_000;
/** Renders an instant in one of the two offset forms the platform sends. */
const iso = (ms: number, cst: boolean) =>
  cst ? `${new Date(ms + CST).toISOString().slice(0, 19)}+08:00` : new Date(ms).toISOString();
const pad = (n: number, w: number) => String(n).padStart(w, '0');

const NAMES = ['义乌小商品', '临沂商贸', '广州白马服装', '杭州四季青', '泉州鞋服', '佛山家具', '揭阳五金', '东莞电子', '汕头玩具', '景德镇陶瓷', '苏州丝绸', '曹县汉服', '青岛海鲜', '云南普洱', '五常大米'];

export function generateSeason(opts: SeasonOptions): Season {
  const c = opts.campaign ?? RENEWAL_2024;
  const r = rng(opts.seed);
  const w = periodWindow(c);
  const DAY = 86_400_000;
  const events: { ev: Record<string, unknown>; at: number }[] = [];
  const bindingEvents: BindingEvent[] = [];
  const deposits = new Map<string, { kind: 'paid' | 'deducted'; amountFen: number; atMs: number }[]>();
  const orders: { storeId: string; paidAtMs: number; gift: boolean }[] = [];
  const stories = new Map<string, string>();
  const add = (ev: Record<string, unknown>, at: number) => events.push({ ev, at });

  const bind = (providerId: string, storeId: string, startMs: number, endMs?: number) => {
    add({ type: 'binding.started', providerId, storeId, at: iso(startMs, r.chance(0.5)) }, startMs);
    bindingEvents.push({ providerId, storeId, kind: 'started', atMs: startMs });
    if (endMs !== undefined) {
      add({ type: 'binding.ended', providerId, storeId, at: iso(endMs, r.chance(0.5)) }, endMs);
      bindingEvents.push({ providerId, storeId, kind: 'ended', atMs: endMs });
    }
  };
  const pay = (providerId: string, paymentId: string, kind: 'paid' | 'deducted', amountFen: number, atMs: number) => {
    const at = iso(atMs, r.chance(0.5));
    add(
      kind === 'paid'
        ? { type: 'deposit.paid', paymentId, providerId, amountFen, paidAt: at }
        : { type: 'deposit.deducted', paymentId, providerId, amountFen, at },
      atMs,
    );
    (deposits.get(providerId) ?? deposits.set(providerId, []).get(providerId)!).push({ kind, amountFen, atMs });
  };

  // Providers. The first few are written stories that cover the rules' edge cases; the rest are ordinary.
  const providerIds: string[] = [];
  const beforeSeason = w.startMs - 200 * DAY;
  const storesOf = new Map<string, string[]>();
  let storeSeq = 0;
  const newStore = () => `S${pad(++storeSeq, 5)}`;
  for (let i = 1; i <= opts.providers; i++) {
    const providerId = `P${pad(i, 4)}`;
    providerIds.push(providerId);
    let certifiedAtMs = beforeSeason + r.int(0, 150) * DAY;
    let regularizedAtMs: number | undefined = certifiedAtMs + r.int(10, 40) * DAY;
    let story = 'ordinary';
    if (i === 7) (certifiedAtMs = w.startMs), (story = 'certified exactly at 2023-12-01 00:00 CST: not in scope');
    else if (i === 8) (certifiedAtMs = w.startMs + 20 * DAY), (story = 'certified mid-season: not in scope');
    else if (i === 9) (regularizedAtMs = undefined), (story = 'still on probation: not assessed');
    else if (i === 10) (regularizedAtMs = w.startMs), (story = 'regularized exactly at 2023-12-01 00:00 CST: not assessed');
    else if (i === 11) (regularizedAtMs = w.startMs - 1000), (story = 'regularized 2023-11-30 23:59:59 CST: assessed');
    else if (i > 11 && i % 17 === 0) (certifiedAtMs = w.startMs + r.int(1, 80) * DAY), (story = 'certified in the season: not in scope');
    else if (i > 11 && i % 19 === 0) (regularizedAtMs = r.chance(0.5) ? undefined : w.startMs + r.int(1, 60) * DAY), (story = 'not regularized by 2023-11-30');
    if (regularizedAtMs !== undefined && regularizedAtMs < certifiedAtMs) regularizedAtMs = certifiedAtMs;
    stories.set(providerId, story);
    const name = i === 13 ? `<b>Hostile & "Co"</b>\r\nBcc: x@example.com` : `${r.pick(NAMES)}产业带服务商${pad(i, 3)}`;
    add(
      {
        type: 'provider.upserted',
        providerId,
        name,
        email: `ops+${providerId.toLowerCase()}@provider${pad(i, 3)}.example.com`,
        certifiedAt: iso(certifiedAtMs, r.chance(0.5)),
        ...(regularizedAtMs !== undefined ? { regularizedAt: iso(regularizedAtMs, r.chance(0.5)) } : {}),
      },
      certifiedAtMs,
    );

    // Stores: 2-8, mostly bound before the season for good; some start or end mid-season.
    const stores: string[] = [];
    for (let s = r.int(2, 8); s > 0; s--) {
      const storeId = newStore();
      stores.push(storeId);
      const roll = r.next();
      if (roll < 0.7 || i <= 6) bind(providerId, storeId, beforeSeason + r.int(0, 150) * DAY);
      else if (roll < 0.82) bind(providerId, storeId, w.startMs + r.int(1, 60) * DAY + r.int(0, DAY - 1));
      else if (roll < 0.92) bind(providerId, storeId, beforeSeason, w.startMs + r.int(1, 80) * DAY + r.int(0, DAY - 1));
      else bind(providerId, storeId, beforeSeason, w.startMs - r.int(1, 30) * DAY); // ended before the season
    }
    storesOf.set(providerId, stores);

    // Deposits: full in one go, in instalments, short, late, or partly deducted.
    const d = r.next();
    const full = c.depositRequiredFen;
    if (i === 1 || i === 2 || i === 3 || d < 0.45) pay(providerId, `PAY-${providerId}-1`, 'paid', full, w.startMs - r.int(1, 100) * DAY);
    else if (i === 6 || d < 0.65) for (let k = 1; k <= 4; k++) pay(providerId, `PAY-${providerId}-${k}`, 'paid', full / 4, w.startMs + (k * 20 - 10) * DAY);
    else if (i === 4 || d < 0.72) (pay(providerId, `PAY-${providerId}-1`, 'paid', full - 1, w.startMs - 5 * DAY), stories.set(providerId, `${story}; deposit 1 fen short`));
    else if (i === 5 || d < 0.8) {
      pay(providerId, `PAY-${providerId}-1`, 'paid', full / 2, w.startMs + 3 * DAY);
      pay(providerId, `PAY-${providerId}-2`, 'paid', full / 2, w.endMs); // at the close instant: too late
      stories.set(providerId, `${story}; second half of the deposit paid at the close instant (late)`);
    } else if (d < 0.88) {
      pay(providerId, `PAY-${providerId}-1`, 'paid', full, w.startMs - 30 * DAY);
      pay(providerId, `PAY-${providerId}-D1`, 'deducted', r.int(1, 50) * 100_000, w.startMs + r.int(1, 80) * DAY);
    } else if (d < 0.94) {
      pay(providerId, `PAY-${providerId}-1`, 'paid', full, w.startMs - 30 * DAY);
      pay(providerId, `PAY-${providerId}-D1`, 'deducted', 500_000, w.endMs + DAY); // after the close: does not count
    } // else: no deposit at all
  }
  // Stores shared by two providers (the store's orders count for both).
  for (let k = 0; k < Math.max(2, Math.floor(opts.providers / 10)); k++) {
    const a = r.pick(providerIds);
    const b = r.pick(providerIds);
    if (a === b) continue;
    const storeId = newStore();
    bind(a, storeId, beforeSeason);
    bind(b, storeId, w.startMs + r.int(0, 45) * DAY);
    storesOf.get(a)!.push(storeId);
    storesOf.get(b)!.push(storeId);
  }
  const unboundStores = Array.from({ length: 20 }, newStore); // orders from stores nobody serves

  // Orders: the big providers get most of them; everyone gets some; a few land on the edges.
  const weights = providerIds.map((_, i) => (i === 1 ? 70 : i < 6 ? 110 : 1 + r.next() * 2));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const order = (storeId: string, paidAtMs: number, gift = r.chance(0.03)) => orders.push({ storeId, paidAtMs, gift });
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
  const edges = [w.startMs - 1, w.startMs, w.endMs - 1, w.endMs, Date.parse('2024-02-28T16:00:00Z'), Date.parse('2024-02-29T15:59:59.999Z')];
  for (const at of edges) for (const p of providerIds.slice(0, 6)) order(storesOf.get(p)![0]!, at, false);
  while (orders.length < opts.orders) {
    if (r.chance(0.01)) {
      order(r.pick(unboundStores), w.startMs + r.int(0, w.endMs - w.startMs - 1));
      continue;
    }
    let x = r.next() * totalWeight;
    let p = 0;
    while (x > weights[p]! && p < weights.length - 1) x -= weights[p++]!;
    const stores = storesOf.get(providerIds[p]!)!;
    // 2% of orders fall just outside the season: they must not count.
    const paidAtMs = r.chance(0.02)
      ? r.chance(0.5)
        ? w.startMs - r.int(1, 5 * DAY)
        : w.endMs + r.int(0, 5 * DAY)
      : seasonInstant();
    order(r.pick(stores), paidAtMs);
  }
  orders.forEach((o, n) => {
    const orderId = `O${pad(n + 1, 8)}`;
    add({ type: 'order.paid', orderId, storeId: o.storeId, paidAt: iso(o.paidAtMs, r.chance(0.5)), ...(o.gift || r.chance(0.5) ? { gift: o.gift } : {}) }, o.paidAtMs);
  });

  // Delivery order: by event time, with 5% arriving late (up to ten days), then the platform's
  // redeliveries, conflicting versions and malformed lines sprinkled in.
  events.sort((a, b) => a.at - b.at);
  const delivered = events.map((e) => ({ ...e, deliver: e.at + (r.chance(0.05) ? r.int(1, 10) * DAY : 0) }));
  // Some bindings' ends arrive before their starts.
  for (const d of delivered) if (d.ev.type === 'binding.ended' && r.chance(0.3)) d.deliver = beforeSeason - DAY;
  delivered.sort((a, b) => a.deliver - b.deliver);
  const lines = delivered.map((d) => JSON.stringify(d.ev));
  let duplicates = 0;
  let conflicts = 0;
  const orderLines = lines.filter((l) => l.startsWith('{"type":"order.paid"'));
  for (let k = 0; k < Math.floor(opts.orders / 100); k++) {
    const line = r.pick(orderLines);
    lines.splice(r.int(0, lines.length), 0, r.chance(0.5) ? line : JSON.stringify(reorder(JSON.parse(line))));
    duplicates++;
  }
  for (let k = 0; k < 5; k++) {
    const ev = JSON.parse(r.pick(orderLines));
    lines.push(JSON.stringify({ ...ev, storeId: r.pick(unboundStores) })); // later and different: rejected as conflict
    conflicts++;
  }
  const payLine = lines.find((l) => l.includes('"deposit.paid"'))!;
  lines.push(JSON.stringify({ ...JSON.parse(payLine), amountFen: 1 }));
  conflicts++;
  const malformed = [
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
  for (const m of malformed) lines.splice(r.int(0, lines.length), 0, m);

  // What the system must find: brute force over the generated truth, with the rules' own predicates.
  const intervals = bindingIntervals(bindingEvents);
  const expected = new Map<string, { paidOrders: number; depositBalanceFen: number; story: string }>();
  const storeProviders = new Map<string, string[]>();
  for (const [p, stores] of intervals) for (const s of stores.keys()) (storeProviders.get(s) ?? storeProviders.set(s, []).get(s)!).push(p);
  const counts = new Map<string, number>();
  for (const o of orders)
    for (const p of storeProviders.get(o.storeId) ?? [])
      if (orderCounts(c, o, intervalsFor(intervals, p, o.storeId))) counts.set(p, (counts.get(p) ?? 0) + 1);
  for (const p of providerIds)
    expected.set(p, { paidOrders: counts.get(p) ?? 0, depositBalanceFen: depositBalanceAtClose(c, deposits.get(p) ?? []), story: stories.get(p)! });
  return { lines, expected, stats: { orders: orders.length, duplicates, conflicts, malformed: malformed.length } };
}

/** The same event with its keys in another order: a redelivery must still be recognised. */
function reorder(ev: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(ev).reverse());
}
