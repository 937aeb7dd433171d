import { randomUUID } from 'node:crypto';
import type { Campaign } from '../rules/campaign.ts';
import { periodWindow } from '../rules/campaign.ts';
import { bindingIntervals, depositBalanceAtClose, intervalsFor, orderCounts, type BindingEvent, type DepositEntry } from '../rules/rules.ts';
import { localDate, localMidnightUtc, toUtcIso, addDays } from '../rules/time.ts';
import { uses, type Needs } from '../store/access.ts';
import { AGGREGATES_ACCESS, type CachedBinding, type FencedWrite, type FencingToken, type LockHolder, type ProviderTotals, type StoreCounts, type StoreDaily } from '../store/aggregates.ts';
import { CHANGE_RETENTION_DAYS } from '../store/changes.ts';
import { mapLimit } from '../limit.ts';
import { SOURCE_ACCESS, type Changes } from '../store/source.ts';
import { LockLostError, RUN_LOCK_AGGREGATES, takeRunLock, type RunLock, type RunLockOptions } from './run-lock.ts';
import { StoreDayTally } from './tally.ts';

/**
 * Order aggregation (RULES.md 2.2.1, 2.3): keeps, per provider, the season's counted paid orders
 * per CST day, plus the deposit balance at the close (2.2.2), so the evaluation reads one item per
 * provider instead of the orders.
 *
 * Incremental and idempotent: a run reads the change log since the watermark (with an overlap for
 * records that became visible late), recounts exactly the store-days those changes touch (a binding
 * change touches its store's whole season) from the stored orders, then re-sums the providers whose
 * counts moved. Counts are recomputed, never incremented, so a run repeated or overlapping gives the
 * same numbers; a lease lock, kept alive by a heartbeat while the run works, keeps two runs from
 * interleaving (run-lock.ts). The full recount (first run, `--full`) streams the orders page by page
 * and keeps store-day counts only.
 *
 * Fenced: every write carries the run's fencing token, and the store refuses one older than what the
 * item holds, so a run that stalled past its lease cannot undo a newer run's counts when it wakes.
 * At its first refused write (or a heartbeat, or a release, that finds the lock gone) the run stops
 * with LockLostError and leaves the watermark alone. A run that fails otherwise settles every write
 * it has in flight before it gives the lock back (shared/limit.ts), so none outlives its lock.
 *
 * Writes go in an order that a run dying midway cannot spoil: provider totals, then store counts,
 * then the watermark. A run that died leaves the watermark where it was, so the next run reads the
 * same changes again and finds the store counts that moved still different from what is stored.
 */

/** What the aggregation uses of each store: its function's IAM policy is derived from this. */
export const AGGREGATE_SOURCE = uses(SOURCE_ACCESS, ['changesBetween', 'orderPages', 'eventPages', 'ordersOfStore', 'bindingsOfStore', 'providerEvents']);
export const AGGREGATE_AGGREGATES = uses(AGGREGATES_ACCESS, [...RUN_LOCK_AGGREGATES.methods, 'storeCounts', 'putStoreCounts', 'providerTotalsOf', 'putProviderTotals']);
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
   * How far before the watermark a run re-reads: an intake batch stamps its change record just
   * before writing it, so the last run may have missed the newest.
   */
  overlapMs?: number;
  /** How long the lock holds if a run dies (default RUN_LOCK_LEASE_MS; a heartbeat renews it while the run works). */
  leaseMs?: number;
  /** Called after each page of orders a full recount reads (the bench samples the heap here). */
  onOrderPage?: (ordersSeen: number) => void;
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
      /** The run's fencing token (run-lock.ts): what it wrote carries it. */
      fence: FencingToken;
    }
  | { status: 'busy'; holder: LockHolder | undefined };

type Counted = { storesRecounted: number; storeDaysWritten: number; providersUpdated: number; ordersSeen: number };

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
  const watermark = lock.through;
  let through: string | undefined;
  let outcome: { done: AggregateResult } | { failed: unknown };
  try {
    const to = started.toISOString();
    // Change records expire: a watermark older than they are kept cannot be caught up from them.
    const stale = watermark !== undefined && started.getTime() - Date.parse(watermark) > (CHANGE_RETENTION_DAYS - 1) * 86_400_000;
    const full = opts.full === true || watermark === undefined || stale;
    const from = full ? null : toUtcIso(Date.parse(watermark!) - (opts.overlapMs ?? 60_000));
    const write = fencedWrites(c, deps, lock);
    const counted = full ? await fullRecount(c, deps, write, to, opts) : await incremental(c, deps, write, await deps.source.changesBetween(from!, to), to);
    lock.check(); // the watermark says "counted up to here": only while the lock is still ours
    through = to;
    const lagSeconds = watermark ? Math.max(0, Math.round((started.getTime() - Date.parse(watermark)) / 1000)) : null;
    outcome = { done: { status: 'done', mode: full ? 'full' : 'incremental', window: { from, to }, lagSeconds, ...counted, fence: lock.fence } };
  } catch (failed) {
    outcome = { failed };
  }
  // Moves the watermark only when the run got through; gives the lock back either way. Nothing the
  // run started is still in flight here: a failed write settled the others before it rejected.
  const kept = await lock.release(through);
  if ('failed' in outcome) {
    if (kept || outcome.failed instanceof LockLostError) throw outcome.failed;
    throw new LockLostError(
      `the aggregation lock of ${c.campaignId} was taken over while this run (fencing token ${lock.fence}) stalled and failed: it stopped without moving the watermark; the next run counts again from there`,
      { cause: outcome.failed },
    );
  }
  if (!kept)
    throw new LockLostError(
      `the aggregation lock of ${c.campaignId} was taken over before this run (fencing token ${lock.fence}) could move the watermark: it stopped there; the next run counts again from the old watermark`,
    );
  return outcome.done;
}

