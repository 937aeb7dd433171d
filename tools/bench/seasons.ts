/**
 * The bench's aggregation and evaluation goals, over seasons of 1x, 4x and 10x the orders with the same
 * providers: the evaluation's reads per provider stay flat, the full recount's heap stays flat and is
 * cut in shards, and a scheduled run's requests are counted. The seasons are loaded and aggregated
 * first (a full recount, its heap sampled page by page after a collection); then the final evaluations
 * alternate 1x, 10x, three rounds, each recording into a fresh decisions table, and the medians are
 * compared, so LevelDB's background work after the big load weighs on both sides alike.
 */
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '#shared/aws.ts';
import { FANOUT, localTableNames, type TableNames } from '#shared/config.ts';
import { stores } from '#shared/deps.ts';
import type { OrderPaid } from '#shared/events.ts';
import { periodWindow } from '#shared/rules/campaign.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { aggregate } from '#shared/usecases/aggregate.ts';
import { evaluate } from '#shared/usecases/evaluate.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { feedRecords, toRecords } from '#cli/import.ts';
import { ensureTables } from '#tools/local/tables.ts';
import { liveHeap } from './heap.ts';
import { meterDynamo, type DynamoMeter, type MeterSnapshot } from './meter.ts';
import { mb, median, operations, RATIO_ROUNDS, round, spread, type BenchRun } from './run.ts';
import { benchSeason, DAY_MS, eventLines, rawBatchWrite } from './workload.ts';

type DocumentClient = ReturnType<typeof createDocumentClient>;
type Recount = Extract<Awaited<ReturnType<typeof aggregate>>, { status: 'done' }>;

interface Season {
  scale: number;
  names: TableNames;
  secs: number[];
  reads: number[];
  heaps: number[];
  aggregation: { secs: number; meter: MeterSnapshot };
}

/** A scheduled aggregation run, counted on the wire. */
interface ScheduledRun {
  orders: number;
  requests: number;
  meter: MeterSnapshot;
  operations: Record<string, number>;
  ms: number;
}

/** The seasons of one bench run and the tables they made, shared by the steps below. */
interface Lab {
  run: BenchRun;
  raw: DynamoDBClient;
  baseOrders: number;
  /** The counting shard's size: the 1x season, so the 4x season's full recount is cut in shards. */
  ordersShardSize: number;
  seasons: Season[];
  extraTables: string[];
  recounts: Map<string, Recount>;
  /** The decision shard's size: a quarter of the providers, so the evaluation is cut in shards. */
  providersShardSize: number;
  /** The most providers one step of any evaluation read, and the shards of the last. */
  evaluationFanout: { maxProvidersPerInvocation: number; shards: number };
}

/** What the cost model bills of the aggregation and the evaluation. */
export interface SeasonWork {
  /** The orders of the 10x season, the one billed. */
  orders10: number;
  aggregation: { secs: number; meter: MeterSnapshot };
  /** `shards`: the decision shards of the last evaluation (each a state machine's Map iteration). */
  evaluation: { secs: number; meter: MeterSnapshot; shards: number };
  /** The scheduled run with ~10 new orders, and the 15-minute window at a million orders a season. */
  incrementalRun: ScheduledRun;
  windowRun: ScheduledRun;
}

/** A full recount's peak live heap above its start, sampled page by page after a collection. */
async function recountHeap(lab: Lab, names: TableNames, db: DocumentClient): Promise<number> {
  const base = liveHeap();
  let peak = 0;
  const c = lab.run.campaign;
  // One shard at a time: on AWS each shard is its own invocation, and that invocation's heap is what
  // must not grow with the orders. (In one process a recount holds at most `concurrency` shards, 4;
  // the 1x season has fewer shards than that and the 4x more, so with them in flight the ratio would
  // count shards in flight, not what a shard keeps.)
  const r = await aggregate(
    c,
    { ...stores(names, db), now: () => new Date() },
    { full: true, ordersShardSize: lab.ordersShardSize, concurrency: 1, onOrderPage: () => (peak = Math.max(peak, liveHeap() - base)) },
  );
  if (r.status !== 'done') throw new Error(`full recount: ${r.status}`);
  lab.recounts.set(names.orders, r);
  return peak;
}

