/**
 * The demo season's providers: the first few are written stories that cover the rules' edge cases; the
 * rest are ordinary. Each is given its profile, its stores, its deposit and its share of the orders.
 */
import { add, DAY, dayBefore, iso, newStore, pad, seasonDay, type Draft, type Plan } from './draft.ts';

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

export function addProviders(d: Draft, count: number): void {
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
  if (i === 7) {
    certifiedAtMs = w.certifiedBeforeMs;
    outOfScope(`certified exactly at ${c.certifiedBeforeDate} 00:00 CST: not in scope`);
  } else if (i === 8) {
    certifiedAtMs = afterCut + 20 * DAY;
    outOfScope('certified mid-season: not in scope');
  } else if (i === 9) {
    regularizedAtMs = undefined;
    onProbation('still on probation: not assessed');
  } else if (i === 10) {
    regularizedAtMs = w.regularizedBeforeMs;
    onProbation(`regularized exactly at ${c.regularizedBeforeDate} 00:00 CST: not assessed`);
  } else if (i === 11) {
    regularizedAtMs = w.regularizedBeforeMs - 1000;
    plan.stories.push(`regularized ${dayBefore(c.regularizedBeforeDate)} 23:59:59 CST: assessed`);
  } else if (i > 11 && i % 17 === 0) {
    certifiedAtMs = afterCut + r.int(1, 80) * DAY;
    outOfScope('certified in the season: not in scope');
  } else if (i > 11 && i % 19 === 0) {
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
export function shareStores(d: Draft): void {
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
