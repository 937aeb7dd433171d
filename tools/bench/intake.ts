/**
 * The bench's intake goals: its rate against the plain BatchWriteItem of the same items
 * (`intakeVsRawBatchWrite`), and its writes, requests and capacity units per order, counted on the wire.
 */
import { createDocumentClient } from '#shared/aws.ts';
import type { OrderPaid } from '#shared/events.ts';
import { FUNCTION_MEMORY_MB } from '#shared/sizing.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import type { SQSRecord } from 'aws-lambda';
import { feedRecords, toRecords, type ImportResult, type IntakeHandler } from '#cli/import.ts';
import { gbSeconds, noUsage, sqsRequests, usageOf, type Usage } from './cost.ts';
import { countWrites, meterDynamo, type MeterSnapshot } from './meter.ts';
import { median, operations, RATIO_ROUNDS, round, spread, type BenchRun } from './run.ts';
import { benchOrders, eventLines, rawBatchWrite, storedItems, timed, withTables } from './workload.ts';

/** What the cost model bills of the intake: its usage per metered batch run, and over how many orders. */
export interface IntakeWork {
  usage: Usage;
  perAccepted: number;
  /** The intake's mean duration per invocation, one at a time, in ms. */
  meanMs: number;
  /** The plain BatchWriteItem's items per second: the baseline of the recount's rate too. */
  rawRate: number;
}

/**
 * Warm-up: JIT and dynalite's LevelDB, so neither side of a ratio pays for starting; then the intake's
 * duration per invocation one at a time (what a Lambda bills). Returns those durations.
 */
async function warmUp(run: BenchRun): Promise<number[]> {
  const { campaign: c, dynamo, concurrency } = run;
  run.step("warm-up, and the intake's duration per invocation one at a time (what a Lambda bills)");
  const intakeMs: number[] = [];
  await withTables(dynamo, `bench-${run.tag}-warm`, async (names) => {
    await rawBatchWrite(storedItems(benchOrders(c, 2000, 'w')), names.orders, concurrency, dynamo);
    const store = new IngestStore(createDocumentClient(dynamo), names);
    await feedRecords(makeIntake(store), toRecords(eventLines(benchOrders(c, 2000, 'w2')), 'warm'), { concurrency, quiet: true });
    // On Lambda each invocation has its own CPU: time them one at a time, not 16 sharing 2 cores.
    await feedRecords(timed(makeIntake(store), intakeMs), toRecords(eventLines(benchOrders(c, 1000, 'w3')), 'warm'), { concurrency: 1, quiet: true });
  });
  return intakeMs;
}

interface IntakeRounds {
  rawRates: number[];
  intakeRates: number[];
  /** The first intake round: its result and the writes it made. */
  first: { secs: number; result: ImportResult; writes: ReturnType<typeof countWrites> };
}

/**
 * Intake against the plain BatchWriteItem of the same items into the same store. Rounds alternate, and
 * which side goes first alternates too, so LevelDB's background work after a load, and whatever else
 * the machine runs meanwhile, weighs on both sides alike; the median of the rounds' ratios is the
 * figure, their spread beside it.
 */
async function intakeRounds(run: BenchRun, orders: OrderPaid[], body: string): Promise<IntakeRounds> {
  const { dynamo, concurrency } = run;
  const rawRates: number[] = [];
  const intakeRates: number[] = [];
  let first: IntakeRounds['first'] | undefined;
  for (let r = 1; r <= RATIO_ROUNDS; r++) {
    const sides = r % 2 === 1 ? (['raw', 'intake'] as const) : (['intake', 'raw'] as const);
    for (const side of sides) {
      run.step(`${side === 'raw' ? 'plain BatchWriteItem baseline' : 'intake'}, round ${r} of ${RATIO_ROUNDS}`);
      if (side === 'raw') {
        const secs = await withTables(dynamo, `bench-${run.tag}-raw${r}`, (names) => rawBatchWrite(storedItems(orders), names.orders, concurrency, dynamo));
        rawRates.push(orders.length / secs);
        continue;
      }
      const one = await withTables(dynamo, `bench-${run.tag}-intake${r}`, async (names) => {
        const db = createDocumentClient(dynamo);
        const writes = countWrites(db);
        // The batches as the event source hands them over, built before the clock starts, as the
        // baseline's items are: the import's feed (its lanes, hashing and redelivery) is the
        // producer's and the queue's work, not the intake's (docs/benchmarks.md).
        const batches = sqsBatches(toRecords(body, 'bench'));
        const t0 = performance.now();
        const result = await deliverBatches(makeIntake(new IngestStore(db, names)), batches, concurrency);
        return { secs: (performance.now() - t0) / 1000, result, writes };
      });
      intakeRates.push(one.result.accepted / one.secs);
      first ??= one;
    }
  }
  if (!first) throw new Error('no intake round ran');
  return { rawRates, intakeRates, first };
}

