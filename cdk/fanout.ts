/**
 * A season job (the aggregation, the evaluation) as a Step Functions state machine: plan, shards,
 * finish, each a synchronous invocation of the job's own function with a `step` field in its payload
 * (the contract of shared/payloads.ts; a payload without `step` is still the whole job in one
 * invocation, which `renewal aggregate|evaluate --aws` uses). One state machine per job, shared by every
 * campaign: the campaign id travels in the execution input.
 *
 *   Plan ─► Busy? ─(status = busy)─► Skipped (Succeed: another run holds the campaign's lock)
 *              └─► Grouped? ─(mode = groups, with `groups` only)─► Groups … ─► FinishGroups (cdk/fanout-groups.ts)
 *                     └─► Shards (Map over $.shards, MaxConcurrency from the deploy config) ─► Finish
 *
 * Why an inline Map, not a distributed one: the shard list is small by contract (hash or index ranges,
 * never store lists) and travels in the state, and the concurrency the deployment allows (cdk/config.ts
 * `mapConcurrency`, default 10) stays within the inline Map's 40 concurrent iterations; the store behind the
 * shards (one DynamoDB table written under the run's fence) is what bounds useful parallelism, not the
 * Map. An inline Map needs no child executions, so the role gets exactly one grant per function
 * (`lambda:InvokeFunction` on it) and none on its own executions (a distributed Map's role must also
 * start, describe and stop its child executions, with a wildcard on their ids). What it costs: one
 * execution's history holds at most 25,000 events, about 7 per iteration, so an execution runs at most
 * about 3,500 shards (docs/operations.md, "The season jobs on Step Functions"). Past that, a plan answers
 * groups of shard indices, which a distributed Map runs as child executions (`groups`, cdk/fanout-groups.ts:
 * the aggregation's large full recount), and the role gets that Map's grants on this state machine's own executions.
 */
import { Stack, type Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, type Policy } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Choice, Condition, CustomState, DefinitionBody, LogLevel, Map as MapState, StateMachine, StateMachineType, Succeed, type IChainable } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledgeGrant } from './function.ts';
import { acknowledgeGroupGrants, shardGroupsBranch, type ShardGroupsProps } from './fanout-groups.ts';

/** What Step Functions' Lambda integration reports when Lambda itself failed (not the function): always worth retrying. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
] as const;

/**
 * The error a shard throws when its run's fencing token was refused (shared/store/aggregates.ts): its
 * run lost the lock, so a retry can only be refused again.
 */
export const LOCK_LOST_ERROR = 'LockLostError';

/** Retries of Lambda's own failures: 2 s, 4 s, … six times (what CDK's LambdaInvoke would add). */
const SERVICE_RETRY = { ErrorEquals: [...LAMBDA_SERVICE_ERRORS], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2 };
/** A shard that failed (a throttled table, a timeout) is run again: 10 s, 20 s, 40 s. */
const SHARD_FAILURE_RETRY = { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 10, MaxAttempts: 3, BackoffRate: 2 };
/** Retriers are tried in order and the first that matches decides: a lost lock is never retried. */
const NEVER_RETRY_LOCK_LOST = { ErrorEquals: [LOCK_LOST_ERROR], MaxAttempts: 0 };

export interface SeasonJobStateMachineProps {
  /** `aggregation`, `evaluation`: the state machine's description and its states' comments. */
  job: string;
  /** The job's function, invoked with `step` plan, shard and finish. */
  fn: IFunction;
  /** The function's timeout: each task waits that long plus a minute, so Lambda's own timeout reports first. */
  fnTimeout: Duration;
  /** Map MaxConcurrency (inline Map: at most 40). */
  mapConcurrency: number;
  /** The whole execution; the plan's lock lease covers it (FANOUT-CONTRACT: there is no process to heartbeat it). */
  timeout: Duration;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  tracing: boolean;
  /** A plan may answer `"mode":"groups"` (the aggregation's full recount): a distributed Map of groups runs it (cdk/fanout-groups.ts). */
  groups?: ShardGroupsProps;
}

/** A Standard state machine that runs one season job as plan, shards and finish (see the module comment). */
export class SeasonJobStateMachine extends Construct {
  readonly stateMachine: StateMachine;
  readonly logs: LogGroup;
  /** With `groups`: the policy CDK attaches for the distributed Map's child executions. */
  readonly groupsPolicy?: Policy;

