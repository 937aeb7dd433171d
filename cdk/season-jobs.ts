/**
 * The season's jobs: the aggregate and evaluate functions, the aggregation's state machine (plan,
 * shards, finish: cdk/fanout.ts), the schedule dead-letter queue where every asynchronous run that
 * still failed ends up, and, for the scheduled campaigns, their schedules (cdk/season-schedules.ts).
 *
 * Its resources are created in the stack's scope, not under this construct, so that their logical ids
 * stay those of a deployed stack (cdk/intake-pipeline.ts says why).
 */
import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '#shared/config.ts';
import type { Campaign } from '#shared/rules/campaign.ts';
import { FUNCTION_MEMORY_MB } from '#shared/sizing.ts';
import type { TableId } from '#shared/tables.ts';
import { AGGREGATE_NEEDS } from '#shared/usecases/aggregate.ts';
import { EVALUATE_NEEDS } from '#shared/usecases/evaluate.ts';
import type { DeployConfig } from './config.ts';
import { SeasonJobStateMachine } from './fanout.ts';
import { GROUPED_FINISH_QUERY } from './fanout-groups.ts';
import { RenewalFunction, SendOnlyQueueDestination, type FunctionDefaults } from './function.ts';
import { SeasonSchedules } from './season-schedules.ts';

/** Why an evaluation may hold the aggregation's write grants without using them in a season. */
const CATCH_UP =
  "The evaluation's own catch-up aggregation counts (re-reading the bindings, deposits and store orders that changed) only what arrived after the last scheduled aggregation run, which fires every 15 minutes, so a season may leave it nothing to do";

/** Why an aggregation may hold a read of its run state without using it in a season. */
const LOCK_HOLDER = 'A run that finds the aggregation lock held reads who holds it and until when, to say so; the schedules never overlap in a season that goes well';

/** Why an aggregation may hold the lock's renewal without using it in a season. */
const HEARTBEAT = 'The aggregation lock is renewed by a heartbeat every 15 s (shared/usecases/run-lock.ts): a run shorter than that never renews it';

export interface SeasonJobsProps {
  config: DeployConfig;
  tables: Record<TableId, ITable>;
  functions: FunctionDefaults;
  /** The evaluation has the outcome mails sent (mail sending) and the notice's corrections published (notice site). */
  notify: RenewalFunction;
  publish: RenewalFunction;
  /** The campaigns whose schedules this stack makes (none: the jobs are run by hand). */
  scheduled: Campaign[];
  /** The clock, only for the warning about a season that already started. */
  now: Date;
}

export class SeasonJobs extends Construct {
  readonly aggregate: RenewalFunction;
  readonly evaluate: RenewalFunction;
  /** Failed scheduled runs and asynchronous invocations that failed after Lambda's retries. */
  readonly deadLetterQueue: Queue;
  /** The season jobs as state machines (plan, shards, finish), shared by every campaign; the schedules start them. */
  /** The aggregation on Step Functions; the evaluation is not sharded yet and its schedule invokes the function. */
  readonly stateMachines: { aggregation: SeasonJobStateMachine; evaluation: SeasonJobStateMachine };
  /** Present when a campaign is scheduled. */
  readonly schedules?: SeasonSchedules;

