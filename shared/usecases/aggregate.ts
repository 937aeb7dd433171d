import { randomUUID } from 'node:crypto';
import { FANOUT } from '../config.ts';
import type { Campaign } from '../rules/campaign.ts';
import { toUtcIso } from '../rules/time.ts';
import { uses, type Needs } from '../store/access.ts';
import { AGGREGATES_ACCESS, type FencingToken, type LockHolder } from '../store/aggregates.ts';
import { CHANGE_RETENTION_DAYS } from '../store/changes.ts';
import { mapLimit } from '../limit.ts';
import { SOURCE_ACCESS } from '../store/source.ts';
import { heldRunLock, LockLostError, RUN_LOCK_AGGREGATES, type RunLock, type RunLockOptions } from './run-lock.ts';
import { RUN_LOCK_LEASE_MS } from '../leases.ts';
import { figuresOfResults, groupPlan, recordShardFigures, runGroups, storedFigures, type AggregateGroupPlan } from './recount-groups.ts';
import { fencedWrites, recountSegment, recountStores, resumAll, resumMoved, workOf } from './aggregate-recount.ts';

export { storeBucket } from './aggregate-recount.ts';

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
export const AGGREGATE_SOURCE = uses(SOURCE_ACCESS, ['changesBetween', 'orderSample', 'eventPages', 'ordersOfStore', 'bindingsOfStore', 'providerEvents']);
export const AGGREGATE_AGGREGATES = uses(AGGREGATES_ACCESS, [
  ...RUN_LOCK_AGGREGATES.methods,
  'storeCounts',
  'putStoreCounts',
  'providerTotalsOf',
  'putProviderTotals',
  'putShardFigures',
  'shardFigures',
]);
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
  /** Called after each store's orders a full recount reads (the bench samples the heap here). */
  onOrderPage?: (ordersSeen: number) => void;
  /** Orders per counting shard (default FANOUT.ordersShardSize). */
  ordersShardSize?: number;
  /** Shards run at once in-process (default 4). */
  concurrency?: number;
  /** In-process: told each shard's time as it completes (the scale run's longest shard). */
  onShard?: (ms: number) => void;
  /** A full recount of more shards than this is planned as groups (default FANOUT.inlineShardLimit; shared/usecases/recount-groups.ts). */
  inlineShardLimit?: number;
  /** Shard indices per group, at most 1,000 (default FANOUT.shardGroupSize). */
  shardGroupSize?: number;
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
      /** Counting shards the run was cut into (shared/usecases/fanout.ts). */
      shards: number;
      /** The most orders any one step of the run read (plan's sample, one shard). */
      maxOrdersPerInvocation: number;
    }
  | { status: 'busy'; holder: LockHolder | undefined };

/** A counting shard: a hash bucket of the stores that changed, or (full recount) one Scan segment of the events, whose bindings name its stores. */
export type AggregateShard = { kind: 'stores'; bucket: number; buckets: number } | { kind: 'segment'; segment: number; segments: number };

/** What plan hands every step: small, whatever the run covers. */
export interface AggregateContext {
  mode: 'full' | 'incremental';
  from: string | null;
  to: string;
  /** The watermark the lock was taken with. */
  watermark: string | null;
  startedAt: string;
  /** The token of the last run that got through: store counts written under a newer one were never summed. */
  doneFence: FencingToken;
  /** Incremental: the orders the change records name. */
  ordersSeen: number;
  /** Orders plan read (the full recount's sample). */
  ordersRead: number;
  /** A grouped full recount (recount-groups.ts): its shards record their figures in the store, and finish expects this many. */
  groupedSegments?: number;
}

export type AggregatePlan =
  { status: 'planned'; runId: string; fence: FencingToken; campaignId: string; shards: { shard: AggregateShard }[]; context: AggregateContext } | { status: 'busy'; holder: LockHolder | undefined };

export interface AggregateShardResult {
  status: 'done';
  shard: AggregateShard;
  counted: { ordersRead: number; storesRecounted: number; storeDaysWritten: number };
  /** Providers whose counts moved (incremental); `rebind`: of them, those whose stores may have changed. */
  touched: string[];
  rebind: string[];
}

