import { RenewalError } from '../errors.ts';
import { mapLimit } from '../limit.ts';
import type { AggregateStore, FencingToken, ShardFigures } from '../store/aggregates.ts';
import type { AggregateContext, AggregateShard, AggregateShardResult } from './aggregate.ts';

/**
 * A full recount too large for one execution's inline Map, planned as groups of shard indices.
 *
 * An inline plan carries one descriptor per shard and finish receives every shard's result: fine for
 * hundreds of shards, not for Douyin's 81,900 (about 4 MB of descriptors against Step Functions'
 * 256 KiB state payload, and some 7 history events per shard against one execution's 25,000). So a
 * full recount of more than `FANOUT.inlineShardLimit` shards is planned as `groups` of at most
 * `FANOUT.shardGroupSize` indices (1,000: what `States.ArrayRange` makes at most), a few bytes each.
 * The state machine runs each group as a child execution of a distributed Map (cdk/fanout.ts), which
 * builds the descriptors from the indices; in-process, `runGroups` does the same.
 *
 * No result array grows with the shards: each grouped shard records its figures in the aggregates
 * table, one item per shard index under its run's fencing token (`putShardFigures`, a conditional
 * put: a retried shard keeps the first complete record), and finish sums them with one Query.
 */

/** Shard indices `from` to `to`, both included (as `States.ArrayRange(from, to, 1)` makes them). */
export interface ShardGroup {
  from: number;
  to: number;
}

/** A grouped full recount's plan: what the state payload holds instead of one descriptor per shard. */
export interface AggregateGroupPlan {
  status: 'planned';
  runId: string;
  fence: FencingToken;
  campaignId: string;
  mode: 'groups';
  /** Every shard is `{"kind":"segment","segment":i,"segments":segments}`, i from 0 to segments - 1. */
  segments: number;
  groups: ShardGroup[];
  context: AggregateContext;
}

/** The most indices one group may hold: `States.ArrayRange` makes at most 1,000 items. */
export const MAX_GROUP_SIZE = 1_000;

/** `segments` shard indices cut into groups of at most `size`. */
export function shardGroups(segments: number, size: number): ShardGroup[] {
  if (!Number.isInteger(size) || size < 1 || size > MAX_GROUP_SIZE)
    throw new RangeError(`shardGroupSize ${size}: must be an integer from 1 to ${MAX_GROUP_SIZE} (States.ArrayRange makes at most ${MAX_GROUP_SIZE} items)`);
  const groups: ShardGroup[] = [];
  for (let from = 0; from < segments; from += size) groups.push({ from, to: Math.min(segments, from + size) - 1 });
  return groups;
}

/** The plan of a full recount of `segments` shards as groups, with the context marked so its shards record their figures. */
export function groupPlan(base: { runId: string; fence: FencingToken; campaignId: string; context: AggregateContext }, segments: number, size: number): AggregateGroupPlan {
  return {
    status: 'planned',
    runId: base.runId,
    fence: base.fence,
    campaignId: base.campaignId,
    mode: 'groups',
    segments,
    groups: shardGroups(segments, size),
    context: { ...base.context, groupedSegments: segments },
  };
}

/**
 * In-process: every group's shards, `concurrency` at a time (the state machine runs the same shards as
 * a distributed Map of groups). Nothing is kept of their answers: finish reads the figures from the store.
 */
export async function runGroups(plan: AggregateGroupPlan, concurrency: number, runShard: (shard: AggregateShard) => Promise<unknown>, progress?: (done: number, total: number) => void): Promise<void> {
  let done = 0;
  for (const g of plan.groups) {
    const indices = Array.from({ length: g.to - g.from + 1 }, (_, i) => g.from + i);
    await mapLimit(indices, concurrency, async (segment) => {
      await runShard({ kind: 'segment', segment, segments: plan.segments });
      progress?.(++done, plan.segments);
    });
  }
}

/** What finish adds up from the shards. */
export interface RunFigures extends ShardFigures {
  shards: number;
  /** The most orders one shard read. */
  maxOrdersRead: number;
}

/** A grouped shard's figures, recorded under its run's token (a retried shard's second record is dropped). */
export async function recordShardFigures(
  aggregates: Pick<AggregateStore, 'putShardFigures'>,
  campaignId: string,
  step: { fence: FencingToken; shard: AggregateShard },
  counted: ShardFigures,
  now: Date,
): Promise<void> {
  if (step.shard.kind !== 'segment') throw new RangeError(`a grouped run's shards are segments, not ${JSON.stringify(step.shard)}`);
  await aggregates.putShardFigures(campaignId, step.fence, step.shard.segment, counted, now);
}

/** The figures of an inline plan's shards, from their results. */
export function figuresOfResults(results: readonly AggregateShardResult[]): RunFigures {
  const sum = (k: keyof ShardFigures) => results.reduce((n, r) => n + r.counted[k], 0);
  return {
    ordersRead: sum('ordersRead'),
    storesRecounted: sum('storesRecounted'),
    storeDaysWritten: sum('storeDaysWritten'),
    shards: results.length,
    maxOrdersRead: Math.max(0, ...results.map((r) => r.counted.ordersRead)),
  };
}

/** A grouped run's finish found shards without figures: they never completed, so the run must not move the watermark. */
export class ShardsMissingError extends RenewalError {
  override name = 'ShardsMissingError';
}

/** The figures a grouped run's shards recorded; every one of its `segments` shards must have recorded. */
export async function storedFigures(aggregates: Pick<AggregateStore, 'shardFigures'>, campaignId: string, fence: FencingToken, segments: number): Promise<RunFigures> {
  const rows = await aggregates.shardFigures(campaignId, fence);
  if (rows.length !== segments) {
    const seen = new Set(rows.map((r) => r.segment));
    const missing = Array.from({ length: segments }, (_, i) => i).filter((i) => !seen.has(i));
    throw new ShardsMissingError(
      `the aggregation of ${campaignId} (fencing token ${fence}) has figures from ${rows.length} of its ${segments} shards; missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}: it stops without moving the watermark`,
    );
  }
  const sum = (k: keyof ShardFigures) => rows.reduce((n, r) => n + r[k], 0);
  return {
    ordersRead: sum('ordersRead'),
    storesRecounted: sum('storesRecounted'),
    storeDaysWritten: sum('storeDaysWritten'),
    shards: rows.length,
    maxOrdersRead: rows.reduce((m, r) => Math.max(m, r.ordersRead), 0),
  };
}
