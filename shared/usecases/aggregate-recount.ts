/**
 * How the aggregation's steps count (aggregate.ts): an incremental shard recounts the store-days its
 * bucket's change records touch, a full-recount shard one Scan segment of the events' stores, and the
 * finish re-sums the provider totals from the store counts. Every write goes under the run's fencing
 * token (`fencedWrites`).
 */
import { createHash } from 'node:crypto';
import type { Campaign } from '../rules/campaign.ts';
import { periodWindow } from '../rules/campaign.ts';
import { bindingIntervals, depositBalanceAtClose, intervalsFor, orderCounts, type BindingEvent, type DepositEntry } from '../rules/rules.ts';
import { localDate, localMidnightUtc, toUtcIso, addDays } from '../rules/time.ts';
import type { CachedBinding, FencedWrite, FencingToken, ProviderTotals, StoreCounts, StoreDaily } from '../store/aggregates.ts';
import { mapLimit } from '../limit.ts';
import type { Changes } from '../store/source.ts';
import { LockLostError } from './run-lock.ts';
import type { AggregateContext, AggregateDeps, AggregateOptions, AggregateShard, AggregateShardResult, ShardDeps } from './aggregate.ts';

const DAY_BATCH_LIMIT = 8; // past this many days of one store, one Query of its whole season is cheaper

/** The bucket of a store among `buckets`: a hash of its id, so every step agrees without a list. */
export function storeBucket(storeId: string, buckets: number): number {
  return createHash('sha256').update(storeId).digest().readUInt32BE(0) % buckets;
}

/** A run's writes: each under its fencing token, each a LockLostError once a newer run has written. */
export interface Writes {
  totals(totals: ProviderTotals[]): Promise<void>;
  storeCounts(stores: Map<string, StoreCounts>, computedAt: string): Promise<void>;
}

export function fencedWrites(c: Campaign, deps: AggregateDeps, fence: FencingToken, check: () => void): Writes {
  const held = (w: FencedWrite, what: string) => {
    if (w.ok) return;
    const named = `${w.refused.slice(0, 3).join(', ')}${w.refused.length > 3 ? ` and ${w.refused.length - 3} more` : ''}`;
    throw new LockLostError(
      `a newer aggregation of ${c.campaignId} took the lock while this run (fencing token ${fence}) stalled past its lease, and wrote first: ` +
        `this run's ${what} of ${named} were refused and the newer run's stand; it stopped without moving the watermark`,
    );
  };
  return {
    async totals(totals) {
      check();
      held(await deps.aggregates.putProviderTotals(c, totals, fence), 'provider totals');
    },
    async storeCounts(stores, computedAt) {
      check();
      held(await deps.aggregates.putStoreCounts(c.campaignId, stores, computedAt, fence), 'store counts');
    },
  };
}

/** The days of arrived orders in the season per store; all of a store's days when its bindings changed. */
export function workOf(c: Campaign, changes: Changes): Map<string, Set<string> | undefined> {
  const w = periodWindow(c);
  const work = new Map<string, Set<string> | undefined>();
  for (const o of changes.orders) {
    const ms = Date.parse(o.paidAt);
    if (ms < w.startMs || ms >= w.endMs) continue;
    if (work.has(o.storeId) && work.get(o.storeId) === undefined) continue;
    (work.get(o.storeId) ?? work.set(o.storeId, new Set()).get(o.storeId)!).add(localDate(ms, c.utcOffsetMinutes));
  }
  for (const s of changes.bindingStores) work.set(s, undefined);
  return work;
}

type Counted = Omit<AggregateShardResult, 'status' | 'shard'>;