/** Each season loaded with the plain BatchWriteItem, then counted by a timed, metered full recount. */
async function loadSeasons(lab: Lab): Promise<void> {
  const { run, baseOrders } = lab;
  for (const scale of [1, 4, 10]) {
    run.step(`season x${scale}: ${run.io.providers} providers, ${baseOrders * scale} orders; full recount`);
    const names = localTableNames(`bench-${run.tag}-eval${scale}`);
    await ensureTables(lab.raw, names);
    for (const part of benchSeason(run.campaign, run.io.providers, baseOrders * scale, `e${scale}`)) await rawBatchWrite(part.items, names[part.tables], run.concurrency, run.dynamo);
    const db = createDocumentClient(run.dynamo);
    const meter = meterDynamo(db, names);
    const t0 = performance.now();
    const heap = await recountHeap(lab, names, db);
    const secs = (performance.now() - t0) / 1000;
    lab.seasons.push({ scale, names, secs: [], reads: [], heaps: [heap], aggregation: { secs, meter: meter.snapshot() } });
    db.destroy();
  }
}

/**
 * The recount's heap at 1x and 4x, again in alternating rounds: the median of the rounds' ratios
 * judges the design (what a recount keeps), not when the collector happened to run.
 */
async function recountHeapRounds(lab: Lab): Promise<void> {
  for (let r = 2; r <= RATIO_ROUNDS; r++) {
    for (const season of lab.seasons.filter((x) => x.scale !== 10)) {
      lab.run.step(`full recount x${season.scale}, heap round ${r} of ${RATIO_ROUNDS}`);
      const db = createDocumentClient(lab.run.dynamo);
      season.heaps.push(await recountHeap(lab, season.names, db));
      db.destroy();
    }
  }
}

/**
 * The scheduled run with ~10 new orders (what the rehearsal invokes 8,700 times), counted on the
 * wire; then a 15-minute window at a million orders a season (115 orders).
 */
async function scheduledAggregations(lab: Lab): Promise<{ incrementalRun: ScheduledRun; windowRun: ScheduledRun }> {
  const { run } = lab;
  const c = run.campaign;
  const one = lab.seasons.find((x) => x.scale === 1)!;
  const ingest = makeIntake(new IngestStore(createDocumentClient(run.dynamo), one.names));
  const fresh = (n: number, salt: string) =>
    Array.from({ length: n }, (_, i): OrderPaid => ({
      type: 'order.paid',
      orderId: `${salt}-${i}`,
      storeId: `S${(i * 37) % (run.io.providers * 2)}`,
      paidAt: new Date(periodWindow(c).startMs + 40 * DAY_MS + i * 60_000).toISOString(),
      gift: false,
    }));
  const runs: ScheduledRun[] = [];
  for (const [n, salt] of [
    [10, 'inc10'],
    [115, 'inc115'],
  ] as const) {
    await feedRecords(ingest, toRecords(eventLines(fresh(n, salt)), salt), { concurrency: 4, quiet: true });
    const db = createDocumentClient(run.dynamo);
    const meter: DynamoMeter = meterDynamo(db, one.names);
    const t0 = performance.now();
    const r = await aggregate(c, { ...stores(one.names, db), now: () => new Date() }, { overlapMs: 0 });
    const ms = performance.now() - t0;
    if (r.status !== 'done' || r.ordersSeen !== n) throw new Error(`incremental run saw ${r.status === 'done' ? r.ordersSeen : r.status} of ${n} orders`);
    runs.push({ orders: n, requests: meter.requests, meter: meter.snapshot(), operations: { ...meter.operations }, ms });
    db.destroy();
  }
  return { incrementalRun: runs[0]!, windowRun: runs[1]! };
}

