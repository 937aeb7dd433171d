import type { Campaign } from '../rules/campaign.ts';
import { periodWindow } from '../rules/campaign.ts';
import { bindingIntervals, depositBalanceAtClose, intervalsFor, orderCounts } from '../rules/rules.ts';
import { localDate, localMidnightUtc, toUtcIso, addDays } from '../rules/time.ts';
import { uses, type Needs } from '../store/access.ts';
import { AGGREGATES_ACCESS, type DayCounts, type LockHolder, type ProviderTotals } from '../store/aggregates.ts';
import { mapLimit, SOURCE_ACCESS, type Changes } from '../store/source.ts';
import { RUN_LOCK_AGGREGATES, takeRunLock, type RunLockOptions } from './run-lock.ts';

/**
 * Order aggregation (RULES.md 2.2.1, 2.3): keeps, per provider, the season's counted paid orders
 * per CST day, plus the deposit balance at the close (2.2.2), so the evaluation reads one item per
 * provider instead of the orders.
 *
 * Incremental and idempotent: a run reads what was ingested since the watermark (with an overlap
 * for writes that became visible late), recounts exactly the store-days those events touch (a
 * binding change touches its store's whole season) from the stored orders, then re-sums the
 * providers of the stores it recounted. Counts are recomputed, never incremented, so a run repeated
 * or overlapping gives the same numbers; a lease lock, kept alive by a heartbeat while the run works,
 * keeps two runs from interleaving (run-lock.ts).
 */

/** What the aggregation uses of each store: its function's IAM policy is derived from this. */
export const AGGREGATE_SOURCE = uses(SOURCE_ACCESS, ['allChanges', 'changesBetween', 'ordersOfStore', 'bindingsOfStore', 'bindingsOfProvider', 'depositsOfProvider']);
export const AGGREGATE_AGGREGATES = uses(AGGREGATES_ACCESS, [...RUN_LOCK_AGGREGATES.methods, 'watermark', 'setWatermark', 'storeDays', 'putStoreDays', 'putProviderTotals']);
export const AGGREGATE_NEEDS = [AGGREGATE_SOURCE, AGGREGATE_AGGREGATES];

export interface AggregateDeps {
  source: Needs<typeof AGGREGATE_SOURCE>;
  aggregates: Needs<typeof AGGREGATE_AGGREGATES>;
  now: () => Date;
  progress?: (done: number, total: number, phase: string) => void;
  /** Who runs it, as a run that finds the lock busy is told. */
  holder?: string;
  /** The lock's heartbeat timer (tests drive it by hand). */
  every?: RunLockOptions['every'];
}

export interface AggregateOptions {
  /** Recount everything, not just what changed (also what the first run does). */
  full?: boolean;
  /**
   * How far before the watermark a run re-reads: an intake batch stamps its items before writing
   * them, and an index shows them a moment later, so the last run may have missed the newest.
   */
  overlapMs?: number;
  /** How long the lock holds if a run dies (default RUN_LOCK_LEASE_MS; a heartbeat renews it while the run works). */
  leaseMs?: number;
}

export type AggregateResult =
  | {
      status: 'done';
      mode: 'full' | 'incremental';
      window: { from: string | null; to: string };
      /** Seconds from the previous run's watermark to this run's start; null on the first run. */
      lagSeconds: number | null;
      ordersSeen: number;
      storesRecounted: number;
      storeDaysWritten: number;
      providersUpdated: number;
    }
  | { status: 'busy'; holder: LockHolder | undefined };

const DAY_BATCH_LIMIT = 8; // past this many days of one store, one Query of its whole season is cheaper

export async function aggregate(c: Campaign, deps: AggregateDeps, opts: AggregateOptions = {}): Promise<AggregateResult> {
  const started = deps.now();
  const taken = await takeRunLock(deps.aggregates, c.campaignId, {
    now: deps.now,
    ...(deps.holder ? { holder: deps.holder } : {}),
    ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}),
    ...(deps.every ? { every: deps.every } : {}),
  });
  if (!taken.ok) return { status: 'busy', holder: taken.holder };
  const { lock } = taken;
  try {
    const through = await deps.aggregates.watermark(c.campaignId);
    const full = opts.full || !through;
    const to = started.toISOString();
    const from = through ? toUtcIso(Date.parse(through) - (opts.overlapMs ?? 60_000)) : null;
    const changes = full ? await deps.source.allChanges() : await deps.source.changesBetween(from!, to);
    const result = await recount(c, deps, changes, to);
    lock.check(); // the watermark says "counted up to here": only while the lock is still ours
    await deps.aggregates.setWatermark(c.campaignId, to);
    const lagSeconds = through ? Math.max(0, Math.round((started.getTime() - Date.parse(through)) / 1000)) : null;
    return { status: 'done', mode: full ? 'full' : 'incremental', window: { from: full ? null : from, to }, lagSeconds, ordersSeen: changes.orders.length, ...result };
  } finally {
    await lock.release();
  }
}