/** An incremental shard: the stores of its bucket among those the change records name. */
export async function recountStores(c: Campaign, deps: ShardDeps, write: Writes, shard: Extract<AggregateShard, { kind: 'stores' }>, ctx: AggregateContext): Promise<Counted> {
  const w = periodWindow(c);
  const dayIndex = new Map(w.days.map((d, i) => [d, i]));
  const changes = await deps.source.changesBetween(ctx.from!, ctx.to);
  const work = new Map([...workOf(c, changes)].filter(([s]) => storeBucket(s, shard.buckets) === shard.bucket));
  const storeIds = [...work.keys()].sort();
  const before = await deps.aggregates.storeCounts(c.campaignId, storeIds);
  const toWrite = new Map<string, StoreCounts>();
  const touched = new Set<string>();
  const rebind = new Set<string>();
  let storeDaysWritten = 0;
  let ordersRead = 0;
  let done = 0;

  await mapLimit(storeIds, 8, async (storeId) => {
    const prev = before.get(storeId);
    const bindingsMoved = changes.bindingStores.has(storeId);
    // The store item keeps its bindings as last read; only a binding change (or no item) reads them again.
    const bindings: CachedBinding[] =
      bindingsMoved || !prev ? (await deps.source.bindingsOfStore(storeId)).map(({ providerId, kind, at }) => ({ providerId, kind, at })).sort(byBinding) : prev.bindings;
    const intervals = bindingIntervals(bindings.map((b) => ({ ...b, storeId, atMs: Date.parse(b.at) })));
    const providers = [...intervals.keys()].sort();
    const daySet = work.get(storeId);
    // Without an item the store's other days are unknown: recount its whole season.
    const wholeSeason = !prev || daySet === undefined || daySet.size > DAY_BATCH_LIMIT;
    let days = wholeSeason ? [...w.days] : [...daySet].sort();
    // Days close together are read with one Query over their span (recounting the days between, which
    // changes nothing): new orders mostly share a few days, and a request costs more than an item.
    const first = dayIndex.get(days[0]!)!;
    const last = dayIndex.get(days.at(-1)!)!;
    const span = !wholeSeason && days.length > 1 && last - first + 1 <= 2 * days.length;
    if (span) days = w.days.slice(first, last + 1);
    const daily: StoreDaily = {};
    for (const p of providers) daily[p] = wholeSeason ? new Array<number>(w.days.length).fill(0) : (prev.daily[p]?.slice() ?? new Array<number>(w.days.length).fill(0));
    for (const d of days) for (const p of providers) daily[p]![dayIndex.get(d)!] = 0;
    const ranges = wholeSeason
      ? [[w.startIso, w.endIso] as const]
      : span
        ? [[dayRange(days[0]!, c.utcOffsetMinutes)[0], dayRange(days.at(-1)!, c.utcOffsetMinutes)[1]] as const]
        : days.map((d) => dayRange(d, c.utcOffsetMinutes));
    for (const [fromIso, toIso] of ranges) {
      const orders = await deps.source.ordersOfStore(storeId, fromIso, toIso);
      ordersRead += orders.length;
      for (const o of orders) {
        const paid = { paidAtMs: Date.parse(o.paidAt), gift: o.gift };
        for (const p of providers) {
          if (orderCounts(c, paid, intervalsFor(intervals, p, storeId))) daily[p]![dayIndex.get(localDate(paid.paidAtMs, c.utcOffsetMinutes))!]!++;
        }
      }
    }
    // Which days changed, and for whom: every provider on either side of a changed day.
    const old = prev?.daily ?? {};
    const everyone = [...new Set([...Object.keys(old), ...providers])];
    let changedDays = 0;
    for (let i = 0; i < w.days.length; i++) {
      const moved = everyone.filter((p) => (old[p]?.[i] ?? 0) !== (daily[p]?.[i] ?? 0));
      if (!moved.length) continue;
      changedDays++;
      for (const p of moved) touched.add(p);
    }
    // A binding change can move which stores a provider has without moving a count; a store without
    // an item may be missing from its providers' totals.
    if (bindingsMoved || !prev) {
      for (const p of providers) {
        touched.add(p);
        rebind.add(p);
      }
    }
    // Counts a run wrote that never reached the totals (it died before its finish): sum them again.
    if (prev && (prev.fence ?? 0) > ctx.doneFence) for (const p of everyone) touched.add(p);
    storeDaysWritten += changedDays;
    const next = { daily, bindings };
    if (!prev || changedDays || JSON.stringify(prev.bindings) !== JSON.stringify(bindings)) toWrite.set(storeId, next);
    deps.progress?.(++done, storeIds.length, 'stores');
  });

  await write.storeCounts(toWrite, ctx.to);
  return { counted: { ordersRead, storesRecounted: storeIds.length, storeDaysWritten }, touched: [...touched].sort(), rebind: [...rebind].sort() };
}