/** Three rounds of the final evaluation of the 1x and 10x seasons, each into a fresh decisions table. */
async function evaluationRounds(lab: Lab): Promise<Record<number, MeterSnapshot[]>> {
  const { run } = lab;
  const evalMeters: Record<number, MeterSnapshot[]> = {};
  for (let round = 1; round <= 3; round++) {
    for (const season of lab.seasons.filter((x) => x.scale !== 4)) {
      run.step(`evaluation x${season.scale}, round ${round}`);
      const names = { ...season.names, decisions: `${season.names.decisions}-r${round}` };
      lab.extraTables.push(names.decisions);
      await ensureTables(lab.raw, names);
      const db = createDocumentClient(run.dynamo);
      const meter = meterDynamo(db, names);
      const t1 = performance.now();
      const r = await evaluate(
        run.campaign,
        { ...stores(names, db), now: () => new Date(), overlapMs: 0 },
        { by: { kind: 'person', id: 'bench' }, thresholdOrders: 1 },
        { providersShardSize: lab.providersShardSize },
      );
      lab.evaluationFanout.maxProvidersPerInvocation = Math.max(lab.evaluationFanout.maxProvidersPerInvocation, r.maxProvidersPerInvocation);
      lab.evaluationFanout.shards = r.shards;
      season.secs.push((performance.now() - t1) / 1000);
      season.reads.push(meter.itemsRead / run.io.providers);
      (evalMeters[season.scale] ??= []).push(meter.snapshot());
      db.destroy();
      if (r.assessments.length !== run.io.providers || r.revisionsCreated !== run.io.providers) throw new Error(`evaluation decided ${r.revisionsCreated} of ${run.io.providers} providers`);
    }
  }
  return evalMeters;
}

/** `evaluation10xVs1x` (information), `evaluationReads10xVs1x`, `maxProvidersPerInvocation`, `providersShardSize`. */
function evaluationMetrics(lab: Lab, s1: Season, s10: Season): void {
  const { metrics, io } = lab.run;
  const { baseOrders } = lab;
  const evalRatio = median(s10.secs) / median(s1.secs);
  metrics.evaluation10xVs1x = {
    value: round(evalRatio),
    goal: 'report',
    ok: true,
    detail: `time, as information (evaluationReads10xVs1x is the goal): ${io.providers} providers, median of 3: ${median(s1.secs).toFixed(2)}s with ${baseOrders} orders, ${median(s10.secs).toFixed(2)}s with ${baseOrders * 10}`,
  };
  const readsRatio = median(s10.reads) / median(s1.reads);
  metrics.evaluationReads10xVs1x = {
    value: round(readsRatio),
    goal: '= 1.0',
    ok: readsRatio === 1,
    detail: `items read per provider: ${round(median(s1.reads))} with ${baseOrders} orders, ${round(median(s10.reads))} with ${baseOrders * 10} (plan: ids and current decisions; a shard: profile, totals, current decision)`,
  };
  // Counted, not timed: the most providers one step of an evaluation read, bounded by the decision shard's size, under the bench's providers.
  const { maxProvidersPerInvocation, shards } = lab.evaluationFanout;
  const size = lab.providersShardSize;
  metrics.maxProvidersPerInvocation = {
    value: maxProvidersPerInvocation,
    goal: `<= providersShardSize (${size})`,
    ok: maxProvidersPerInvocation <= size && size < io.providers,
    detail: `evaluation of ${io.providers} providers in ${shards} shards (id ranges of the providers index); the most any one step read`,
  };
  metrics.providersShardSize = {
    value: size,
    goal: `< ${io.providers} (the bench's providers)`,
    ok: size < io.providers,
    detail: `providers per decision shard in this run (deployed default ${FANOUT.providersShardSize})`,
  };
}