  constructor(scope: Construct, id: string, props: SeasonJobStateMachineProps) {
    super(scope, id);
    if (!Number.isInteger(props.mapConcurrency) || props.mapConcurrency < 1 || props.mapConcurrency > 40) {
      throw new Error(`${this.node.path}: mapConcurrency ${props.mapConcurrency}: an inline Map runs 1 to 40 iterations at a time`);
    }
    const definition = this.defineStates(props);
    this.logs = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.logRemovalPolicy });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      comment: `Provider renewal ${props.job}: plan, shards, finish (one execution per run; the input names the campaign)`,
      definitionBody: DefinitionBody.fromChainable(definition),
      stateMachineType: StateMachineType.STANDARD,
      timeout: props.timeout,
      tracingEnabled: props.tracing,
      logs: { destination: this.logs, level: LogLevel.ALL, includeExecutionData: true },
    });
    this.grantRole(props);
    if (props.groups) this.groupsPolicy = acknowledgeGroupGrants(this.stateMachine);
  }

  /** Plan, then (unless busy) the shards (inline, or as groups) and finish. */
  private defineStates(props: SeasonJobStateMachineProps): IChainable {
    const fnArn = props.fn.functionArn;
    const timeoutSeconds = props.fnTimeout.toSeconds() + 60;
    const invoke = (stateId: string, comment: string, payload: Record<string, unknown>, retry: object[], extra: Record<string, unknown> = {}) =>
      new CustomState(this, stateId, {
        stateJson: {
          Type: 'Task',
          Comment: comment,
          Resource: `arn:${Stack.of(this).partition}:states:::lambda:invoke`,
          Parameters: { FunctionName: fnArn, ...payload },
          // The function's own answer, not the integration's envelope (StatusCode, ExecutedVersion, …).
          ResultSelector: { 'value.$': '$.Payload' },
          OutputPath: '$.value',
          TimeoutSeconds: timeoutSeconds,
          Retry: retry,
          ...extra,
        },
      });

    // The execution input is the job's payload ({campaignId, full?, …}); `step` is set last, so an input cannot choose it.
    const plan = invoke(
      'Plan',
      `Plan the ${props.job}: take the campaign's run lock and cut the work into shards`,
      { 'Payload.$': 'States.JsonMerge($, States.StringToJson(\'{"step":"plan"}\'), false)' },
      [SERVICE_RETRY],
    );
    const shard = invoke('Shard', `One shard of the ${props.job}, written under the run's fence`, { 'Payload.$': '$' }, [NEVER_RETRY_LOCK_LOST, SERVICE_RETRY, SHARD_FAILURE_RETRY]);
    const shards = new MapState(this, 'Shards', {
      comment: `The ${props.job}'s shards, ${props.mapConcurrency} at a time`,
      itemsPath: '$.shards',
      maxConcurrency: props.mapConcurrency,
      itemSelector: {
        'campaignId.$': '$.campaignId',
        step: 'shard',
        'runId.$': '$.runId',
        'fence.$': '$.fence',
        'context.$': '$.context',
        'shard.$': '$$.Map.Item.Value.shard',
      },
      resultPath: '$.results',
    });
    shards.itemProcessor(shard);
    const finish = invoke(
      'Finish',
      `Finish the ${props.job}: sum what the shards counted, record the run, give the lock back`,
      { Payload: { 'campaignId.$': '$.campaignId', step: 'finish', 'runId.$': '$.runId', 'fence.$': '$.fence', 'context.$': '$.context', 'results.$': '$.results' } },
      [SERVICE_RETRY],
    );
    const busy = new Succeed(this, 'Skipped', { comment: "Another run holds the campaign's lock: this one starts nothing (plan emitted the skipped-run metric)" });
    let planned: IChainable = shards.next(finish);
    if (props.groups) {
      const grouped = shardGroupsBranch(this, {
        job: props.job,
        groups: props.groups,
        mapConcurrency: props.mapConcurrency,
        invoke,
        shardRetry: [NEVER_RETRY_LOCK_LOST, SERVICE_RETRY, SHARD_FAILURE_RETRY],
        finishRetry: [SERVICE_RETRY],
      });
      planned = new Choice(this, 'Grouped', { comment: 'Did plan cut the run into groups of shard indices (a large full recount)?' }).when(grouped.condition, grouped.chain).otherwise(planned);
    }
    return plan.next(new Choice(this, 'Busy', { comment: 'Did plan find the lock held?' }).when(Condition.stringEquals('$.status', 'busy'), busy).otherwise(planned));
  }

  /** The role: its own function, the log delivery (and the tracing) it needs, acknowledged. */
  private grantRole(props: SeasonJobStateMachineProps): void {
    const role = this.stateMachine.role;
    // Exactly the function: no `:*` (its versions and aliases), which CDK's LambdaInvoke would add.
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.fn.functionArn] }));
    for (const action of [
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ]) {
      acknowledgeGrant(
        role,
        action,
        'Step Functions sets up the delivery of an execution log with this role when the state machine is created or its logging changes (a deployment, not an execution)',
        '*',
      );
    }
    if (props.tracing) {
      for (const action of ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets']) {
        acknowledgeGrant(role, action, 'Only with tracing=true: Step Functions sends the trace segments with this role', '*');
      }
    }
  }
}