/**
 * Re-sums each provider that moved over all its stores. Its stores and deposit balance come from its
 * totals item unless its deposits or bindings changed or it has none yet (then one Query of its
 * events); its stores' counts from BatchGetItem (the shards have written them).
 */
export async function resumMoved(c: Campaign, deps: AggregateDeps, write: Writes, results: readonly AggregateShardResult[], ctx: AggregateContext): Promise<number> {
  const changes = await deps.source.changesBetween(ctx.from!, ctx.to);
  const providers = [...new Set([...results.flatMap((r) => r.touched), ...changes.depositProviders])].sort();
  if (!providers.length) return 0;
  const fresh = new Set([...results.flatMap((r) => r.rebind), ...changes.depositProviders]);
  const cached = new Map((await deps.aggregates.providerTotalsOf(c, providers)).map((t) => [t.providerId, t]));
  const facts = await mapLimit(providers, 8, async (providerId) => {
    const old = cached.get(providerId);
    if (old && !fresh.has(providerId)) return { providerId, stores: old.stores, depositBalanceFen: old.depositBalanceFen };
    const ev = await deps.source.providerEvents(providerId);
    return {
      providerId,
      stores: [...new Set(ev.bindings.map((b) => b.storeId))].sort(),
      depositBalanceFen: depositBalanceAtClose(
        c,
        ev.deposits.map((d) => ({ kind: d.kind, amountFen: d.amountFen, atMs: Date.parse(d.at) })),
      ),
    };
  });
  const counts = await deps.aggregates.storeCounts(c.campaignId, [...new Set(facts.flatMap((f) => f.stores))]);
  const totals = facts.map((f) => ({ ...f, ...sumOver(c, f.providerId, f.stores, counts), computedAt: ctx.to }));
  await write.totals(totals);
  return totals.length;
}

/**
 * A full recount's shard: one Scan segment of the events, whose bindings name its stores (a store's
 * bindings share its partition key); each store's season of orders is read from the byStore index.
 * Orders of stores never bound are never read: they count for no one.
 */
export async function recountSegment(
  c: Campaign,
  deps: ShardDeps,
  write: Writes,
  shard: Extract<AggregateShard, { kind: 'segment' }>,
  ctx: AggregateContext,
  opts: AggregateOptions,
): Promise<Counted> {
  const w = periodWindow(c);
  const dayIndex = new Map(w.days.map((d, i) => [d, i]));
  const bindingsOf = new Map<string, CachedBinding[]>();
  for await (const page of deps.source.eventPages(shard.segment, shard.segments)) {
    for (const b of page.bindings) (bindingsOf.get(b.storeId) ?? bindingsOf.set(b.storeId, []).get(b.storeId)!).push({ providerId: b.providerId, kind: b.kind, at: b.at });
  }
  const stores = [...bindingsOf.keys()].sort();
  let ordersRead = 0;
  let storeDaysWritten = 0;
  for (let i = 0; i < stores.length; i += 100) {
    const chunk = stores.slice(i, i + 100);
    const before = await deps.aggregates.storeCounts(c.campaignId, chunk);
    const toWrite = new Map<string, StoreCounts>();
    await mapLimit(chunk, 8, async (storeId) => {
      const bindings = bindingsOf.get(storeId)!.sort(byBinding);
      const intervals = bindingIntervals(bindings.map((b) => ({ ...b, storeId, atMs: Date.parse(b.at) })));
      const providers = [...intervals.keys()].sort();
      const daily: StoreDaily = Object.fromEntries(providers.map((p) => [p, new Array<number>(w.days.length).fill(0)]));
      const orders = await deps.source.ordersOfStore(storeId, w.startIso, w.endIso);
      ordersRead += orders.length;
      for (const o of orders) {
        const paid = { paidAtMs: Date.parse(o.paidAt), gift: o.gift };
        for (const p of providers) if (orderCounts(c, paid, intervalsFor(intervals, p, storeId))) daily[p]![dayIndex.get(localDate(paid.paidAtMs, c.utcOffsetMinutes))!]!++;
      }
      opts.onOrderPage?.(ordersRead);
      const prev = before.get(storeId);
      const changed = changedDays(prev?.daily ?? {}, daily);
      storeDaysWritten += changed;
      if (!prev || changed || JSON.stringify(prev.bindings) !== JSON.stringify(bindings)) toWrite.set(storeId, { daily, bindings });
    });
    await write.storeCounts(toWrite, ctx.to);
    deps.progress?.(Math.min(i + 100, stores.length), stores.length, 'stores');
  }
  return { counted: { ordersRead, storesRecounted: stores.length, storeDaysWritten }, touched: [], rebind: [] };
}