/** `fullAggregationHeap4xVs1x`, `maxOrdersPerInvocation`, `ordersShardSize`, `aggregationVsRawBatchWrite`, `requestsPerIncrementalRun`. */
function aggregationMetrics(lab: Lab, [s1, s4, s10]: [Season, Season, Season], incrementalRun: ScheduledRun, rawRate: number): void {
  const { metrics, io } = lab.run;
  const { baseOrders, ordersShardSize } = lab;
  const heapRatios = s1.heaps.map((h, i) => s4.heaps[i]! / h);
  const heapRatio = median(heapRatios);
  metrics.fullAggregationHeap4xVs1x = {
    value: round(heapRatio),
    goal: '<= 1.1',
    ok: heapRatio <= 1.1,
    detail: `peak live heap of the full recount above its start, median of ${heapRatios.length} rounds (spread ${spread(heapRatios)}): ${mb(median(s1.heaps))} with ${baseOrders} orders, ${mb(median(s4.heaps))} with ${baseOrders * 4} (${io.providers * 2} stores)`,
  };
  // Counted, not timed: the most orders one step of the 4x season's full recount read (plan's sample, a shard).
  const r4 = lab.recounts.get(s4.names.orders)!;
  metrics.maxOrdersPerInvocation = {
    value: r4.maxOrdersPerInvocation,
    goal: `<= ordersShardSize (${ordersShardSize})`,
    ok: r4.maxOrdersPerInvocation <= ordersShardSize && ordersShardSize < baseOrders * 4,
    detail: `full recount of ${baseOrders * 4} orders in ${r4.shards} shards (Scan segments of the events); the most any one step read`,
  };
  metrics.ordersShardSize = {
    value: ordersShardSize,
    goal: `< ${baseOrders * 4} (the 4x season)`,
    ok: ordersShardSize < baseOrders * 4,
    detail: `orders per counting shard in this run (deployed default ${FANOUT.ordersShardSize})`,
  };
  const aggRate = (baseOrders * 10) / s10.aggregation.secs;
  metrics.aggregationVsRawBatchWrite = {
    value: round(aggRate / rawRate),
    goal: 'report',
    ok: true,
    detail: `full recount ${aggRate.toFixed(0)} orders/s (${baseOrders * 10} orders in ${s10.aggregation.secs.toFixed(1)}s)`,
  };
  metrics.requestsPerIncrementalRun = {
    value: incrementalRun.requests,
    goal: 'report',
    ok: true,
    detail: `DynamoDB requests of a scheduled run that sees ${incrementalRun.orders} new orders in ${incrementalRun.orders} stores: ${operations(incrementalRun.operations)}`,
  };
}

/** The seasons' goals; `rawRate` is the plain BatchWriteItem's items per second, the recount's baseline. */
export async function measureSeasons(run: BenchRun, rawRate: number): Promise<SeasonWork> {
  const baseOrders = run.io.orders / 2;
  const lab: Lab = {
    run,
    raw: new DynamoDBClient(run.dynamo),
    baseOrders,
    ordersShardSize: baseOrders,
    seasons: [],
    extraTables: [],
    recounts: new Map(),
    providersShardSize: Math.max(1, Math.ceil(run.io.providers / 4)),
    evaluationFanout: { maxProvidersPerInvocation: 0, shards: 0 },
  };
  let scheduled: Awaited<ReturnType<typeof scheduledAggregations>>;
  let evalMeters: Record<number, MeterSnapshot[]>;
  try {
    await loadSeasons(lab);
    await recountHeapRounds(lab);
    scheduled = await scheduledAggregations(lab);
    evalMeters = await evaluationRounds(lab);
  } finally {
    const all = [...lab.seasons.flatMap((x) => Object.values(x.names)), ...lab.extraTables];
    await Promise.all(all.map((TableName) => lab.raw.send(new DeleteTableCommand({ TableName })).catch(() => {})));
    lab.raw.destroy();
  }
  const bySize = [1, 4, 10].map((k) => lab.seasons.find((x) => x.scale === k)!) as [Season, Season, Season];
  evaluationMetrics(lab, bySize[0], bySize[2]);
  aggregationMetrics(lab, bySize, scheduled.incrementalRun, rawRate);
  const s10 = bySize[2];
  return { orders10: baseOrders * 10, aggregation: s10.aggregation, evaluation: { secs: median(s10.secs), meter: evalMeters[10]![0]!, shards: lab.evaluationFanout.shards }, ...scheduled };
}
