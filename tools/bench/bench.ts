/**
 * `npm run bench`: every goal is a ratio against a baseline measured in the same run on the same
 * embedded stack, or work counted on the wire, so the numbers mean the same on a slow machine as on
 * a fast one. The cost model bills the counted work at list prices (tools/bench/cost.ts).
 *
 * Each measurement is one function over the run (`BenchRun`) that adds its goals in turn; the order
 * of the calls below is the order of the report.
 */
import { table } from '#shared/text/terminal.ts';
import { useLocalStack } from '#tools/local/stack.ts';
import { billCounted, printCost, type CostBreakdown } from './bill.ts';
import { measureImportHeap } from './import-heap.ts';
import { measureIntake } from './intake.ts';
import { measureMail } from './mail.ts';
import type { BenchIO, BenchRun } from './run.ts';
import { measureSeasons } from './seasons.ts';

export type { BenchIO } from './run.ts';

export async function runBench(io: BenchIO): Promise<void> {
  const local = await useLocalStack(io.info);
  const run: BenchRun = {
    io,
    campaign: io.campaign,
    local,
    dynamo: local.clients.dynamodb,
    tag: Date.now().toString(36),
    concurrency: 16,
    metrics: {},
    info: {},
    step: (s) => io.info(`bench: ${s}`),
  };
  run.step(`${io.orders} orders, concurrency ${run.concurrency}, on ${local.status.dynamodb}`);
  const intake = await measureIntake(run);
  await measureImportHeap(run);
  const seasons = await measureSeasons(run, intake.rawRate);
  const mail = await measureMail(run);
  report(run, billCounted(run, intake, seasons, mail));
}

/** The goals and the cost, as JSON (`--json`) or as the tables a person reads. */
function report(run: BenchRun, cost: CostBreakdown): void {
  const { io, metrics } = run;
  const doc = {
    orders: io.orders,
    providers: io.providers,
    concurrency: run.concurrency,
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, m.value])),
    goals: Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, { goal: m.goal, met: m.ok, detail: m.detail }])),
    cost,
    info: run.info,
  };
  if (io.json) return io.printJson(doc);
  io.print(
    table(
      ['metric', 'value', 'goal', 'met', 'measured'],
      Object.entries(metrics).map(([k, m]) => [k, m.value, m.goal, m.ok ? 'yes' : 'NO', m.detail]),
      ['left', 'right'],
    ),
  );
  io.print('');
  printCost(run, cost);
}