/** The run's steps, as deps see them; the whole job is plan → shards → finish (runAggregation). */
export async function aggregate(c: Campaign, deps: AggregateDeps, opts: AggregateOptions = {}): Promise<AggregateResult> {
  const leaseMs = opts.leaseMs ?? RUN_LOCK_LEASE_MS;
  const plan = await planAggregation(c, deps, opts, leaseMs);
  if (plan.status === 'busy') return plan;
  const lock = heldRunLock(
    deps.aggregates,
    c.campaignId,
    { owner: plan.runId, fence: plan.fence, through: plan.context.watermark ?? undefined, doneFence: plan.context.doneFence },
    { now: deps.now, leaseMs, ...(deps.every ? { every: deps.every } : {}) },
  );
  let results: AggregateShardResult[] | undefined;
  try {
    let done = 0;
    const runShard = async (shard: AggregateShard) => {
      const t0 = performance.now();
      const r = await aggregateShard(c, { ...deps, check: () => lock.check() }, { fence: plan.fence, shard, context: plan.context }, opts);
      opts.onShard?.(performance.now() - t0);
      return r;
    };
    if ('groups' in plan) await runGroups(plan, opts.concurrency ?? 4, runShard, (n, total) => deps.progress?.(n, total, 'shards'));
    else
      results = await mapLimit(plan.shards, opts.concurrency ?? 4, async ({ shard }) => {
        const r = await runShard(shard);
        if (plan.shards.length > 1) deps.progress?.(++done, plan.shards.length, 'shards');
        return r;
      });
  } catch (failed) {
    // Nothing a shard started is still in flight here (mapLimit settles before it rejects).
    const kept = await lock.release();
    if (kept || failed instanceof LockLostError) throw failed;
    throw new LockLostError(
      `the aggregation lock of ${c.campaignId} was taken over while this run (fencing token ${lock.fence}) stalled and failed: it stopped without moving the watermark; the next run counts again from there`,
      { cause: failed },
    );
  }
  return finishAggregation(c, deps, { fence: plan.fence, results, context: plan.context }, lock);
}

/**
 * Plan: takes the campaign's run lock with a new fencing token (a lease of `leaseMs`), decides what the
 * run covers and cuts it into counting shards of about `ordersShardSize` orders each. A plan that fails
 * gives the lock back.
 */
export async function planAggregation(c: Campaign, deps: AggregateDeps, opts: AggregateOptions, leaseMs: number): Promise<AggregatePlan | AggregateGroupPlan> {
  const started = deps.now();
  const runId = randomUUID();
  const start = await deps.aggregates.begin(c.campaignId, runId, started, leaseMs, deps.holder);
  if (!start.acquired) return { status: 'busy', holder: await deps.aggregates.lockHolder(c.campaignId) };
  try {
    const watermark = start.through;
    const to = started.toISOString();
    // Change records expire: a watermark older than they are kept cannot be caught up from them.
    const stale = watermark !== undefined && started.getTime() - Date.parse(watermark) > (CHANGE_RETENTION_DAYS - 1) * 86_400_000;
    const full = opts.full === true || watermark === undefined || stale;
    const from = full ? null : toUtcIso(Date.parse(watermark) - (opts.overlapMs ?? 60_000));
    const size = opts.ordersShardSize ?? FANOUT.ordersShardSize;
    const context: AggregateContext = { mode: full ? 'full' : 'incremental', from, to, watermark: watermark ?? null, startedAt: to, doneFence: start.doneFence, ordersSeen: 0, ordersRead: 0 };
    let shards: AggregateShard[];
    if (full) {
      const sample = await estimateOrders(deps.source);
      context.ordersRead = sample.read;
      // Half again over the estimate: the sample's error and buckets of uneven stores.
      const segments = Math.max(1, Math.min(1_000_000, Math.ceil((sample.orders * 1.5) / size)));
      // Past the inline limit, groups of shard indices travel instead of one descriptor per shard.
      if (segments > (opts.inlineShardLimit ?? FANOUT.inlineShardLimit))
        return groupPlan({ runId, fence: start.fence, campaignId: c.campaignId, context }, segments, opts.shardGroupSize ?? FANOUT.shardGroupSize);
      shards = Array.from({ length: segments }, (_, segment) => ({ kind: 'segment', segment, segments }));
    } else {
      const changes = await deps.source.changesBetween(from!, to);
      const stores = workOf(c, changes).size;
      context.ordersSeen = changes.orders.length;
      const buckets = stores ? Math.min(stores, Math.max(1, Math.ceil((changes.orders.length * 1.5) / size))) : 0;
      shards = Array.from({ length: buckets }, (_, bucket) => ({ kind: 'stores', bucket, buckets }));
    }
    return { status: 'planned', runId, fence: start.fence, campaignId: c.campaignId, shards: shards.map((shard) => ({ shard })), context };
  } catch (err) {
    await deps.aggregates.finish(c.campaignId, runId);
    throw err;
  }
}

