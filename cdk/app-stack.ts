import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, TimeZone, type StackProps } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleGroup, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import {
  ConfigurationSet,
  EmailIdentity,
  EmailSendingEvent,
  EventDestination,
  Identity,
  SuppressionReasons,
} from 'aws-cdk-lib/aws-ses';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import {
  DeduplicationScope,
  FifoThroughputLimit,
  Queue,
  QueueEncryption,
  type IQueue,
} from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { FUNCTION_MEMORY_MB } from '#shared/sizing.ts';
import type { TableId } from '#shared/tables.ts';
import { domainOf, type DeployConfig } from './config.ts';
import { RenewalFunction } from './function.ts';
import { OUTPUTS, type FunctionName } from './names.ts';
import { seasonSchedule } from './season.ts';

export interface AppStackProps extends StackProps {
  config: DeployConfig;
  tables: Record<TableId, ITable>;
  /** Bundle the functions with esbuild; false only for template tests that do not look at code. */
  bundle: boolean;
  /** The clock, for the warning about a season that already lies in the past. @default Date.now() */
  now?: Date;
}

/** Intake timeout; the queue's visibility timeout is six times it, as AWS advises for SQS triggers. */
const INTAKE_TIMEOUT = Duration.seconds(30);

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

/**
 * The stateless stack: the five functions, the intake FIFO queue, the season's schedules, SES and the
 * alarms. Everything here can be deleted and redeployed; the data lives in the DataStack.
 */
export class AppStack extends Stack {
  readonly functions: Record<FunctionName, RenewalFunction>;
  readonly intakeQueue: Queue;
  readonly intakeDeadLetterQueue: Queue;
  readonly scheduleDeadLetterQueue: Queue;
  readonly alarmTopic: Topic;