async function recount(c: Campaign, deps: AggregateDeps, changes: Changes, computedAt: string) {
  const w = periodWindow(c);
  const offset = c.utcOffsetMinutes;
  // Which store-days to recount: the days of arrived orders in the season; all of a store's days
  // when its bindings changed (`undefined` = the whole season).
  const work = new Map<string, Set<string> | undefined>();
  for (const o of changes.orders) {
    const ms = Date.parse(o.paidAt);
    if (ms < w.startMs || ms >= w.endMs) continue;
    const days = work.get(o.storeId);
    if (work.has(o.storeId) && days === undefined) continue;
    (days ?? work.set(o.storeId, new Set()).get(o.storeId)!).add(localDate(ms, offset));
  }
  for (const s of changes.bindingStores) work.set(s, undefined);

  const recounted = new Map<string, Map<string, DayCounts>>(); // store → its current day counts (all days)
  const touchedProviders = new Set<string>(changes.depositProviders);
  let storeDaysWritten = 0;
  let done = 0;
  const stores = [...work.keys()].sort();
  await mapLimit(stores, 8, async (storeId) => {
    const daySet = work.get(storeId);
    const wholeSeason = daySet === undefined || daySet.size > DAY_BATCH_LIMIT;
    const days = wholeSeason ? [...w.days] : [...daySet!].sort();
    const [bindings, old] = await Promise.all([
      deps.source.bindingsOfStore(storeId),
      deps.aggregates.storeDays(c.campaignId, storeId, wholeSeason ? undefined : days),
    ]);
    const intervals = bindingIntervals(bindings.map((b) => ({ providerId: b.providerId, storeId, kind: b.kind, atMs: Date.parse(b.at) })));
    const providers = [...intervals.keys()];
    const fresh = new Map<string, DayCounts>(days.map((d) => [d, {}]));
    const ranges = wholeSeason ? [[w.startIso, w.endIso] as const] : days.map((d) => dayRange(d, offset));
    for (const [fromIso, toIso] of ranges) {
      for (const o of await deps.source.ordersOfStore(storeId, fromIso, toIso)) {
        const paid = { paidAtMs: Date.parse(o.paidAt), gift: o.gift };
        for (const p of providers) {
          if (!orderCounts(c, paid, intervalsFor(intervals, p, storeId))) continue;
          const counts = fresh.get(localDate(paid.paidAtMs, offset))!;
          counts[p] = (counts[p] ?? 0) + 1;
        }
      }
    }
    // Write only the days whose counts changed; note every provider on either side of a change.
    const changed = new Map<string, DayCounts>();
    for (const [day, counts] of fresh) {
      const before = old.get(day) ?? {};
      if (sameCounts(before, counts)) continue;
      changed.set(day, counts);
      for (const p of [...Object.keys(before), ...Object.keys(counts)]) touchedProviders.add(p);
    }
    if (changed.size) await deps.aggregates.putStoreDays(c.campaignId, storeId, changed, computedAt);
    storeDaysWritten += changed.size;
    if (wholeSeason) recounted.set(storeId, fresh);
    deps.progress?.(++done, stores.length, 'stores');
  });

  // Re-sum each touched provider over all its stores; deposits are re-read for the balance at the close.
  const providers = [...touchedProviders].sort();
  const totals: ProviderTotals[] = [];
  done = 0;
  await mapLimit(providers, 8, async (providerId) => {
    const [bindings, deposits] = await Promise.all([deps.source.bindingsOfProvider(providerId), deps.source.depositsOfProvider(providerId)]);
    const stores = [...new Set(bindings.map((b) => b.storeId))].sort();
    const byDay: Record<string, number> = {};
    for (const storeId of stores) {
      const days = recounted.get(storeId) ?? (await deps.aggregates.storeDays(c.campaignId, storeId));
      for (const [day, counts] of days) if (counts[providerId]) byDay[day] = (byDay[day] ?? 0) + counts[providerId]!;
    }
    const paidOrders = Object.values(byDay).reduce((a, b) => a + b, 0);
    const depositBalanceFen = depositBalanceAtClose(
      c,
      deposits.map((d) => ({ kind: d.kind, amountFen: d.amountFen, atMs: Date.parse(d.at) })),
    );
    totals.push({ providerId, paidOrders, byDay: sortKeys(byDay), depositBalanceFen, stores, computedAt });
    deps.progress?.(++done, providers.length, 'providers');
  });
  await deps.aggregates.putProviderTotals(c.campaignId, totals);
  return { storesRecounted: stores.length, storeDaysWritten, providersUpdated: totals.length };
}

/** The UTC instants bounding one CST calendar day. */
function dayRange(day: string, offsetMinutes: number): readonly [string, string] {
  return [toUtcIso(localMidnightUtc(day, offsetMinutes)), toUtcIso(localMidnightUtc(addDays(day, 1), offsetMinutes))];
}

function sameCounts(a: DayCounts, b: DayCounts): boolean {
  const ka = Object.keys(a).filter((k) => a[k]);
  const kb = Object.keys(b).filter((k) => b[k]);
  return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
}

const sortKeys = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