/**
 * How many orders the table holds, from a sample: Scan segments 0 and 1 of ever fewer segments,
 * until both hold 32 or more (they agree on the density), scaled up. It reads about a thousand
 * orders whatever the table holds (a table under 8,000 orders it counts whole).
 */
export async function estimateOrders(source: Needs<typeof AGGREGATE_SOURCE>): Promise<{ orders: number; read: number }> {
  let read = 0;
  for (const segments of [1 << 20, 1 << 16, 1 << 12, 1 << 8, 1 << 4]) {
    const [a, b] = await Promise.all([source.orderSample(0, segments), source.orderSample(1, segments)]);
    read += a + b;
    if (Math.min(a, b) >= 32) return { orders: Math.ceil(((a + b) / 2) * segments), read };
  }
  const all = await source.orderSample(0, 1);
  return { orders: all, read: read + all };
}

/** A shard's deps: the run's, and a check that the lock is still held before each write. */
export type ShardDeps = AggregateDeps & { check?: () => void };

/**
 * One counting shard: recounts its stores from their orders (the byStore index) and writes their
 * counts under the run's fencing token. A write refused (a newer run wrote first) stops it with
 * LockLostError. Counts are recomputed, never incremented: a retried shard writes the same.
 */
export async function aggregateShard(
  c: Campaign,
  deps: ShardDeps,
  step: { fence: FencingToken; shard: AggregateShard; context: AggregateContext },
  opts: AggregateOptions = {},
): Promise<AggregateShardResult> {
  const write = fencedWrites(c, deps, step.fence, deps.check ?? (() => {}));
  const counted = step.shard.kind === 'segment' ? await recountSegment(c, deps, write, step.shard, step.context, opts) : await recountStores(c, deps, write, step.shard, step.context);
  if (step.context.groupedSegments !== undefined) await recordShardFigures(deps.aggregates, c.campaignId, step, counted.counted, deps.now());
  return { status: 'done', shard: step.shard, ...counted };
}

/**
 * Finish: re-sums the providers whose counts moved (every provider after a full recount), writes their
 * totals under the fence, then moves the watermark and gives the lock back. A shard that failed for
 * good means no finish: the watermark stays, and the lease lets the next run in.
 */
export async function finishAggregation(
  c: Campaign,
  deps: AggregateDeps,
  step: { fence: FencingToken; results?: readonly AggregateShardResult[] | undefined; context: AggregateContext },
  lock: RunLock,
): Promise<AggregateResult> {
  const { context: ctx } = step;
  let outcome: { done: AggregateResult } | { failed: unknown };
  let through: string | undefined;
  try {
    const write = fencedWrites(c, deps, step.fence, () => lock.check());
    // A grouped run's figures are in the store (recount-groups.ts); an inline run's come with its results.
    const results = step.results ?? [];
    const figures = ctx.groupedSegments !== undefined ? await storedFigures(deps.aggregates, c.campaignId, step.fence, ctx.groupedSegments) : figuresOfResults(results);
    const providersUpdated = ctx.mode === 'full' ? await resumAll(c, deps, write, ctx.to) : await resumMoved(c, deps, write, results, ctx);
    lock.check(); // the watermark says "counted up to here": only while the lock is still ours
    through = ctx.to;
    const started = Date.parse(ctx.startedAt);
    const lagSeconds = ctx.watermark ? Math.max(0, Math.round((started - Date.parse(ctx.watermark)) / 1000)) : null;
    outcome = {
      done: {
        status: 'done',
        mode: ctx.mode,
        window: { from: ctx.from, to: ctx.to },
        lagSeconds,
        ordersSeen: ctx.mode === 'full' ? figures.ordersRead : ctx.ordersSeen,
        storesRecounted: figures.storesRecounted,
        storeDaysWritten: figures.storeDaysWritten,
        providersUpdated,
        fence: step.fence,
        shards: figures.shards,
        maxOrdersPerInvocation: Math.max(ctx.ordersRead, figures.maxOrdersRead),
      },
    };
  } catch (failed) {
    outcome = { failed };
  }
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