  constructor(scope: Construct, id: string, props: AppStackProps) {
    super(scope, id, { description: `Provider renewal (${props.config.stage}): functions, intake queue, schedules, mail, alarms`, ...props });
    const { config, tables } = props;
    const prod = config.stage === 'prod';

    // ---- Queues -------------------------------------------------------------------------------
    this.intakeDeadLetterQueue = new Queue(this, 'IntakeDeadLetterQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    /*
     * FIFO is what makes the intake exact. Producers set MessageGroupId to the event's identity
     * (`entityKey` in shared/events.ts, via `messageGroupOf` in cli/import.ts): every delivery of one
     * order, payment, provider or binding is in the same group, and SQS never hands a group to two
     * batches at once. So the intake's BatchGetItem-then-BatchWriteItem (shared/store/ingest.ts) can
     * never race another copy of the same event, without conditional writes. Deduplication is by an
     * explicit MessageDeduplicationId (sha256 of the body), not content-based, so a producer decides.
     * High-throughput mode: the limits apply per message group, and nearly every event is its own.
     */
    this.intakeQueue = new Queue(this, 'IntakeQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: Duration.seconds(INTAKE_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.intakeDeadLetterQueue, maxReceiveCount: 5 },
    });
    /*
     * Failed scheduled runs: events EventBridge Scheduler could not deliver after its retries, and
     * scheduled (asynchronous) invocations that still failed after Lambda's own retries. Standard:
     * Scheduler dead-letter queues cannot be FIFO.
     */
    this.scheduleDeadLetterQueue = new Queue(this, 'ScheduleDeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    // ---- Mail (SES) -------------------------------------------------------------------------
    const mailEventsTopic = new Topic(this, 'MailEventsTopic', {
      displayName: `Provider renewal (${config.stage}): SES bounces and complaints`,
      enforceSSL: true,
    });
    // Bounces and complaints put the address on the account-level suppression list: SES itself then
    // refuses to mail it again, whatever the code does.
    const configurationSet = new ConfigurationSet(this, 'MailConfigurationSet', {
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      reputationMetrics: true,
      sendingEnabled: true,
    });
    configurationSet.addEventDestination('BouncesAndComplaints', {
      destination: EventDestination.snsTopic(mailEventsTopic),
      events: [EmailSendingEvent.BOUNCE, EmailSendingEvent.COMPLAINT, EmailSendingEvent.REJECT, EmailSendingEvent.RENDERING_FAILURE],
    });
    const identityName = config.senderIdentity === 'domain' ? domainOf(config.mailFrom) : config.mailFrom;
    const senderIdentity = new EmailIdentity(this, 'SenderIdentity', {
      identity: config.senderIdentity === 'domain' ? Identity.domain(identityName) : Identity.email(identityName),
      configurationSet,
    });

    // ---- Functions ----------------------------------------------------------------------------
    const common = {
      logRetention: config.logRetentionDays as RetentionDays,
      logRemovalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      logLevel: config.logLevel,
      tracing: config.tracing,
      bundle: props.bundle,
    };
    const intake = new RenewalFunction(this, 'IntakeFunction', {
      ...common,
      entry: 'intake',
      description: 'Validates platform events from the intake FIFO queue and stores each exactly once',
      timeout: INTAKE_TIMEOUT,
      memorySize: FUNCTION_MEMORY_MB.intake,
    })
      .useTable(tables.orders, 'orders', ['BatchGetItem', 'BatchWriteItem'])
      .useTable(tables.events, 'events', ['BatchGetItem', 'BatchWriteItem'])
      // One change record per batch; GetItem / BatchGetItem look up the records of events met again.
      .useTable(tables.changes, 'changes', ['GetItem', 'BatchGetItem', 'BatchWriteItem'])
      .useTable(tables.rejected, 'rejected', ['BatchWriteItem']);
    intake.addEventSource(new SqsEventSource(this.intakeQueue, { batchSize: 10, reportBatchItemFailures: true }));

    const aggregateAccess = (fn: RenewalFunction) =>
      fn
        // Scan: the full recount streams the orders and the binding and deposit events.
        .useTable(tables.orders, 'orders', ['Query', 'Scan'], { indexes: ['byStore'] })
        .useTable(tables.events, 'events', ['Query', 'GetItem', 'BatchGetItem', 'Scan'], { indexes: true })
        .useTable(tables.changes, 'changes', ['Query'])
        .useTable(tables.aggregates, 'aggregates', ['GetItem', 'BatchGetItem', 'Query', 'UpdateItem', 'BatchWriteItem']);

    const aggregate = aggregateAccess(
      new RenewalFunction(this, 'AggregateFunction', {
        ...common,
        entry: 'aggregate',
        description: 'Counts paid orders per store-day and provider from what was ingested since the last run',
        timeout: Duration.minutes(15),
        memorySize: FUNCTION_MEMORY_MB.aggregate,
      }),
    );

    const notify = new RenewalFunction(this, 'NotifyFunction', {
      ...common,
      entry: 'notify',
      description: 'Sends the outcome and progress mails that are due and not yet sent (outbox ledger)',
      timeout: Duration.minutes(15),
      memorySize: FUNCTION_MEMORY_MB.notify,
    })
      .useTable(tables.decisions, 'decisions', ['Query', 'GetItem', 'UpdateItem'])
      .useTable(tables.aggregates, 'aggregates', ['GetItem', 'BatchGetItem', 'Query'])
      .useTable(tables.events, 'events', ['Query', 'GetItem', 'BatchGetItem'], { indexes: true })
      .useTable(tables.outbox, 'outbox', ['GetItem', 'PutItem', 'UpdateItem', 'Query'])
      .useMailSender({
        identityArns: [senderIdentity.emailIdentityArn, ...config.sandboxRecipients.map((r) => this.formatArn({ service: 'ses', resource: 'identity', resourceName: r }))],
        configurationSetName: configurationSet.configurationSetName,
        mailFrom: config.mailFrom,
      });
    if (config.mailFromName) notify.addEnvironment('MAIL_FROM_NAME', config.mailFromName);
    if (config.mailReplyTo) notify.addEnvironment('MAIL_REPLY_TO', config.mailReplyTo);
    notify.addEnvironment('FEEDBACK_MAILBOX', config.feedbackMailbox);
    notify.addEnvironment('MAIL_RATE_PER_SECOND', String(config.mailRatePerSecond));
    notify.addEnvironment('EXIT_REFUND_PROCEDURE', config.exitRefundProcedure);

    const evaluate = aggregateAccess(
      new RenewalFunction(this, 'EvaluateFunction', {
        ...common,
        entry: 'evaluate',
        description: 'Period-end evaluation: catches the aggregation up, decides every provider, then has the mail sent',
        timeout: Duration.minutes(15),
        memorySize: FUNCTION_MEMORY_MB.evaluate,
      }),
    )
      .useTable(tables.decisions, 'decisions', ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'BatchWriteItem'])
      .useFunction(notify, 'NOTIFY_FUNCTION_NAME');

    const report = new RenewalFunction(this, 'ReportFunction', {
      ...common,
      entry: 'report',
      description: 'Reads the decisions of a campaign (renewal report --aws)',
      timeout: Duration.seconds(60),
      memorySize: FUNCTION_MEMORY_MB.report,
    })
      .useTable(tables.decisions, 'decisions', ['Query', 'GetItem'])
      .useTable(tables.outbox, 'outbox', ['Query']);

    if (config.thresholdOrders !== undefined) {
      for (const fn of [evaluate, notify]) fn.addEnvironment('THRESHOLD_ORDERS', String(config.thresholdOrders));
    }
    this.functions = { intake, aggregate, evaluate, notify, report };
    for (const fn of Object.values(this.functions)) fn.nameOtherTables(tables);

    // Scheduled and evaluate→notify invocations are asynchronous: what still fails after Lambda's
    // retries lands in the schedule dead-letter queue (and raises its alarm) instead of vanishing.
    const onFailure = new SqsDestination(this.scheduleDeadLetterQueue);
    aggregate.configureAsyncInvoke({ onFailure, retryAttempts: 1, maxEventAge: Duration.minutes(15) });
    evaluate.configureAsyncInvoke({ onFailure, retryAttempts: 2, maxEventAge: Duration.hours(6) });
    notify.configureAsyncInvoke({ onFailure, retryAttempts: 2, maxEventAge: Duration.hours(6) });

    // ---- Schedules ----------------------------------------------------------------------------
    if (config.seasonSchedules) this.addSeasonSchedules(config, { aggregate, evaluate, notify }, props.now ?? new Date());

    // ---- Alarms -------------------------------------------------------------------------------
    this.alarmTopic = new Topic(this, 'AlarmTopic', { displayName: `Provider renewal (${config.stage}) alarms`, enforceSSL: true });
    if (config.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(config.alarmEmail));
    const alarm = (alarmId: string, metric: IMetric, description: string) => {
      const a = new Alarm(this, alarmId, {
        metric,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(new SnsAction(this.alarmTopic));
      a.addOkAction(new SnsAction(this.alarmTopic));
    };
    const depth = (q: IQueue) => q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' });
    alarm('IntakeDeadLetterAlarm', depth(this.intakeDeadLetterQueue), 'Intake events failed 5 deliveries and wait in the intake dead-letter queue (docs/DEPLOY.md: replay)');
    alarm('ScheduleDeadLetterAlarm', depth(this.scheduleDeadLetterQueue), 'A scheduled run failed and its event waits in the schedule dead-letter queue (docs/DEPLOY.md: run it by hand)');
    for (const [name, fn] of Object.entries(this.functions)) {
      const Name = name.charAt(0).toUpperCase() + name.slice(1);
      alarm(`${Name}ErrorsAlarm`, fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), `The ${name} function failed`);
      alarm(`${Name}ThrottlesAlarm`, fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }), `The ${name} function was throttled`);
    }