/**
 * A full recount's totals: every provider with a binding or a deposit, from the events (they grow
 * with stores and providers, never with orders), summed over the counts the shards wrote.
 */
export async function resumAll(c: Campaign, deps: AggregateDeps, write: Writes, computedAt: string): Promise<number> {
  const bindingEvents: BindingEvent[] = [];
  const depositsOf = new Map<string, DepositEntry[]>();
  for await (const page of deps.source.eventPages()) {
    for (const b of page.bindings) bindingEvents.push({ ...b, atMs: Date.parse(b.at) });
    for (const d of page.deposits) (depositsOf.get(d.providerId) ?? depositsOf.set(d.providerId, []).get(d.providerId)!).push({ kind: d.kind, amountFen: d.amountFen, atMs: Date.parse(d.at) });
  }
  const intervals = bindingIntervals(bindingEvents);
  const providers = [...new Set([...intervals.keys(), ...depositsOf.keys()])].sort();
  const counts = await deps.aggregates.storeCounts(c.campaignId, [...new Set(bindingEvents.map((b) => b.storeId))]);
  const totals = providers.map((providerId) => {
    const stores = [...(intervals.get(providerId)?.keys() ?? [])].sort();
    return { providerId, stores, depositBalanceFen: depositBalanceAtClose(c, depositsOf.get(providerId) ?? []), ...sumOver(c, providerId, stores, counts), computedAt };
  });
  await write.totals(totals);
  return totals.length;
}

function sumOver(c: Campaign, providerId: string, stores: string[], counts: Map<string, StoreCounts>): { paidOrders: number; byDay: Record<string, number> } {
  const days = periodWindow(c).days;
  const byDay: Record<string, number> = {};
  let paidOrders = 0;
  for (const s of stores) {
    const row = counts.get(s)?.daily[providerId];
    if (!row) continue;
    row.forEach((n, i) => {
      if (!n) return;
      byDay[days[i]!] = (byDay[days[i]!] ?? 0) + n;
      paidOrders += n;
    });
  }
  return { paidOrders, byDay: sortKeys(byDay) };
}

/** Days on which any provider's count differs between two store items. */
function changedDays(a: StoreDaily, b: StoreDaily): number {
  const providers = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const len = Math.max(0, ...providers.map((p) => Math.max(a[p]?.length ?? 0, b[p]?.length ?? 0)));
  let n = 0;
  for (let i = 0; i < len; i++) if (providers.some((p) => (a[p]?.[i] ?? 0) !== (b[p]?.[i] ?? 0))) n++;
  return n;
}

const byBinding = (x: CachedBinding, y: CachedBinding) => `${x.providerId}#${x.at}#${x.kind}`.localeCompare(`${y.providerId}#${y.at}#${y.kind}`);

/** The UTC instants bounding one CST calendar day. */
function dayRange(day: string, offsetMinutes: number): readonly [string, string] {
  return [toUtcIso(localMidnightUtc(day, offsetMinutes)), toUtcIso(localMidnightUtc(addDays(day, 1), offsetMinutes))];
}

const sortKeys = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
