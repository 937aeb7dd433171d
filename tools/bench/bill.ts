/**
 * The bench's `usdPerMillionOrders`: the work the measurements counted, billed at list prices by the
 * cost model (cost.ts), per million orders, with what else a season costs beside them.
 */
import { FUNCTION_MEMORY_MB } from '#shared/sizing.ts';
import { addUsage, costOf, gbSeconds, noUsage, PRICES, scaleUsage, evaluationStateTransitions, stateTransitions, transitionsUsd, usageOf, type Usage } from './cost.ts';
import type { IntakeWork } from './intake.ts';
import type { MailWork } from './mail.ts';
import { round, usd, type BenchRun } from './run.ts';
import type { SeasonWork } from './seasons.ts';
import { scheduledRuns } from './workload.ts';
import { table } from '#shared/text/terminal.ts';

export type CostBreakdown = ReturnType<typeof billCounted>;

/** The counted work of each stage at list prices: per order, per stage, and the season's runs and mail. */
export function billCounted(run: BenchRun, intake: IntakeWork, seasons: SeasonWork, mail: MailWork) {
  const c = run.campaign;
  const { perAccepted } = intake;
  const { orders10, incrementalRun, windowRun } = seasons;
  const lambdaRun = (memoryMb: number, ms: number): Pick<Usage, 'lambdaInvocations' | 'lambdaGbSeconds'> => ({ lambdaInvocations: 1, lambdaGbSeconds: gbSeconds(memoryMb, [ms]) });
  const aggregationUsage: Usage = { ...noUsage(), ...usageOf(seasons.aggregation.meter), ...lambdaRun(FUNCTION_MEMORY_MB.aggregate, seasons.aggregation.secs * 1000) };
  const evaluationUsage: Usage = { ...noUsage(), ...usageOf(seasons.evaluation.meter), ...lambdaRun(FUNCTION_MEMORY_MB.evaluate, seasons.evaluation.secs * 1000) };
  const perOrder = addUsage(scaleUsage(intake.usage, 1 / perAccepted), scaleUsage(aggregationUsage, 1 / orders10), scaleUsage(evaluationUsage, 1 / orders10));
  const perMillion = costOf(scaleUsage(perOrder, 1e6));
  run.metrics.usdPerMillionOrders = {
    value: round(perMillion.total),
    goal: '<= 1.80',
    ok: perMillion.total <= 1.8,
    detail: `DynamoDB $${perMillion.dynamodb.toFixed(3)}, SQS FIFO $${perMillion.sqs.toFixed(3)}, Lambda $${perMillion.lambda.toFixed(3)}: intake, full recount and evaluation per order, ${PRICES.region} list prices read ${PRICES.readOn}`,
  };
  // What else a season costs, beside the orders: the schedule's runs, the mail.
  const windowUsage: Usage = { ...noUsage(), ...usageOf(windowRun.meter), ...lambdaRun(FUNCTION_MEMORY_MB.aggregate, windowRun.ms) };
  const emptyRun: Usage = { ...noUsage(), ...usageOf(incrementalRun.meter), ...lambdaRun(FUNCTION_MEMORY_MB.aggregate, incrementalRun.ms) };
  const mailUsage: Usage = { ...noUsage(), ...usageOf(mail.meter), sesMessages: mail.sent, ...lambdaRun(FUNCTION_MEMORY_MB.notify, mail.secs * 1000) };
  // Shown beside the goals: the GB-seconds above bill the intake at this mean duration.
  run.info.intakeMsPerInvocation = round(intake.meanMs);
  return {
    prices: PRICES,
    perMillionOrders: perMillion,
    perStagePerMillionOrders: {
      intake: costOf(scaleUsage(intake.usage, 1e6 / perAccepted)),
      fullRecount: costOf(scaleUsage(aggregationUsage, 1e6 / orders10)),
      evaluation: costOf(scaleUsage(evaluationUsage, 1e6 / orders10)),
    },
    usagePerOrder: perOrder,
    scheduledAggregation: {
      note: 'the 15-minute runs count the season incrementally instead of one full recount; their cost per order depends on how many orders a window holds',
      runWith10Orders: { requests: incrementalRun.requests, usd: costOf(emptyRun).total, ...usageOf(incrementalRun.meter) },
      windowAtOneMillionOrdersASeason: { orders: windowRun.orders, usdPerMillionOrders: costOf(scaleUsage(windowUsage, 1e6 / windowRun.orders)) },
      seasonOfRunsUsd: costOf(scaleUsage(emptyRun, scheduledRuns(c))).total,
      // Each run an execution of the Standard state machine: plan, the Map, one shard, finish.
      stateMachineSeasonUsd: transitionsUsd(stateTransitions(1) * scheduledRuns(c)),
    },
    // The period-end evaluation: one execution of its state machine a season, its shards as the bench cut them.
    evaluationExecutionUsd: transitionsUsd(evaluationStateTransitions(seasons.evaluation.shards)),
    mailPerProvider: costOf(scaleUsage(mailUsage, 1 / Math.max(1, mail.sent))),
  };
}

/** The cost tables a person reads after the goals. */
export function printCost(run: BenchRun, breakdown: CostBreakdown): void {
  const { print } = run.io;
  print(`Cost per million orders at ${PRICES.region} on-demand list prices (read ${PRICES.readOn}):`);
  const row = (name: string, c: ReturnType<typeof costOf>) => [name, usd(c.dynamodb), usd(c.sqs), usd(c.lambda), usd(c.total)];
  const windows = breakdown.scheduledAggregation.windowAtOneMillionOrdersASeason;
  print(
    table(
      ['stage', 'DynamoDB', 'SQS FIFO', 'Lambda', 'total'],
      [
        row('intake', breakdown.perStagePerMillionOrders.intake),
        row('full recount', breakdown.perStagePerMillionOrders.fullRecount),
        row('evaluation', breakdown.perStagePerMillionOrders.evaluation),
        row('all (usdPerMillionOrders)', breakdown.perMillionOrders),
        row(`15-min windows of ${windows.orders} orders, instead of the recount`, windows.usdPerMillionOrders),
      ],
      ['left', 'right', 'right', 'right', 'right'],
    ),
  );
  print(
    `A season of ${scheduledRuns(run.campaign)} scheduled runs costs ${usd(breakdown.scheduledAggregation.seasonOfRunsUsd)} beside the orders; mail costs ${usd(breakdown.mailPerProvider.total)} per message (SES ${usd(breakdown.mailPerProvider.ses)}).`,
  );
}
