/**
 * What ops watch and are woken by: the alarm topic (mailed to `alarmEmail`), an alarm on every
 * dead-letter queue, on the mail metrics that need a person, and on every function's errors and
 * throttles; and one dashboard per scheduled season (none scheduled: one for the stage). The custom
 * metrics are the ones the functions emit through Powertools (EMF) under the names of
 * shared/metric-names.ts; `renewal rehearse` shows each is emitted under that name.
 *
 * Its resources are created in the stack's scope, not under this construct, so that their logical ids
 * stay those of a deployed stack (cdk/intake-pipeline.ts says why).
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, Metric, SingleValueWidget, TextWidget, TreatMissingData, type IMetric, type IWidget } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '#shared/metric-names.ts';
import type { Campaign } from '#shared/rules/campaign.ts';
import type { DeployConfig } from './config.ts';
import type { RenewalFunction } from './function.ts';
import type { FunctionName } from './names.ts';
import { seasonSchedule } from './schedules.ts';

const PERIOD = Duration.minutes(5);

/** A custom metric of the functions (shared/metric-names.ts). */
const custom = (metricName: string, label?: string, statistic = 'Sum') =>
  new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE_NAME }, statistic, period: PERIOD, ...(label ? { label } : {}) });

export interface ObservabilityProps {
  config: Pick<DeployConfig, 'stage' | 'alarmEmail'>;
  /** Every function of the stack, in the order the dashboard shows them. */
  functions: Record<FunctionName, RenewalFunction>;
  queues: { intake: IQueue; intakeDeadLetter: IQueue; scheduleDeadLetter: IQueue; mailEventsDeadLetter: IQueue };
  /** The scheduled campaigns: one dashboard each, with its dates. */
  scheduled: Campaign[];
}

export class Observability extends Construct {
  readonly alarmTopic: Topic;
  private readonly scope: Construct;
  private readonly props: ObservabilityProps;

  /** `scope` is the stack: the resources are created in it (see the module comment). */
  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.scope = scope;
    this.props = props;
    const { config, queues } = props;
    this.alarmTopic = new Topic(scope, 'AlarmTopic', { displayName: `Provider renewal (${config.stage}) alarms`, enforceSSL: true });
    if (config.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(config.alarmEmail));

