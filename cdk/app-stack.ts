import { Annotations, CfnOutput, CfnParameter, Duration, Fn, RemovalPolicy, Stack, TimeZone, type StackProps } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, Metric, SingleValueWidget, TextWidget, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '#shared/metric-names.ts';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { AGGREGATE_NEEDS } from '#shared/usecases/aggregate.ts';
import { EVALUATE_NEEDS } from '#shared/usecases/evaluate.ts';
import { INTAKE_NEEDS } from '#shared/usecases/intake.ts';
import { MAIL_EVENTS_NEEDS } from '#shared/usecases/mail-events.ts';
import { NOTIFY_NEEDS } from '#shared/usecases/notify.ts';
import { PUBLISH_NEEDS } from '#shared/usecases/publish.ts';
import { REPORT_NEEDS } from '#shared/usecases/report.ts';
import { REAPPLY_NEEDS } from '#shared/usecases/reapply.ts';
import { EventSourceMapping, type DestinationConfig, type IDestination } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleGroup, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { ConfigurationSet, EmailIdentity, EmailSendingEvent, EventDestination, Identity, SuppressionReasons } from 'aws-cdk-lib/aws-ses';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption, type IQueue } from 'aws-cdk-lib/aws-sqs';
import { AllowedMethods, CachePolicy, Distribution, HeadersFrameOption, HeadersReferrerPolicy, HttpVersion, PriceClass, ResponseHeadersPolicy, ViewerProtocolPolicy } from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PAGE_CSP_HEADER } from '#shared/pages/page.ts';
import { ENV } from '#shared/config.ts';
import { campaignBundleDefine, type CampaignRegistry } from '#shared/campaigns.ts';
import type { Campaign } from '#shared/rules/campaign.ts';
import { noticePageUrl } from '#shared/store/notice-bucket.ts';
import { FUNCTION_MEMORY_MB } from '#shared/sizing.ts';
import type { TableId } from '#shared/tables.ts';
import { EMAIL } from '#shared/events.ts';
import type { DeployConfig } from './config.ts';
import { SeasonJobStateMachine } from './fanout.ts';
import { GROUPED_FINISH_QUERY } from './fanout-groups.ts';
import { acknowledgeGrant, RenewalFunction } from './function.ts';
import { OUTPUTS, type FunctionName } from './names.ts';
import { seasonSchedule } from './schedules.ts';

export interface AppStackProps extends StackProps {
  config: DeployConfig;
  tables: Record<TableId, ITable>;
  /** Bundle the functions with esbuild; false only for template tests that do not look at code. */
  bundle: boolean;
  /** The campaign files the stack is synthesized with: bundled into the functions, scheduled where a file says so. */
  campaigns: CampaignRegistry;
  /** The clock, only for the warning about a season that already started (the template never depends on it). @default Date.now() */
  now?: Date;
}

/** The CloudFormation parameter that carries the sender address (`cdk deploy --parameters MailFrom=…`). */
export const MAIL_FROM_PARAMETER = 'MailFrom';

/** Why an evaluation may hold the aggregation's write grants without using them in a season. */
const CATCH_UP =
  "The evaluation's own catch-up aggregation counts (re-reading the bindings, deposits and store orders that changed) only what arrived after the last scheduled aggregation run, which fires every 15 minutes, so a season may leave it nothing to do";

/** Why an aggregation may hold a read of its run state without using it in a season. */
const LOCK_HOLDER = 'A run that finds the aggregation lock held reads who holds it and until when, to say so; the schedules never overlap in a season that goes well';

/** Why an aggregation may hold the lock's renewal without using it in a season. */
const HEARTBEAT = 'The aggregation lock is renewed by a heartbeat every 15 s (shared/usecases/run-lock.ts): a run shorter than that never renews it';

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
 * The on-failure destination of an asynchronous invocation: a queue the function's role may send to
 * and nothing else (CDK's SqsDestination would also grant GetQueueAttributes and GetQueueUrl, which
 * Lambda never calls for it).
 */
