/**
 * The seasons' EventBridge Scheduler schedules: for each scheduled campaign, the aggregation every 15
 * minutes, the one-time period-end evaluation, the weekly progress mail and the one-time publication
 * of the delisting notice, under a construct named by the campaign id, at the times cdk/schedules.ts
 * derives from the campaign. Each has a role that may invoke only its own function (or start only its
 * own state machine), a retry policy and the schedule dead-letter queue. A scheduled campaign without a
 * threshold (its file's null, and no THRESHOLD_ORDERS) fails the synth, naming it (RULES.md "threshold").
 *
 * The group and the campaigns' constructs are created in the stack's scope, not under this construct,
 * so that their logical ids stay those of a deployed stack (cdk/intake-pipeline.ts says why).
 */
import { Annotations, Duration, RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression, ScheduleGroup, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Campaign } from '#shared/rules/campaign.ts';
import type { DeployConfig } from './config.ts';
import { acknowledgeGrant } from './function.ts';
import { seasonSchedule } from './schedules.ts';

/** A Scheduler target whose role may invoke its function and nothing else: no `:*` versions or aliases. */
class InvokeThisFunctionOnly extends LambdaInvoke {
  private readonly fn: IFunction;
  constructor(fn: IFunction, props: ConstructorParameters<typeof LambdaInvoke>[1]) {
    super(fn, props);
    this.fn = fn;
  }
  protected override addTargetActionToRole(role: IRole): void {
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.fn.functionArn] }));
  }
}

/** How a target retries: how often, and for how long a firing is still worth delivering. */
interface Retry {
  retryAttempts: number;
  maxEventAge: Duration;
}

/** A one-time or weekly run: retried for a day, since nothing supersedes it. */
const ONCE: Retry = { retryAttempts: 185, maxEventAge: Duration.hours(24) };
/** An aggregation that cannot be delivered within minutes is superseded by the next one. */
const SUPERSEDED: Retry = { retryAttempts: 3, maxEventAge: Duration.minutes(10) };

export interface SeasonSchedulesProps {
  config: Pick<DeployConfig, 'stage' | 'thresholdOrders'>;
  /** The scheduled campaigns (at least one). */
  campaigns: Campaign[];
  /** The season jobs the schedules start as state machines (cdk/season-jobs.ts). */
  stateMachines: { aggregation: IStateMachine; evaluation: IStateMachine };
  /** The jobs the schedules invoke directly. */
  functions: { notify: IFunction; publish: IFunction };
  deadLetterQueue: IQueue;
  /** The clock, only for the warning about a season that already started (the template never depends on it). */
  now: Date;
}

export class SeasonSchedules extends Construct {
  readonly group: ScheduleGroup;
  private readonly props: SeasonSchedulesProps;

