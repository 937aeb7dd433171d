/**
 * The demo season's orders: first how many count for each provider, then where they go; the rest
 * where they cannot count.
 */
import { add, DAY, iso, pad, type Draft, type Plan, type Window } from './draft.ts';

/** The share of the season's orders planned to count; the rest are gifts, outside the period or a binding. */
const COUNTED_SHARE = 0.9;

/**
 * Each provider's counted orders: its share of the season by weight, then moved to its side of the
 * threshold as planned (at least the threshold if its orders pass, below it if not; providers 12 and
 * 15 one short, provider 14 exactly on it, the close ones within three of it).
 */
export function planCounts(d: Draft, orders: number): void {
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

export function addOrders(d: Draft, count: number): void {
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