/** Capacity units on a pass of its own, so the meter's own work does not weigh on the timed one. */
async function meteredIntake(run: BenchRun): Promise<{ accepted: number; meter: MeterSnapshot; batches: number }> {
  run.step('intake, capacity units counted on the wire');
  return withTables(run.dynamo, `bench-${run.tag}-metered`, async (names) => {
    const db = createDocumentClient(run.dynamo);
    const meter = meterDynamo(db, names);
    let batches = 0;
    const handler = makeIntake(new IngestStore(db, names));
    const counted: IntakeHandler = (e) => (batches++, handler(e));
    const sample = benchOrders(run.campaign, Math.min(run.io.orders, 5000), 'm');
    const result = await feedRecords(counted, toRecords(eventLines(sample), 'bench'), { concurrency: run.concurrency, quiet: true });
    return { accepted: result.accepted, meter: meter.snapshot(), batches };
  });
}

/** `intakeVsRawBatchWrite`, `writesPerOrder`, `intakeRequestsPerOrder`, `wruPerOrder`, `rruPerOrder`. */
export async function measureIntake(run: BenchRun): Promise<IntakeWork> {
  const orders = benchOrders(run.campaign, run.io.orders);
  const body = eventLines(orders);
  const intakeMs = await warmUp(run);
  const { rawRates, intakeRates, first: intake } = await intakeRounds(run, orders, body);
  const metered = await meteredIntake(run);
  const { metrics, info } = run;
  const accepted = Math.max(1, intake.result.accepted);
  const ratios = rawRates.map((raw, i) => intakeRates[i]! / raw);
  const ratio = median(ratios);
  metrics.intakeVsRawBatchWrite = {
    value: round(ratio),
    goal: '>= 0.5',
    ok: ratio >= 0.5,
    detail: `median of ${RATIO_ROUNDS} alternating rounds (spread ${spread(ratios)}): intake ${intakeRates.map((x) => x.toFixed(0)).join('/')} orders/s vs BatchWriteItem ${rawRates.map((x) => x.toFixed(0)).join('/')} items/s`,
  };
  info.intakeVsRawBatchWriteMin = round(Math.min(...ratios));
  info.intakeVsRawBatchWriteMax = round(Math.max(...ratios));
  const wpo = intake.writes.items / accepted;
  metrics.writesPerOrder = {
    value: round(wpo),
    goal: '<= 1.5',
    ok: wpo <= 1.5,
    detail: `${intake.writes.items} items (orders and one change record per batch) in ${intake.writes.requests} write requests for ${intake.result.accepted} accepted orders`,
  };
  const perAccepted = Math.max(1, metered.accepted);
  const requestsPerOrder = metered.meter.requests / perAccepted;
  metrics.intakeRequestsPerOrder = {
    value: round(requestsPerOrder),
    goal: '<= 0.25',
    ok: requestsPerOrder <= 0.25,
    detail: `${metered.meter.requests} DynamoDB requests (${operations(metered.meter.operations)}) for ${metered.accepted} accepted orders in ${metered.batches} batches`,
  };
  const wru = (metered.meter.wruTable + metered.meter.wruIndexes) / perAccepted;
  metrics.wruPerOrder = {
    value: round(wru),
    goal: '<= 2.2',
    ok: wru <= 2.2,
    detail: `intake: ${round(metered.meter.wruTable / perAccepted)} base item and change record, ${round(metered.meter.wruIndexes / perAccepted)} byStore index entry, per accepted order`,
  };
  metrics.rruPerOrder = {
    value: round(metered.meter.rru / perAccepted),
    goal: 'report',
    ok: true,
    detail: 'intake: one strongly consistent BatchGetItem key per event (a key that finds nothing costs the minimum)',
  };
  const meanMs = intakeMs.reduce((a, b) => a + b, 0) / Math.max(1, intakeMs.length);
  const avgBytes = body.length / orders.length;
  const usage: Usage = {
    ...noUsage(),
    ...usageOf(metered.meter),
    sqsRequests: sqsRequests(metered.accepted, avgBytes, metered.batches),
    lambdaInvocations: metered.batches,
    lambdaGbSeconds: gbSeconds(FUNCTION_MEMORY_MB.intake, Array(metered.batches).fill(meanMs)),
  };
  return { usage, perAccepted, meanMs, rawRate: median(rawRates) };
}

/**
 * SQS records in batches of 10, in order, as a FIFO queue with a backlog hands them to its function.
 * Only for records that each have their own message group (the bench's orders): FIFO never lets two
 * batches in flight hold one group, which cutting every 10 in turn could.
 */
function sqsBatches(records: SQSRecord[], size = 10): SQSRecord[][] {
  const groups = new Set(records.map((r) => r.attributes.MessageGroupId ?? r.messageId));
  if (groups.size !== records.length) throw new Error('sqsBatches: two records share a message group');
  return Array.from({ length: Math.ceil(records.length / size) }, (_, i) => records.slice(i * size, (i + 1) * size));
}

/**
 * Every batch handed to the intake, `concurrency` invocations in flight, as the event source mapping
 * does with a backlog; what a batch reports failed counts as `failed` (SQS would redeliver it).
 */
async function deliverBatches(handler: IntakeHandler, batches: SQSRecord[][], concurrency: number): Promise<ImportResult> {
  const result: ImportResult = { accepted: 0, duplicates: 0, rejected: 0, failed: 0 };
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches.length) {
        const out = await handler({ Records: batches[next++]! });
        result.accepted += out.summary.accepted;
        result.duplicates += out.summary.duplicates;
        result.rejected += out.summary.rejected;
        result.failed += out.batchItemFailures.length;
      }
    }),
  );
  return result;
}