  /** `scope` is the stack: the resources are created in it (see the module comment). */
  constructor(scope: Construct, id: string, props: SeasonSchedulesProps) {
    super(scope, id);
    this.props = props;
    const { config, campaigns } = props;
    const unthresholded = campaigns.filter((c) => c.thresholdOrders === null && config.thresholdOrders === undefined).map((c) => c.campaignId);
    if (unthresholded.length) {
      throw new Error(
        `thresholdOrders: the scheduled campaign${unthresholded.length > 1 ? 's' : ''} ${unthresholded.join(', ')} ha${unthresholded.length > 1 ? 've' : 's'} no threshold ` +
          '(the file says null) and the deployment sets none: set it in the campaign file, or deploy with -c thresholdOrders=N (RENEWAL_THRESHOLD_ORDERS), or set "schedule": false',
      );
    }
    this.group = new ScheduleGroup(scope, 'ScheduleGroup', {
      scheduleGroupName: `provider-renewal-${config.stage}`,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    for (const c of campaigns) this.addCampaign(new Construct(scope, c.campaignId), c);
  }

  private addCampaign(scope: Construct, c: Campaign): void {
    const { stateMachines, functions } = this.props;
    const season = seasonSchedule(c);
    const zone = TimeZone.of(season.timeZone);
    const input = { campaignId: season.campaignId };
    const aggregation = new Schedule(scope, 'AggregationSchedule', {
      scheduleGroup: this.group,
      description: `Aggregation of ${season.campaignId}, every ${season.aggregation.rateMinutes} minutes during the season`,
      schedule: ScheduleExpression.rate(Duration.minutes(season.aggregation.rateMinutes)),
      start: season.aggregation.start,
      end: season.aggregation.end,
      target: this.startTarget(scope, 'AggregationScheduleRole', season.campaignId, stateMachines.aggregation, input, SUPERSEDED),
    });
    // Written as the wall clock in the campaign's zone, so the template reads as the rules do:
    // at(<day after the period>T00:30:00) Asia/Shanghai = 16:30Z of the period's last day. (ScheduleExpression.at(date, tz)
    // would write the UTC wall clock of `date` and then read it in `tz`.)
    const evaluation = new Schedule(scope, 'EvaluationSchedule', {
      scheduleGroup: this.group,
      description: `Period-end evaluation of ${season.campaignId}, once, 30 minutes after the period closed`,
      schedule: ScheduleExpression.expression(`at(${season.evaluation.wallClock})`, zone),
      target: this.startTarget(scope, 'EvaluationScheduleRole', season.campaignId, stateMachines.evaluation, input, ONCE),
    });
    const progress = new Schedule(scope, 'ProgressMailSchedule', {
      scheduleGroup: this.group,
      description: `Weekly progress mail of ${season.campaignId}, Monday 10:00 China time, during the season`,
      schedule: ScheduleExpression.expression(season.progress.cron, zone),
      start: season.progress.start,
      end: season.progress.end,
      target: this.invokeTarget(scope, 'ProgressMailScheduleRole', season.campaignId, functions.notify, { ...input, kind: 'progress' }, ONCE),
    });
    // The delisting notice, once, on the notice date in office hours, well after the evaluation;
    // later corrections are published by the evaluation itself (PUBLISH_FUNCTION_NAME).
    const notice = new Schedule(scope, 'NoticeSchedule', {
      scheduleGroup: this.group,
      description: `Public delisting notice of ${season.campaignId}, once, on the notice date at ${season.notice.wallClock.slice(11, 16)} China time`,
      schedule: ScheduleExpression.expression(`at(${season.notice.wallClock})`, zone),
      target: this.invokeTarget(scope, 'NoticeScheduleRole', season.campaignId, functions.publish, input, ONCE),
    });
    // The group is named, not referenced: make the order explicit.
    for (const schedule of [aggregation, evaluation, progress, notice]) schedule.node.addDependency(this.group);

    // The clock only warns; the template is the same whenever it is synthesized.
    if (this.props.now.getTime() > season.aggregation.start.getTime()) {
      Annotations.of(scope).addWarningV2(
        'renewal:season-schedules-in-the-past',
        `The ${season.campaignId} season started ${season.aggregation.start.toISOString()}; EventBridge Scheduler refuses recurring schedules that start in the past. ` +
          `For a deployment after its start, set "schedule": false in campaigns/${season.campaignId}.json and run its functions by hand (docs/operations.md).`,
      );
    }
  }

  /** A target that invokes `fn`; its role may invoke that function and nothing else. */
  private invokeTarget(scope: Construct, roleId: string, campaignId: string, fn: IFunction, input: object, retry: Retry): InvokeThisFunctionOnly {
    const role = this.role(scope, roleId, `EventBridge Scheduler (${campaignId}): may invoke ${fn.node.id} and nothing else`, 'invoke the function');
    return new InvokeThisFunctionOnly(fn, { role, input: ScheduleTargetInput.fromObject(input), deadLetterQueue: this.props.deadLetterQueue, ...retry });
  }

  /** A target that starts an execution of a season job's state machine; its role may start that one and nothing else. */
  private startTarget(scope: Construct, roleId: string, campaignId: string, machine: IStateMachine, input: object, retry: Retry): StepFunctionsStartExecution {
    const what = machine.node.scope?.node.id ?? machine.node.id;
    const role = this.role(scope, roleId, `EventBridge Scheduler (${campaignId}): may start ${what} executions and nothing else`, 'start the execution');
    return new StepFunctionsStartExecution(machine, { role, input: ScheduleTargetInput.fromObject(input), deadLetterQueue: this.props.deadLetterQueue, ...retry });
  }

  /** A role that only schedules of this group, in this account, may assume (confused deputy). */
  private role(scope: Construct, roleId: string, description: string, action: string): Role {
    const role = new Role(scope, roleId, {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account, 'aws:SourceArn': this.group.scheduleGroupArn } },
      }),
      description,
    });
    acknowledgeGrant(role, 'sqs:SendMessage', `Scheduler puts a firing in the schedule dead-letter queue, with this role, only when it cannot ${action} after its retries`);
    return role;
  }
}