/** A run's writes: each under its fencing token, each a LockLostError once a newer run has written. */
interface Writes {
  totals(totals: ProviderTotals[]): Promise<void>;
  storeCounts(stores: Map<string, StoreCounts>, computedAt: string): Promise<void>;
}

function fencedWrites(c: Campaign, deps: AggregateDeps, lock: RunLock): Writes {
  const held = (w: FencedWrite, what: string) => {
    if (w.ok) return;
    const named = `${w.refused.slice(0, 3).join(', ')}${w.refused.length > 3 ? ` and ${w.refused.length - 3} more` : ''}`;
    throw new LockLostError(
      `a newer aggregation of ${c.campaignId} took the lock while this run (fencing token ${lock.fence}) stalled past its lease, and wrote first: ` +
        `this run's ${what} of ${named} were refused and the newer run's stand; it stopped without moving the watermark`,
    );
  };
  return {
    async totals(totals) {
      lock.check();
      held(await deps.aggregates.putProviderTotals(c, totals, lock.fence), 'provider totals');
    },
    async storeCounts(stores, computedAt) {
      lock.check();
      held(await deps.aggregates.putStoreCounts(c.campaignId, stores, computedAt, lock.fence), 'store counts');
    },
  };
}

/** The days of arrived orders in the season per store; all of a store's days when its bindings changed. */
function workOf(c: Campaign, changes: Changes): Map<string, Set<string> | undefined> {
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

async function incremental(c: Campaign, deps: AggregateDeps, write: Writes, changes: Changes, computedAt: string): Promise<Counted> {
  const w = periodWindow(c);
  const dayIndex = new Map(w.days.map((d, i) => [d, i]));
  const work = workOf(c, changes);
  const storeIds = [...work.keys()].sort();
  const before = await deps.aggregates.storeCounts(c.campaignId, storeIds);
  const current = new Map<string, StoreCounts>(before); // what each store's counts are after this run
  const toWrite = new Map<string, StoreCounts>();
  const touched = new Set<string>(changes.depositProviders);
  const boundNow = new Map<string, Set<string>>(); // provider → recounted stores bound to it
  let storeDaysWritten = 0;
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
    for (const p of providers) daily[p] = wholeSeason ? new Array<number>(w.days.length).fill(0) : (prev!.daily[p]?.slice() ?? new Array<number>(w.days.length).fill(0));
    for (const d of days) for (const p of providers) daily[p]![dayIndex.get(d)!] = 0;
    const ranges = wholeSeason
      ? [[w.startIso, w.endIso] as const]
      : span
        ? [[dayRange(days[0]!, c.utcOffsetMinutes)[0], dayRange(days.at(-1)!, c.utcOffsetMinutes)[1]] as const]
        : days.map((d) => dayRange(d, c.utcOffsetMinutes));
    for (const [fromIso, toIso] of ranges) {
      for (const o of await deps.source.ordersOfStore(storeId, fromIso, toIso)) {
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
    // A binding change can move which stores a provider has without moving a count.
    if (bindingsMoved) for (const p of providers) touched.add(p);
    for (const p of providers) (boundNow.get(p) ?? boundNow.set(p, new Set()).get(p)!).add(storeId);
    storeDaysWritten += changedDays;
    const next = { daily, bindings };
    current.set(storeId, next);
    if (!prev || changedDays || JSON.stringify(prev.bindings) !== JSON.stringify(bindings)) toWrite.set(storeId, next);
    deps.progress?.(++done, storeIds.length, 'stores');
  });

  const totals = await resum(c, deps, [...touched].sort(), current, boundNow, changes.depositProviders, computedAt);
  // Totals first: if the run dies before the store counts, the next run still finds them changed.
  await write.totals(totals);
  await write.storeCounts(toWrite, computedAt);
  return { ordersSeen: changes.orders.length, storesRecounted: storeIds.length, storeDaysWritten, providersUpdated: totals.length };
}

/**
 * Re-sums each provider over all its stores. Its stores and deposit balance come from its totals
 * item unless its deposits changed or it has none yet (then one Query of its events); the counts of
 * stores this run did not recount come from one BatchGetItem.
 */
async function resum(
  c: Campaign,
  deps: AggregateDeps,
  providers: string[],
  current: Map<string, StoreCounts>,
  boundNow: Map<string, Set<string>>,
  depositMoved: Set<string>,
  computedAt: string,
): Promise<ProviderTotals[]> {
  if (!providers.length) return [];
  const cached = new Map((await deps.aggregates.providerTotalsOf(c, providers)).map((t) => [t.providerId, t]));
  const facts = await mapLimit(providers, 8, async (providerId) => {
    const old = cached.get(providerId);
    if (old && !depositMoved.has(providerId)) {
      return { providerId, stores: [...new Set([...old.stores, ...(boundNow.get(providerId) ?? [])])].sort(), depositBalanceFen: old.depositBalanceFen };
    }
    const ev = await deps.source.providerEvents(providerId);
    return {
      providerId,
      stores: [...new Set([...ev.bindings.map((b) => b.storeId), ...(boundNow.get(providerId) ?? [])])].sort(),
      depositBalanceFen: depositBalanceAtClose(
        c,
        ev.deposits.map((d) => ({ kind: d.kind, amountFen: d.amountFen, atMs: Date.parse(d.at) })),
      ),
    };
  });
  const missing = [...new Set(facts.flatMap((f) => f.stores))].filter((s) => !current.has(s));
  for (const [s, counts] of await deps.aggregates.storeCounts(c.campaignId, missing)) current.set(s, counts);
  return facts.map((f) => ({ ...f, ...sumOver(c, f.providerId, f.stores, current), computedAt }));
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

/**
 * The full recount: the binding and deposit events first (they grow with stores and providers),
 * then every order streamed page by page into store-day counts, then what changed is written.
 */
async function fullRecount(c: Campaign, deps: AggregateDeps, write: Writes, computedAt: string, opts: AggregateOptions): Promise<Counted> {
  const bindingEvents: BindingEvent[] = [];
  const bindingsOf = new Map<string, CachedBinding[]>();
  const depositsOf = new Map<string, DepositEntry[]>();
  for await (const page of deps.source.eventPages()) {
    for (const b of page.bindings) {
      bindingEvents.push({ ...b, atMs: Date.parse(b.at) });
      (bindingsOf.get(b.storeId) ?? bindingsOf.set(b.storeId, []).get(b.storeId)!).push({ providerId: b.providerId, kind: b.kind, at: b.at });
    }
    for (const d of page.deposits) (depositsOf.get(d.providerId) ?? depositsOf.set(d.providerId, []).get(d.providerId)!).push({ kind: d.kind, amountFen: d.amountFen, atMs: Date.parse(d.at) });
  }
  const intervals = bindingIntervals(bindingEvents);
  const tally = new StoreDayTally(c, intervals);
  await tally.consume(deps.source.orderPages(), opts.onOrderPage);

  // Provider totals first (see the note at the top), from the tally's counts.
  const counts = new Map<string, StoreCounts>(tally.stores().map((s) => [s, { daily: tally.daily(s), bindings: (bindingsOf.get(s) ?? []).sort(byBinding) }]));
  const providers = [...new Set([...intervals.keys(), ...depositsOf.keys()])].sort();
  const totals = providers.map((providerId) => ({
    providerId,
    stores: [...(intervals.get(providerId)?.keys() ?? [])].sort(),
    depositBalanceFen: depositBalanceAtClose(c, depositsOf.get(providerId) ?? []),
    ...sumOver(c, providerId, [...(intervals.get(providerId)?.keys() ?? [])], counts),
    computedAt,
  }));
  await write.totals(totals);

  // Store counts, 100 stores at a time: what is stored is read back and only what moved is written.
  const stores = tally.stores().sort();
  let storeDaysWritten = 0;
  for (let i = 0; i < stores.length; i += 100) {
    const chunk = stores.slice(i, i + 100);
    const before = await deps.aggregates.storeCounts(c.campaignId, chunk);
    const toWrite = new Map<string, StoreCounts>();
    for (const s of chunk) {
      const next = counts.get(s)!;
      const prev = before.get(s);
      const changed = changedDays(prev?.daily ?? {}, next.daily);
      storeDaysWritten += changed;
      if (!prev || changed || JSON.stringify(prev.bindings) !== JSON.stringify(next.bindings)) toWrite.set(s, next);
    }
    await write.storeCounts(toWrite, computedAt);
    deps.progress?.(Math.min(i + 100, stores.length), stores.length, 'stores');
  }
  const storesRecounted = new Set([...tally.storesSeen, ...stores]).size;
  return { ordersSeen: tally.ordersSeen, storesRecounted, storeDaysWritten, providersUpdated: totals.length };
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