  /** `scope` is the stack: the resources are created in it (see the module comment). */
  constructor(scope: Construct, id: string, props: SeasonJobsProps) {
    super(scope, id);
    const { config, tables, notify, publish } = props;
    /*
     * Failed scheduled runs: events EventBridge Scheduler could not deliver after its retries, and
     * scheduled (asynchronous) invocations that still failed after Lambda's own retries. Standard:
     * Scheduler dead-letter queues cannot be FIFO.
     */
    this.deadLetterQueue = new Queue(scope, 'ScheduleDeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.aggregate = aggregateFunction(scope, tables, props.functions);
    this.evaluate = evaluateFunction(scope, tables, props.functions).useFunction(notify, ENV.notifyFunctionName).useFunction(publish, ENV.publishFunctionName);
    if (config.thresholdOrders !== undefined) this.evaluate.addEnvironment(ENV.thresholdOrders, String(config.thresholdOrders));

    // Scheduled and evaluate→notify invocations are asynchronous: what still fails after Lambda's
    // retries lands in the schedule dead-letter queue (and raises its alarm) instead of vanishing.
    const onFailure = new SendOnlyQueueDestination(this.deadLetterQueue);
    this.aggregate.configureAsyncInvoke({ onFailure, retryAttempts: 1, maxEventAge: Duration.minutes(15) });
    for (const fn of [this.evaluate, notify, publish]) fn.configureAsyncInvoke({ onFailure, retryAttempts: 2, maxEventAge: Duration.hours(6) });
    for (const fn of [this.aggregate, this.evaluate, notify, publish]) {
      fn.acknowledgeGrant(
        'sqs:SendMessage',
        'Lambda sends a failed asynchronous invocation to the schedule dead-letter queue, with this role, only after every retry failed: a season that goes well never does',
      );
    }

    // ---- The season jobs past one invocation (issue 21): plan, shards, finish on Step Functions ----
    const job = { mapConcurrency: config.mapConcurrency, logRetention: props.functions.logRetention, logRemovalPolicy: props.functions.logRemovalPolicy, tracing: config.tracing };
    this.stateMachines = {
      // A full recount at Douyin's volume runs for hours (docs/benchmarks.md); an incremental run, minutes.
      aggregation: new SeasonJobStateMachine(scope, 'AggregationStateMachine', {
        ...job,
        job: 'aggregation',
        fn: this.aggregate,
        fnTimeout: this.aggregate.timeout!,
        timeout: Duration.hours(48),
        groups: { concurrency: config.groupConcurrency },
      }),
      // Plan's catch-up and wait, then a few waves of shards of a minute or less each (docs/operations.md).
      evaluation: new SeasonJobStateMachine(scope, 'EvaluationStateMachine', { ...job, job: 'evaluation', fn: this.evaluate, fnTimeout: this.evaluate.timeout!, timeout: Duration.hours(6) }),
    };

    if (props.scheduled.length) {
      this.schedules = new SeasonSchedules(scope, 'SeasonSchedules', {
        config,
        campaigns: props.scheduled,
        stateMachines: { aggregation: this.stateMachines.aggregation.stateMachine, evaluation: this.stateMachines.evaluation.stateMachine },
        functions: { notify, publish },
        deadLetterQueue: this.deadLetterQueue,
        now: props.now,
      });
    }
  }
}

/** The aggregation: counts what was ingested since its last run (shared/usecases/aggregate.ts). */
function aggregateFunction(scope: Construct, tables: Record<TableId, ITable>, defaults: FunctionDefaults): RenewalFunction {
  return new RenewalFunction(scope, 'AggregateFunction', {
    ...defaults,
    entry: 'aggregate',
    description: 'Counts paid orders per store-day and provider from what was ingested since the last run',
    timeout: Duration.minutes(15),
    memorySize: FUNCTION_MEMORY_MB.aggregate,
  })
    .useStores(tables, AGGREGATE_NEEDS)
    .acknowledgeGrant('dynamodb:UpdateItem', HEARTBEAT, tables.aggregates.tableArn)
    .acknowledgeGrant('dynamodb:GetItem', LOCK_HOLDER, tables.aggregates.tableArn)
    .acknowledgeGrant('dynamodb:Query', GROUPED_FINISH_QUERY, tables.aggregates.tableArn);
}

/** The period-end evaluation, with the grants its catch-up aggregation and its revisions may use (shared/usecases/evaluate.ts). */
function evaluateFunction(scope: Construct, tables: Record<TableId, ITable>, defaults: FunctionDefaults): RenewalFunction {
  return new RenewalFunction(scope, 'EvaluateFunction', {
    ...defaults,
    entry: 'evaluate',
    description: 'Period-end evaluation: catches the aggregation up, decides every provider, then has the mail sent',
    timeout: Duration.minutes(15),
    memorySize: FUNCTION_MEMORY_MB.evaluate,
  })
    .useStores(tables, EVALUATE_NEEDS)
    .acknowledgeGrant(
      'dynamodb:Scan',
      'The catch-up aggregation of an evaluation recounts everything when no aggregation has run yet: an evaluation run by hand on a deployment made after the season (seasonSchedules=false), before any aggregate',
    )
    .acknowledgeGrant('dynamodb:PutItem', CATCH_UP, tables.aggregates.tableArn)
    .acknowledgeGrant('dynamodb:UpdateItem', HEARTBEAT, tables.aggregates.tableArn)
    .acknowledgeGrant('dynamodb:GetItem', LOCK_HOLDER, tables.aggregates.tableArn)
    .acknowledgeGrant(
      'dynamodb:GetItem',
      'A revision after the first reads the fencing token of the revision it follows (shared/store/decisions.ts): a season whose decisions never change records only first revisions',
      tables.decisions.tableArn,
    )
    .acknowledgeGrant('dynamodb:Query', CATCH_UP, tables.events.tableArn)
    .acknowledgeGrant('dynamodb:Query', CATCH_UP, `${tables.events.tableArn}/index/byProvider`)
    .acknowledgeGrant('dynamodb:Query', CATCH_UP, `${tables.orders.tableArn}/index/byStore`)
    .acknowledgeGrant('dynamodb:Query', `The catch-up aggregation may be a grouped full recount: ${GROUPED_FINISH_QUERY}`, tables.aggregates.tableArn);
}
