/**
 * Mail sending: the SES sender identity and configuration set, the notify function that sends the
 * outcome and progress mails, and the way back of SES's events (an SNS topic, the mail-events function
 * that records them on the outbox ledger, and a dead-letter queue for what it could not record).
 *
 * Its resources are created in the stack's scope, not under this construct, so that their logical ids
 * stay those of a deployed stack (cdk/intake-pipeline.ts says why).
 */
import { CfnParameter, Duration, Fn, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { ConfigurationSet, EmailIdentity, EmailSendingEvent, EventDestination, Identity, SuppressionReasons } from 'aws-cdk-lib/aws-ses';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '#shared/config.ts';
import { EMAIL } from '#shared/events.ts';
import { FUNCTION_MEMORY_MB } from '#shared/sizing.ts';
import type { TableId } from '#shared/tables.ts';
import { MAIL_EVENTS_NEEDS } from '#shared/usecases/mail-events.ts';
import { NOTIFY_NEEDS } from '#shared/usecases/notify.ts';
import type { DeployConfig } from './config.ts';
import { RenewalFunction, SendOnlyQueueDestination, type FunctionDefaults } from './function.ts';

/** The CloudFormation parameter that carries the sender address (`cdk deploy --parameters MailFrom=…`). */
export const MAIL_FROM_PARAMETER = 'MailFrom';

export interface MailSendingProps {
  config: DeployConfig;
  tables: Record<TableId, ITable>;
  functions: FunctionDefaults;
}

export class MailSending extends Construct {
  /** Sends the mails that are due and not yet sent. */
  readonly notify: RenewalFunction;
  /** Records SES's events on the outbox ledger. */
  readonly mailEvents: RenewalFunction;
  /** Where SES publishes the events of every mail. */
  readonly topic: Topic;
  /** SES events the mail-events function could not record. */
  readonly deadLetterQueue: Queue;
  readonly configurationSet: ConfigurationSet;
  /** The SES identity to verify: the sender address, or its domain (`senderIdentity`). */
  readonly identityName: string;

  /** `scope` is the stack: the resources are created in it (see the module comment). */
  constructor(scope: Construct, id: string, props: MailSendingProps) {
    super(scope, id);
    const { config, tables } = props;
    /*
     * SES events the mail-events function could not record (SNS's delivery to it failed, or it failed
     * after Lambda's retries): kept 14 days for a replay, alarmed. A lost Send event could otherwise
     * let notify send a notice again after MAIL_EVENT_WAIT_SECONDS.
     */
    this.deadLetterQueue = new Queue(scope, 'MailEventsDeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.topic = new Topic(scope, 'MailEventsTopic', {
      displayName: `Provider renewal (${config.stage}): SES mail events`,
      enforceSSL: true,
    });
    // Bounces and complaints put the address on the account-level suppression list: SES itself then
    // refuses to mail it again, whatever the code does.
    this.configurationSet = new ConfigurationSet(scope, 'MailConfigurationSet', {
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      reputationMetrics: true,
      sendingEnabled: true,
    });
    // Every mail carries its notice id as the `notice` tag; SES repeats it in each event, and the
    // mail-events function records them on the ledger: Send is how notify knows a mail went out even
    // when its sender died before marking it; the rest is what `report` shows per provider.
    this.configurationSet.addEventDestination('MailEvents', {
      destination: EventDestination.snsTopic(this.topic),
      events: [EmailSendingEvent.SEND, EmailSendingEvent.DELIVERY, EmailSendingEvent.BOUNCE, EmailSendingEvent.COMPLAINT, EmailSendingEvent.REJECT, EmailSendingEvent.DELIVERY_DELAY],
    });
    const { mailFrom, identityName, identityArn } = this.addSender(scope, config);
    this.identityName = identityName;

    this.notify = new RenewalFunction(scope, 'NotifyFunction', {
      ...props.functions,
      entry: 'notify',
      description: 'Sends the outcome and progress mails that are due and not yet sent (outbox ledger)',
      timeout: Duration.minutes(15),
      memorySize: FUNCTION_MEMORY_MB.notify,
    })
      .useStores(tables, NOTIFY_NEEDS)
      .useMailSender({
        identityArns: [identityArn, ...config.sandboxRecipients.map((r) => Stack.of(scope).formatArn({ service: 'ses', resource: 'identity', resourceName: r }))],
        configurationSetName: this.configurationSet.configurationSetName,
        mailFrom,
      });
    const optional = [
      [ENV.mailFromName, config.mailFromName],
      [ENV.mailReplyTo, config.mailReplyTo],
      [ENV.feedbackMailbox, config.feedbackMailbox],
      [ENV.mailRatePerSecond, String(config.mailRatePerSecond)],
      [ENV.exitRefundProcedure, config.exitRefundProcedure],
      [ENV.thresholdOrders, config.thresholdOrders === undefined ? undefined : String(config.thresholdOrders)],
    ] as const;
    for (const [name, value] of optional) if (value) this.notify.addEnvironment(name, value);

    this.mailEvents = new RenewalFunction(scope, 'MailEventsFunction', {
      ...props.functions,
      entry: 'mail-events',
      description: 'Records the SES events of each mail (Send, Delivery, Bounce, Complaint, Reject, DeliveryDelay) on its notice in the outbox ledger',
      timeout: Duration.seconds(30),
      memorySize: FUNCTION_MEMORY_MB.mailEvents,
    }).useStores(tables, MAIL_EVENTS_NEEDS);
    this.topic.addSubscription(new LambdaSubscription(this.mailEvents, { deadLetterQueue: this.deadLetterQueue }));
    this.mailEvents.configureAsyncInvoke({ onFailure: new SendOnlyQueueDestination(this.deadLetterQueue), retryAttempts: 2, maxEventAge: Duration.hours(6) });
    this.mailEvents.acknowledgeGrant('sqs:SendMessage', 'Lambda sends SES events it could not record, with this role, to the mail-events dead-letter queue only after every retry failed');
  }

  /**
   * The sender: a deploy-time parameter (often unknown when the app is synthesized; without it
   * `cdk deploy` stops before anything can send mail, "…missing a value: MailFrom") and its SES
   * identity, the address itself or its domain.
   */
  private addSender(scope: Construct, config: DeployConfig): { mailFrom: string; identityName: string; identityArn: string } {
    const mailFrom = new CfnParameter(scope, MAIL_FROM_PARAMETER, {
      type: 'String',
      description: 'Sender address of every mail (a plain address, no display name); SES verifies it, or its domain',
      allowedPattern: EMAIL.source,
      constraintDescription: 'must be one plain e-mail address, such as noreply@renewal.example.com',
      ...(config.mailFrom ? { default: config.mailFrom } : {}),
    }).valueAsString;
    const domain = config.senderIdentity === 'domain';
    const identityName = domain ? Fn.select(1, Fn.split('@', mailFrom)) : mailFrom;
    const identity = new EmailIdentity(scope, 'SenderIdentity', {
      identity: domain ? Identity.domain(identityName) : Identity.email(identityName),
      configurationSet: this.configurationSet,
    });
    return { mailFrom, identityName, identityArn: identity.emailIdentityArn };
  }
}