    // ---- Outputs (read by the CLI's --aws mode, cli/aws.ts) ---------------------------------
    for (const [name, fn] of Object.entries(this.functions) as [FunctionName, RenewalFunction][]) {
      new CfnOutput(this, OUTPUTS.functionName(name), { value: fn.functionName, description: `${name} function` });
    }
    for (const [id, table] of Object.entries(tables) as [TableId, ITable][]) {
      new CfnOutput(this, OUTPUTS.tableName(id), { value: table.tableName, description: `${id} table` });
    }
    new CfnOutput(this, OUTPUTS.intakeQueueUrl, { value: this.intakeQueue.queueUrl, description: 'Intake FIFO queue: MessageGroupId = the event identity' });
    new CfnOutput(this, OUTPUTS.intakeDeadLetterQueueUrl, { value: this.intakeDeadLetterQueue.queueUrl });
    new CfnOutput(this, OUTPUTS.scheduleDeadLetterQueueUrl, { value: this.scheduleDeadLetterQueue.queueUrl });
    new CfnOutput(this, OUTPUTS.alarmTopicArn, { value: this.alarmTopic.topicArn });
    new CfnOutput(this, OUTPUTS.mailEventsTopicArn, { value: mailEventsTopic.topicArn });
    new CfnOutput(this, OUTPUTS.sesConfigurationSetName, { value: configurationSet.configurationSetName });
    new CfnOutput(this, OUTPUTS.senderIdentity, { value: identityName, description: 'SES identity to verify before mail can be sent' });
  }

  /**
   * The season: aggregation every 15 minutes, the one-time period-end evaluation, and the weekly
   * progress mail. Each has a role that may invoke only its own function, a retry policy and the
   * schedule dead-letter queue.
   */
  private addSeasonSchedules(config: DeployConfig, fns: { aggregate: IFunction; evaluate: IFunction; notify: IFunction }, now: Date) {
    const season = seasonSchedule();
    const group = new ScheduleGroup(this, 'ScheduleGroup', {
      scheduleGroupName: `provider-renewal-${config.stage}`,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const zone = TimeZone.of(season.timeZone);
    const target = (roleId: string, fn: IFunction, input: object, retryAttempts: number, maxEventAge: Duration) =>
      new InvokeThisFunctionOnly(fn, {
        role: new Role(this, roleId, {
          // Only schedules of this group, in this account, may assume it (confused deputy).
          assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
            conditions: { StringEquals: { 'aws:SourceAccount': this.account, 'aws:SourceArn': group.scheduleGroupArn } },
          }),
          description: `EventBridge Scheduler: may invoke ${fn.node.id} and nothing else`,
        }),
        input: ScheduleTargetInput.fromObject(input),
        deadLetterQueue: this.scheduleDeadLetterQueue,
        retryAttempts,
        maxEventAge,
      });

    const aggregation = new Schedule(this, 'AggregationSchedule', {
      scheduleGroup: group,
      description: `Aggregation of ${season.campaignId}, every ${season.aggregation.rateMinutes} minutes during the season`,
      schedule: ScheduleExpression.rate(Duration.minutes(season.aggregation.rateMinutes)),
      start: season.aggregation.start,
      end: season.aggregation.end,
      // A run that cannot be delivered within minutes is superseded by the next one.
      target: target('AggregationScheduleRole', fns.aggregate, { campaignId: season.campaignId }, 3, Duration.minutes(10)),
    });
    // Written as the wall clock in the campaign's zone, so the template reads as the rules do:
    // at(2024-03-01T00:30:00) Asia/Shanghai = 2024-02-29T16:30:00Z. (ScheduleExpression.at(date, tz)
    // would write the UTC wall clock of `date` and then read it in `tz`.)
    const evaluation = new Schedule(this, 'EvaluationSchedule', {
      scheduleGroup: group,
      description: `Period-end evaluation of ${season.campaignId}, once, 30 minutes after the period closed`,
      schedule: ScheduleExpression.expression(`at(${season.evaluation.wallClock})`, zone),
      target: target('EvaluationScheduleRole', fns.evaluate, { campaignId: season.campaignId }, 185, Duration.hours(24)),
    });
    const progress = new Schedule(this, 'ProgressMailSchedule', {
      scheduleGroup: group,
      description: `Weekly progress mail of ${season.campaignId}, Monday 10:00 China time, during the season`,
      schedule: ScheduleExpression.expression(season.progress.cron, zone),
      start: season.progress.start,
      end: season.progress.end,
      target: target('ProgressMailScheduleRole', fns.notify, { campaignId: season.campaignId, kind: 'progress' }, 185, Duration.hours(24)),
    });
    // The group is named, not referenced: make the order explicit.
    for (const schedule of [aggregation, evaluation, progress]) schedule.node.addDependency(group);

    if (now.getTime() > season.aggregation.start.getTime()) {
      Annotations.of(group).addWarningV2(
        'renewal:season-schedules-in-the-past',
        `The ${season.campaignId} season started ${season.aggregation.start.toISOString()}; EventBridge Scheduler may refuse recurring schedules that start in the past. ` +
          'For a deployment after the season, set -c seasonSchedules=false and run the functions by hand (docs/DEPLOY.md).',
      );
    }
  }
}