    const depth = (q: IQueue) => q.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' });
    this.alarm('IntakeDeadLetterAlarm', depth(queues.intakeDeadLetter), 'Intake events failed 5 deliveries and wait in the intake dead-letter queue (docs/operations.md: the intake queue)');
    this.alarm('ScheduleDeadLetterAlarm', depth(queues.scheduleDeadLetter), 'A scheduled run failed and its event waits in the schedule dead-letter queue (docs/operations.md: run it by hand)');
    this.alarm('MailEventsDeadLetterAlarm', depth(queues.mailEventsDeadLetter), 'SES mail events could not be recorded and wait in the mail-events dead-letter queue (docs/operations.md: replay)');
    this.alarm(
      'OutcomeMailBouncedAlarm',
      custom(METRIC.outcomeMailBounced),
      'An outcome mail bounced: that provider has not received its result (renewal report --aws shows who, with the bounce type)',
    );
    this.alarm('MailComplaintAlarm', custom(METRIC.mailComplaint), 'A provider marked a renewal mail as spam (renewal report --aws shows who)');
    this.alarm('MailUncertainAlarm', custom(METRIC.mailUncertain), 'notify left notices it could not settle (a run died or SES timed out): run renewal notify --aws again after the time it names');
    for (const [name, fn] of Object.entries(props.functions)) {
      const Name = name.charAt(0).toUpperCase() + name.slice(1);
      this.alarm(`${Name}ErrorsAlarm`, fn.metricErrors({ period: PERIOD, statistic: 'Sum' }), `The ${name} function failed`);
      this.alarm(`${Name}ThrottlesAlarm`, fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }), `The ${name} function was throttled`);
    }

    if (props.scheduled.length) for (const c of props.scheduled) this.addDashboard(c);
    else this.addDashboard();
  }

  /** An alarm on any value above 0, to the alarm topic and back to OK. */
  private alarm(alarmId: string, metric: IMetric, description: string): void {
    const a = new Alarm(this.scope, alarmId, {
      metric,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    a.addAlarmAction(new SnsAction(this.alarmTopic));
    a.addOkAction(new SnsAction(this.alarmTopic));
  }

  /**
   * What ops watch during the season, on one page: what the intake takes in, the queue behind it, the
   * dead-letter queues, how stale the counts are, the evaluation's outcomes, the mail, and every
   * function's errors, throttles and duration against its timeout.
   */
  private addDashboard(campaign?: Campaign): void {
    const { stage } = this.props.config;
    const dashboard = new Dashboard(this.scope, campaign ? `Dashboard-${campaign.campaignId}` : 'Dashboard', {
      dashboardName: campaign ? `provider-renewal-${stage}-${campaign.campaignId}` : `provider-renewal-${stage}`,
      defaultInterval: Duration.days(7),
    });
    dashboard.addWidgets(new TextWidget({ markdown: `# Provider renewal (${stage})\n${seasonLine(campaign)}. Runbook: docs/operations.md`, width: 24, height: 2 }));
    dashboard.addWidgets(...this.intakeWidgets());
    dashboard.addWidgets(...outcomeWidgets());
    const fnWidgets = this.functionWidgets();
    for (let i = 0; i < fnWidgets.length; i += 3) dashboard.addWidgets(...fnWidgets.slice(i, i + 3));
  }

  /** The intake's events, its queue, and the dead-letter queues. */
  private intakeWidgets(): IWidget[] {
    const { queues } = this.props;
    const visible = (q: IQueue, label: string) => q.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label });
    return [
      new GraphWidget({
        title: 'Intake: events per 5 minutes',
        left: [custom(METRIC.eventsAccepted, 'accepted'), custom(METRIC.eventsDuplicate, 'duplicates'), custom(METRIC.eventsRejected, 'rejected')],
        width: 8,
      }),
      new GraphWidget({
        title: 'Intake queue',
        left: [visible(queues.intake, 'messages waiting')],
        right: [queues.intake.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum', label: 'oldest message (s)' })],
        width: 8,
      }),
      new GraphWidget({
        title: 'Dead-letter queues (should stay at 0)',
        left: [visible(queues.intakeDeadLetter, 'intake DLQ'), visible(queues.scheduleDeadLetter, 'schedule DLQ')],
        width: 8,
      }),
    ];
  }

  /** Every function's duration against its timeout, errors and throttles. */
  private functionWidgets(): IWidget[] {
    return Object.entries(this.props.functions).map(([name, fn]) => {
      const timeout = fn.timeout!;
      return new GraphWidget({
        title: `${name}: duration against its ${timeout.toSeconds()} s timeout; errors, throttles`,
        left: [fn.metricDuration({ period: PERIOD, statistic: 'Maximum', label: 'max duration (ms)' })],
        leftAnnotations: [{ value: timeout.toMilliseconds(), label: 'timeout' }],
        right: [fn.metricErrors({ period: PERIOD, statistic: 'Sum', label: 'errors' }), fn.metricThrottles({ period: PERIOD, statistic: 'Sum', label: 'throttles' })],
        width: 8,
      });
    });
  }
}

/** The dashboard's first line: the season's dates and its jobs' times, or that ops run them by hand. */
function seasonLine(campaign?: Campaign): string {
  if (!campaign) return 'Intake → aggregation → evaluation → mail (no season scheduled: ops run them by hand)';
  const season = seasonSchedule(campaign);
  return `${campaign.campaignId}, ${campaign.periodStartDate} to ${campaign.periodEndDate} (China time): intake → aggregation every ${season.aggregation.rateMinutes} min → evaluation ${season.evaluation.at.toISOString().slice(0, 16)}Z → mail → notice ${season.notice.at.toISOString().slice(0, 16)}Z`;
}

/** How stale the counts are, the evaluation's outcomes, and the mail. */
function outcomeWidgets(): IWidget[] {
  return [
    new GraphWidget({
      title: 'Aggregation lag: previous watermark to run start (s); 15-minute schedule',
      left: [custom(METRIC.aggregationLagSeconds, 'lag (s)', 'Maximum')],
      right: [custom(METRIC.ordersAggregated, 'orders seen')],
      leftAnnotations: [{ value: 15 * 60, label: 'one schedule period' }],
      width: 8,
    }),
    new SingleValueWidget({
      title: 'Evaluation outcomes (final runs in the time range)',
      metrics: [
        custom(METRIC.providersRetained, 'retained'),
        custom(METRIC.providersRevoked, 'revoked'),
        custom(METRIC.providersNotAssessed, 'not assessed'),
        custom(METRIC.decisionRevisions, 'new revisions'),
      ],
      setPeriodToTimeRange: true,
      width: 8,
    }),
    new GraphWidget({
      title: 'Mail',
      left: [custom(METRIC.mailSent, 'sent'), custom(METRIC.mailFailed, 'failed')],
      width: 8,
    }),
  ];
}