class SendOnlyQueueDestination implements IDestination {
  constructor(private readonly queue: IQueue) {}
  bind(_scope: Construct, fn: IFunction): DestinationConfig {
    fn.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    return { destination: this.queue.queueArn };
  }
}

/**
 * The stateless stack: the functions, the intake FIFO queue, the season's schedules, SES, the public
 * notice's site, the dashboard and the alarms. Everything here can be deleted and redeployed; the data
 * lives in the DataStack (the notice bucket is retained, and its content is re-derivable from the
 * notice ledger in the decisions table).
 */
export class AppStack extends Stack {
  readonly functions: Record<FunctionName, RenewalFunction>;
  readonly intakeQueue: Queue;
  readonly intakeDeadLetterQueue: Queue;
  readonly scheduleDeadLetterQueue: Queue;
  readonly mailEventsDeadLetterQueue: Queue;
  readonly mailEventsTopic: Topic;
  readonly alarmTopic: Topic;
  readonly noticeBucket: Bucket;
  readonly noticeDistribution: Distribution;
  /** The season jobs as state machines (plan, shards, finish), shared by every campaign; the schedules start them. */
  /** The aggregation on Step Functions; the evaluation is not sharded yet and its schedule invokes the function. */
  readonly stateMachines: { aggregation: SeasonJobStateMachine };

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
     * (`entityKey` and `messageGroupOf` in shared/events.ts): every delivery of one
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

    /*
     * SES events the mail-events function could not record (SNS's delivery to it failed, or it failed
     * after Lambda's retries): kept 14 days for a replay, alarmed. A lost Send event could otherwise
     * let notify send a notice again after MAIL_EVENT_WAIT_SECONDS.
     */
    this.mailEventsDeadLetterQueue = new Queue(this, 'MailEventsDeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    // ---- Mail (SES) -------------------------------------------------------------------------
    const mailEventsTopic = new Topic(this, 'MailEventsTopic', {
      displayName: `Provider renewal (${config.stage}): SES mail events`,
      enforceSSL: true,
    });
    this.mailEventsTopic = mailEventsTopic;
    // Bounces and complaints put the address on the account-level suppression list: SES itself then
    // refuses to mail it again, whatever the code does.
    const configurationSet = new ConfigurationSet(this, 'MailConfigurationSet', {
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      reputationMetrics: true,
      sendingEnabled: true,
    });
    // Every mail carries its notice id as the `notice` tag; SES repeats it in each event, and the
    // mail-events function records them on the ledger: Send is how notify knows a mail went out even
    // when its sender died before marking it; the rest is what `report` shows per provider.
    configurationSet.addEventDestination('MailEvents', {
      destination: EventDestination.snsTopic(mailEventsTopic),
      events: [EmailSendingEvent.SEND, EmailSendingEvent.DELIVERY, EmailSendingEvent.BOUNCE, EmailSendingEvent.COMPLAINT, EmailSendingEvent.REJECT, EmailSendingEvent.DELIVERY_DELAY],
    });
    // The sender is a deploy-time parameter: often unknown when the app is synthesized, and without it
    // `cdk deploy` stops before anything can send mail ("…missing a value: MailFrom").
    const mailFrom = new CfnParameter(this, MAIL_FROM_PARAMETER, {
      type: 'String',
      description: 'Sender address of every mail (a plain address, no display name); SES verifies it, or its domain',
      allowedPattern: EMAIL.source,
      constraintDescription: 'must be one plain e-mail address, such as noreply@renewal.example.com',
      ...(config.mailFrom ? { default: config.mailFrom } : {}),
    }).valueAsString;
    const identityName = config.senderIdentity === 'domain' ? Fn.select(1, Fn.split('@', mailFrom)) : mailFrom;
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
      // The functions carry the campaigns of this synth and never read the repository (shared/campaigns.ts).
      define: campaignBundleDefine(props.campaigns),
    };
    const intake = new RenewalFunction(this, 'IntakeFunction', {
      ...common,
      entry: 'intake',
      description: 'Validates platform events from the intake FIFO queue and stores each exactly once',
      timeout: INTAKE_TIMEOUT,
      memorySize: FUNCTION_MEMORY_MB.intake,
    })
      .useStores(tables, INTAKE_NEEDS)
      .acknowledgeGrant(
        'dynamodb:BatchGetItem',
        'A batch SQS delivers again after a failed write looks up the change records of the events it finds already stored: one with GetItem, several at once with BatchGetItem, which a season without failures never needs',
        tables.changes.tableArn,
      );
    // Lambda's poller reads the queue with the function's role: exactly the three calls it makes
    // (CDK's SqsEventSource would also grant ChangeMessageVisibility and GetQueueUrl, which it never uses).
    intake.addToRolePolicy(new PolicyStatement({ actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], resources: [this.intakeQueue.queueArn] }));
    const intakeMapping = new EventSourceMapping(this, 'IntakeQueueMapping', { target: intake, eventSourceArn: this.intakeQueue.queueArn, batchSize: 10, reportBatchItemFailures: true });
    intakeMapping.node.addDependency(intake.role!);

    const aggregate = new RenewalFunction(this, 'AggregateFunction', {
      ...common,
      entry: 'aggregate',
      description: 'Counts paid orders per store-day and provider from what was ingested since the last run',
      timeout: Duration.minutes(15),
      memorySize: FUNCTION_MEMORY_MB.aggregate,
    })
      .useStores(tables, AGGREGATE_NEEDS)
      .acknowledgeGrant('dynamodb:UpdateItem', HEARTBEAT, tables.aggregates.tableArn)
      .acknowledgeGrant('dynamodb:GetItem', LOCK_HOLDER, tables.aggregates.tableArn)
      .acknowledgeGrant('dynamodb:Query', GROUPED_FINISH_QUERY, tables.aggregates.tableArn);

    const notify = new RenewalFunction(this, 'NotifyFunction', {
      ...common,
      entry: 'notify',
      description: 'Sends the outcome and progress mails that are due and not yet sent (outbox ledger)',
      timeout: Duration.minutes(15),
      memorySize: FUNCTION_MEMORY_MB.notify,
    })
      .useStores(tables, NOTIFY_NEEDS)
      .useMailSender({
        identityArns: [senderIdentity.emailIdentityArn, ...config.sandboxRecipients.map((r) => this.formatArn({ service: 'ses', resource: 'identity', resourceName: r }))],
        configurationSetName: configurationSet.configurationSetName,
        mailFrom,
      });
    if (config.mailFromName) notify.addEnvironment(ENV.mailFromName, config.mailFromName);
    if (config.mailReplyTo) notify.addEnvironment(ENV.mailReplyTo, config.mailReplyTo);
    if (config.feedbackMailbox) notify.addEnvironment(ENV.feedbackMailbox, config.feedbackMailbox);
    notify.addEnvironment(ENV.mailRatePerSecond, String(config.mailRatePerSecond));
    if (config.exitRefundProcedure) notify.addEnvironment(ENV.exitRefundProcedure, config.exitRefundProcedure);

    const evaluate = new RenewalFunction(this, 'EvaluateFunction', {
      ...common,
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
      .useFunction(notify, ENV.notifyFunctionName);

    const report = new RenewalFunction(this, 'ReportFunction', {
      ...common,
      entry: 'report',
      description: 'Reads the decisions of a campaign (renewal report --aws)',
      timeout: Duration.seconds(60),
      memorySize: FUNCTION_MEMORY_MB.report,
    }).useStores(tables, REPORT_NEEDS);

    const mailEvents = new RenewalFunction(this, 'MailEventsFunction', {
      ...common,
      entry: 'mail-events',
      description: 'Records the SES events of each mail (Send, Delivery, Bounce, Complaint, Reject, DeliveryDelay) on its notice in the outbox ledger',
      timeout: Duration.seconds(30),
      memorySize: FUNCTION_MEMORY_MB.mailEvents,
    }).useStores(tables, MAIL_EVENTS_NEEDS);
    mailEventsTopic.addSubscription(new LambdaSubscription(mailEvents, { deadLetterQueue: this.mailEventsDeadLetterQueue }));

    // ---- The public delisting notice (摘牌公示) ---------------------------------------------------
    // A private bucket (versioned, encrypted, public access blocked), read by the public only through
    // CloudFront with origin access control. The response headers carry the pages' own
    // Content-Security-Policy (shared/pages/page.ts) plus what only a header can say.
    this.noticeBucket = new Bucket(this, 'NoticeBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // A public record: deleting the stack leaves it (and every version) in place.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const noticeHeaders = new ResponseHeadersPolicy(this, 'NoticeResponseHeaders', {
      comment: `Provider renewal (${config.stage}): the delisting notice's security headers`,
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: PAGE_CSP_HEADER, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
    });
    this.noticeDistribution = new Distribution(this, 'NoticeDistribution', {
      comment: `Provider renewal (${config.stage}): public delisting notice`,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.noticeBucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        // Honours the objects' Cache-Control: a year for a version, 60 s for latest/.
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: noticeHeaders,
      },
      httpVersion: HttpVersion.HTTP2_AND_3,
      // Readers are in mainland China and around it: the price class that includes Asian edges.
      priceClass: PriceClass.PRICE_CLASS_200,
    });
    const noticeBaseUrl = `https://${this.noticeDistribution.distributionDomainName}`;

    const publish = new RenewalFunction(this, 'PublishFunction', {
      ...common,
      entry: 'publish',
      description: 'Publishes the public delisting notice: the next version when the list of revoked providers changed',
      timeout: Duration.minutes(2),
      memorySize: FUNCTION_MEMORY_MB.publish,
    }).useStores(tables, PUBLISH_NEEDS, { notice: this.noticeBucket });
    publish.addEnvironment(ENV.noticeBaseUrl, noticeBaseUrl);
    if (config.feedbackMailbox) publish.addEnvironment(ENV.feedbackMailbox, config.feedbackMailbox);
    evaluate.useFunction(publish, ENV.publishFunctionName);

    if (config.thresholdOrders !== undefined) {
      for (const fn of [evaluate, notify]) fn.addEnvironment(ENV.thresholdOrders, String(config.thresholdOrders));
    }
    // ---- Re-application check (clause 3) ---------------------------------------------------------
    // Invoked synchronously by the certification process and `renewal reapply check --aws`; read only.
    // The exception ledger is written by ops with their own credentials (`renewal reapply except --aws`).
    const reapply = new RenewalFunction(this, 'ReapplyFunction', {
      ...common,
      entry: 'reapply',
      description: 'May a provider apply for certification at an instant: the 90-day bar after a revocation, and its exceptions (renewal reapply check --aws)',
      timeout: Duration.seconds(30),
      memorySize: FUNCTION_MEMORY_MB.reapply,
    }).useStores(tables, REAPPLY_NEEDS);

    this.functions = { intake, aggregate, evaluate, notify, report, mailEvents, publish, reapply };

    // Scheduled and evaluate→notify invocations are asynchronous: what still fails after Lambda's
    // retries lands in the schedule dead-letter queue (and raises its alarm) instead of vanishing.
    const onFailure = new SendOnlyQueueDestination(this.scheduleDeadLetterQueue);
    aggregate.configureAsyncInvoke({ onFailure, retryAttempts: 1, maxEventAge: Duration.minutes(15) });
    evaluate.configureAsyncInvoke({ onFailure, retryAttempts: 2, maxEventAge: Duration.hours(6) });
    notify.configureAsyncInvoke({ onFailure, retryAttempts: 2, maxEventAge: Duration.hours(6) });
    publish.configureAsyncInvoke({ onFailure, retryAttempts: 2, maxEventAge: Duration.hours(6) });
    for (const fn of [aggregate, evaluate, notify, publish]) {
      fn.acknowledgeGrant(
        'sqs:SendMessage',
        'Lambda sends a failed asynchronous invocation to the schedule dead-letter queue, with this role, only after every retry failed: a season that goes well never does',
      );
    }
    mailEvents.configureAsyncInvoke({ onFailure: new SendOnlyQueueDestination(this.mailEventsDeadLetterQueue), retryAttempts: 2, maxEventAge: Duration.hours(6) });
    mailEvents.acknowledgeGrant('sqs:SendMessage', 'Lambda sends SES events it could not record, with this role, to the mail-events dead-letter queue only after every retry failed');

    // ---- The season jobs past one invocation (issue 21): plan, shards, finish on Step Functions ----
    const job = { mapConcurrency: config.mapConcurrency, logRetention: common.logRetention, logRemovalPolicy: common.logRemovalPolicy, tracing: config.tracing };
    this.stateMachines = {
      // A full recount at Douyin's volume runs for hours (docs/benchmarks.md); an incremental run, minutes.
      aggregation: new SeasonJobStateMachine(this, 'AggregationStateMachine', {
        ...job,
        job: 'aggregation',
        fn: aggregate,
        fnTimeout: aggregate.timeout!,
        timeout: Duration.hours(48),
        groups: { concurrency: config.groupConcurrency },
      }),
    };

    // ---- Schedules ----------------------------------------------------------------------------
    const scheduled = config.seasonSchedules ? props.campaigns.scheduled() : [];
    if (scheduled.length) this.addSeasonSchedules(config, scheduled, { aggregate, evaluate, notify, publish }, props.now ?? new Date());

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
    alarm('IntakeDeadLetterAlarm', depth(this.intakeDeadLetterQueue), 'Intake events failed 5 deliveries and wait in the intake dead-letter queue (docs/operations.md: the intake queue)');
    alarm('ScheduleDeadLetterAlarm', depth(this.scheduleDeadLetterQueue), 'A scheduled run failed and its event waits in the schedule dead-letter queue (docs/operations.md: run it by hand)');
    alarm('MailEventsDeadLetterAlarm', depth(this.mailEventsDeadLetterQueue), 'SES mail events could not be recorded and wait in the mail-events dead-letter queue (docs/operations.md: replay)');
    // Published by the functions through Powertools (EMF), under the names of shared/metric-names.ts.
    const appMetric = (metricName: string) => new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE_NAME }, period: Duration.minutes(5), statistic: 'Sum' });
    alarm('OutcomeMailBouncedAlarm', appMetric(METRIC.outcomeMailBounced), 'An outcome mail bounced: that provider has not received its result (renewal report --aws shows who, with the bounce type)');
    alarm('MailComplaintAlarm', appMetric(METRIC.mailComplaint), 'A provider marked a renewal mail as spam (renewal report --aws shows who)');
    alarm('MailUncertainAlarm', appMetric(METRIC.mailUncertain), 'notify left notices it could not settle (a run died or SES timed out): run renewal notify --aws again after the time it names');
    for (const [name, fn] of Object.entries(this.functions)) {
      const Name = name.charAt(0).toUpperCase() + name.slice(1);
      alarm(`${Name}ErrorsAlarm`, fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), `The ${name} function failed`);
      alarm(`${Name}ThrottlesAlarm`, fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }), `The ${name} function was throttled`);
    }

    // One dashboard per scheduled season, with its dates; none scheduled: one for the stage.
    if (scheduled.length) for (const c of scheduled) this.addDashboard(config, c);
    else this.addDashboard(config);

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
    new CfnOutput(this, OUTPUTS.mailEventsDeadLetterQueueUrl, { value: this.mailEventsDeadLetterQueue.queueUrl });
    new CfnOutput(this, OUTPUTS.alarmTopicArn, { value: this.alarmTopic.topicArn });
    new CfnOutput(this, OUTPUTS.mailEventsTopicArn, { value: mailEventsTopic.topicArn });
    new CfnOutput(this, OUTPUTS.sesConfigurationSetName, { value: configurationSet.configurationSetName });
    new CfnOutput(this, OUTPUTS.senderIdentity, { value: identityName, description: 'SES identity to verify before mail can be sent' });
    new CfnOutput(this, OUTPUTS.noticeBucketName, { value: this.noticeBucket.bucketName, description: 'Bucket of the public delisting notice (private; read through CloudFront)' });
    new CfnOutput(this, OUTPUTS.noticeBaseUrl, { value: noticeBaseUrl, description: 'Public base URL of the delisting notice (CloudFront)' });
    new CfnOutput(this, OUTPUTS.aggregationStateMachineArn, {
      value: this.stateMachines.aggregation.stateMachine.stateMachineArn,
      description: 'The aggregation as plan, shards, finish (the 15-minute schedule starts it)',
    });
    // Every campaign's notice page, scheduled or not: a closed season's notice stays published.
    const outputIds = new Map<string, string>();
    for (const c of props.campaigns.list()) {
      const outputId = OUTPUTS.noticeUrl(c.campaignId);
      if (outputIds.has(outputId)) throw new Error(`campaigns ${outputIds.get(outputId)} and ${c.campaignId} would share the output ${outputId}: rename one`);
      outputIds.set(outputId, c.campaignId);
      new CfnOutput(this, outputId, {
        value: noticePageUrl(noticeBaseUrl, c.campaignId, 'latest'),
        description: `The public delisting notice of ${c.campaignId}: always its newest version`,
      });
    }
  }

  /**
   * What ops watch during the season, on one page: what the intake takes in, the queue behind it, the
   * dead-letter queues, how stale the counts are, the evaluation's outcomes, the mail, and every
   * function's errors, throttles and duration against its timeout. The custom metrics are the ones the
   * functions emit (shared/metric-names.ts); `renewal rehearse` shows each is emitted under that name.
   */
  private addDashboard(config: DeployConfig, campaign?: Campaign): void {
    const period = Duration.minutes(5);
    const custom = (metricName: string, label: string, statistic = 'Sum') =>
      new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE_NAME }, statistic, period, label });
    const season = campaign ? seasonSchedule(campaign) : undefined;
    const dashboard = new Dashboard(this, campaign ? `Dashboard-${campaign.campaignId}` : 'Dashboard', {
      dashboardName: campaign ? `provider-renewal-${config.stage}-${campaign.campaignId}` : `provider-renewal-${config.stage}`,
      defaultInterval: Duration.days(7),
    });
    const line = season
      ? `${campaign!.campaignId}, ${campaign!.periodStartDate} to ${campaign!.periodEndDate} (China time): intake → aggregation every ${season.aggregation.rateMinutes} min → evaluation ${season.evaluation.at.toISOString().slice(0, 16)}Z → mail → notice ${season.notice.at.toISOString().slice(0, 16)}Z`
      : 'Intake → aggregation → evaluation → mail (no season scheduled: ops run them by hand)';
    dashboard.addWidgets(new TextWidget({ markdown: `# Provider renewal (${config.stage})\n${line}. Runbook: docs/operations.md`, width: 24, height: 2 }));
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Intake: events per 5 minutes',
        left: [custom(METRIC.eventsAccepted, 'accepted'), custom(METRIC.eventsDuplicate, 'duplicates'), custom(METRIC.eventsRejected, 'rejected')],
        width: 8,
      }),
      new GraphWidget({
        title: 'Intake queue',
        left: [this.intakeQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'messages waiting' })],
        right: [this.intakeQueue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum', label: 'oldest message (s)' })],
        width: 8,
      }),
      new GraphWidget({
        title: 'Dead-letter queues (should stay at 0)',
        left: [
          this.intakeDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'intake DLQ' }),
          this.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'schedule DLQ' }),
        ],
        width: 8,
      }),
    );
    dashboard.addWidgets(
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
    );
    const fnWidgets = Object.entries(this.functions).map(
      ([name, fn]) =>
        new GraphWidget({
          title: `${name}: duration against its ${fn.timeout!.toSeconds()} s timeout; errors, throttles`,
          left: [fn.metricDuration({ period, statistic: 'Maximum', label: 'max duration (ms)' })],
          leftAnnotations: [{ value: fn.timeout!.toMilliseconds(), label: 'timeout' }],
          right: [fn.metricErrors({ period, statistic: 'Sum', label: 'errors' }), fn.metricThrottles({ period, statistic: 'Sum', label: 'throttles' })],
          width: 8,
        }),
    );
    for (let i = 0; i < fnWidgets.length; i += 3) dashboard.addWidgets(...fnWidgets.slice(i, i + 3));
  }

  /**
   * The seasons: for each scheduled campaign, aggregation every 15 minutes, the one-time period-end
   * evaluation, the weekly progress mail and the one-time publication of the delisting notice, under a
   * construct named by the campaign id. Each has a role that may invoke only its own function, a retry
   * policy and the schedule dead-letter queue. A scheduled campaign without a threshold (its file's
   * null, and no THRESHOLD_ORDERS) fails the synth, naming it (RULES.md "threshold").
   */
  private addSeasonSchedules(config: DeployConfig, campaigns: Campaign[], fns: { aggregate: IFunction; evaluate: IFunction; notify: IFunction; publish: IFunction }, now: Date) {
    const unthresholded = campaigns.filter((c) => c.thresholdOrders === null && config.thresholdOrders === undefined).map((c) => c.campaignId);
    if (unthresholded.length) {
      throw new Error(
        `thresholdOrders: the scheduled campaign${unthresholded.length > 1 ? 's' : ''} ${unthresholded.join(', ')} ha${unthresholded.length > 1 ? 've' : 's'} no threshold ` +
          '(the file says null) and the deployment sets none: set it in the campaign file, or deploy with -c thresholdOrders=N (RENEWAL_THRESHOLD_ORDERS), or set "schedule": false',
      );
    }
    const group = new ScheduleGroup(this, 'ScheduleGroup', {
      scheduleGroupName: `provider-renewal-${config.stage}`,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    for (const c of campaigns) this.addCampaignSchedules(group, c, fns, now);
  }

  private addCampaignSchedules(group: ScheduleGroup, c: Campaign, fns: { aggregate: IFunction; evaluate: IFunction; notify: IFunction; publish: IFunction }, now: Date) {
    const scope = new Construct(this, c.campaignId);
    const season = seasonSchedule(c);
    const zone = TimeZone.of(season.timeZone);
    const target = (roleId: string, fn: IFunction, input: object, retryAttempts: number, maxEventAge: Duration) => {
      const role = new Role(scope, roleId, {
        // Only schedules of this group, in this account, may assume it (confused deputy).
        assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': this.account, 'aws:SourceArn': group.scheduleGroupArn } },
        }),
        description: `EventBridge Scheduler (${season.campaignId}): may invoke ${fn.node.id} and nothing else`,
      });
      acknowledgeGrant(role, 'sqs:SendMessage', 'Scheduler puts a firing in the schedule dead-letter queue, with this role, only when it cannot invoke the function after its retries');
      return new InvokeThisFunctionOnly(fn, {
        role,
        input: ScheduleTargetInput.fromObject(input),
        deadLetterQueue: this.scheduleDeadLetterQueue,
        retryAttempts,
        maxEventAge,
      });
    };
    /** A target that starts an execution of a season job's state machine; its role may start that one and nothing else. */
    const startTarget = (roleId: string, machine: IStateMachine, input: object, retryAttempts: number, maxEventAge: Duration) => {
      const role = new Role(scope, roleId, {
        assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': this.account, 'aws:SourceArn': group.scheduleGroupArn } },
        }),
        description: `EventBridge Scheduler (${season.campaignId}): may start ${machine.node.scope?.node.id ?? machine.node.id} executions and nothing else`,
      });
      acknowledgeGrant(role, 'sqs:SendMessage', 'Scheduler puts a firing in the schedule dead-letter queue, with this role, only when it cannot start the execution after its retries');
      return new StepFunctionsStartExecution(machine, { role, input: ScheduleTargetInput.fromObject(input), deadLetterQueue: this.scheduleDeadLetterQueue, retryAttempts, maxEventAge });
    };

    const aggregation = new Schedule(scope, 'AggregationSchedule', {
      scheduleGroup: group,
      description: `Aggregation of ${season.campaignId}, every ${season.aggregation.rateMinutes} minutes during the season`,
      schedule: ScheduleExpression.rate(Duration.minutes(season.aggregation.rateMinutes)),
      start: season.aggregation.start,
      end: season.aggregation.end,
      // A run that cannot be delivered within minutes is superseded by the next one.
      target: startTarget('AggregationScheduleRole', this.stateMachines.aggregation.stateMachine, { campaignId: season.campaignId }, 3, Duration.minutes(10)),
    });
    // Written as the wall clock in the campaign's zone, so the template reads as the rules do:
    // at(<day after the period>T00:30:00) Asia/Shanghai = 16:30Z of the period's last day. (ScheduleExpression.at(date, tz)
    // would write the UTC wall clock of `date` and then read it in `tz`.)
    const evaluation = new Schedule(scope, 'EvaluationSchedule', {
      scheduleGroup: group,
      description: `Period-end evaluation of ${season.campaignId}, once, 30 minutes after the period closed`,
      schedule: ScheduleExpression.expression(`at(${season.evaluation.wallClock})`, zone),
      target: target('EvaluationScheduleRole', fns.evaluate, { campaignId: season.campaignId }, 185, Duration.hours(24)),
    });
    const progress = new Schedule(scope, 'ProgressMailSchedule', {
      scheduleGroup: group,
      description: `Weekly progress mail of ${season.campaignId}, Monday 10:00 China time, during the season`,
      schedule: ScheduleExpression.expression(season.progress.cron, zone),
      start: season.progress.start,
      end: season.progress.end,
      target: target('ProgressMailScheduleRole', fns.notify, { campaignId: season.campaignId, kind: 'progress' }, 185, Duration.hours(24)),
    });
    // The delisting notice, once, on the notice date in office hours, well after the evaluation;
    // later corrections are published by the evaluation itself (PUBLISH_FUNCTION_NAME).
    const notice = new Schedule(scope, 'NoticeSchedule', {
      scheduleGroup: group,
      description: `Public delisting notice of ${season.campaignId}, once, on the notice date at ${season.notice.wallClock.slice(11, 16)} China time`,
      schedule: ScheduleExpression.expression(`at(${season.notice.wallClock})`, zone),
      target: target('NoticeScheduleRole', fns.publish, { campaignId: season.campaignId }, 185, Duration.hours(24)),
    });
    // The group is named, not referenced: make the order explicit.
    for (const schedule of [aggregation, evaluation, progress, notice]) schedule.node.addDependency(group);

    // The clock only warns; the template is the same whenever it is synthesized.
    if (now.getTime() > season.aggregation.start.getTime()) {
      Annotations.of(scope).addWarningV2(
        'renewal:season-schedules-in-the-past',
        `The ${season.campaignId} season started ${season.aggregation.start.toISOString()}; EventBridge Scheduler refuses recurring schedules that start in the past. ` +
          `For a deployment after its start, set "schedule": false in campaigns/${season.campaignId}.json and run its functions by hand (docs/operations.md).`,
      );
    }
  }
}
