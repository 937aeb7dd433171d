/**
 * SES's event publishing and the SNS topics it publishes to, as the template defines them
 * (`AWS::SES::ConfigurationSetEventDestination`, `AWS::SNS::Subscription`, the topic policies and
 * `AWS::Lambda::Permission`s):
 * - a mail SES accepted with a configuration set yields the events its destinations match (Send at
 *   once, Delivery a few seconds later: the embedded SES delivers everything);
 * - SES may publish to a topic only if the topic's policy lets `ses.amazonaws.com` with that
 *   configuration set as the source;
 * - SNS invokes each Lambda subscriber asynchronously, if the function's permission lets
 *   `sns.amazonaws.com` from that topic; a subscriber it cannot invoke gets the message in the
 *   subscription's dead-letter queue.
 */
import { randomUUID } from 'node:crypto';
import type { PolicyDocument } from './iam.ts';
import type { SesSend } from './gateway-requests.ts';
import type { AsyncEvent, AsyncTarget } from './invoker.ts';

export interface MailEventRoute {
  configurationSet: string;
  /** Lower case: `send`, `delivery`, `bounce`, … */
  types: string[];
  topicArn: string;
}

export interface Subscription {
  arn: string;
  topicArn: string;
  protocol: string;
  endpoint: string;
  deadLetterArn?: string;
}

/** One SES event on its way to a topic. */
export interface Publication {
  at: number;
  topicArn: string;
  message: unknown;
  configurationSet: string;
}

export interface SnsBusOptions<F extends AsyncTarget> {
  account: string;
  routes: MailEventRoute[];
  subscriptions: Subscription[];
  topicPolicy: (topicArn: string) => PolicyDocument | undefined;
  /** The resource policy of a function (its `AWS::Lambda::Permission`s). */
  functionPolicy: (functionArn: string) => PolicyDocument | undefined;
  configurationSetArn: (name: string) => string;
  /** IAM's verdict on an AWS service acting on a resource, from the resource's policy alone. */
  authorizeService: (service: string, action: string, resource: string, policy: PolicyDocument | undefined, context: Record<string, string>) => Promise<boolean>;
  functionOf: (arn: string) => F | undefined;
  /** A publication due at `p.at`. */
  later: (p: Publication) => void;
  /** SNS hands the message to a Lambda subscriber (asynchronous invocation). */
  invokeAsync: (e: AsyncEvent<F>) => Promise<void>;
  /** SNS puts a message it could not deliver in a subscription's dead-letter queue. */
  deadLetter: (queueArn: string, body: string) => void;
  onFailed?: () => void;
}

export class SnsBus<F extends AsyncTarget> {
  constructor(private readonly o: SnsBusOptions<F>) {}

  /** A mail SES accepted: the events its configuration set publishes, each due at its instant. */
  mailSent(m: SesSend): void {
    for (const route of this.o.routes.filter((x) => x.configurationSet === m.configurationSet)) {
      for (const e of sesEventRecords(m, this.o.account)) {
        if (route.types.includes(e.type)) this.o.later({ at: m.atMs + e.afterMs, topicArn: route.topicArn, message: e.record, configurationSet: route.configurationSet });
      }
    }
  }

  /** SES publishes `p` to its topic, and SNS invokes the topic's Lambda subscribers one after another. */
  async deliver(p: Publication): Promise<void> {
    const { o } = this;
    const context = { 'aws:SourceArn': o.configurationSetArn(p.configurationSet), 'aws:SourceAccount': o.account, 'aws:SecureTransport': 'true' };
    if (!(await o.authorizeService('ses.amazonaws.com', 'sns:Publish', p.topicArn, o.topicPolicy(p.topicArn), context))) return o.onFailed?.();
    for (const sub of o.subscriptions.filter((x) => x.topicArn === p.topicArn && x.protocol === 'lambda')) {
      const fn = o.functionOf(sub.endpoint);
      const mayInvoke =
        fn && (await o.authorizeService('sns.amazonaws.com', 'lambda:InvokeFunction', sub.endpoint, o.functionPolicy(sub.endpoint), { 'aws:SourceArn': p.topicArn, 'aws:SourceAccount': o.account }));
      if (!fn || !mayInvoke) {
        if (sub.deadLetterArn) o.deadLetter(sub.deadLetterArn, JSON.stringify(p.message));
        o.onFailed?.();
        continue;
      }
      await o.invokeAsync({ at: p.at, fn, payload: snsEvent(p.topicArn, sub.arn, p.message, p.at), attempt: 0, firstAt: p.at, source: 'sns' });
    }
  }
}

/**
 * The events SES publishes for a mail it accepted and delivered, shaped as "Examples of event data
 * that Amazon SES publishes to Amazon SNS" in the SES developer guide.
 */
export function sesEventRecords(m: SesSend, account: string): { type: string; afterMs: number; record: unknown }[] {
  const mail = {
    timestamp: new Date(m.atMs).toISOString(),
    source: m.source,
    sendingAccountId: account,
    messageId: m.messageId,
    destination: m.to,
    tags: { ...Object.fromEntries(Object.entries(m.tags).map(([k, v]) => [k, [v]])), 'ses:configuration-set': [m.configurationSet ?? ''] },
  };
  return [
    { type: 'send', afterMs: 1_000, record: { eventType: 'Send', mail, send: {} } },
    {
      type: 'delivery',
      afterMs: 4_000,
      record: {
        eventType: 'Delivery',
        mail,
        delivery: { timestamp: new Date(m.atMs + 3_000).toISOString(), recipients: m.to, processingTimeMillis: 3000, smtpResponse: '250 2.6.0 Message received' },
      },
    },
  ];
}

/** The Lambda event SNS hands a subscriber. */
export function snsEvent(topicArn: string, subscriptionArn: string, message: unknown, atMs: number) {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: subscriptionArn,
        Sns: {
          Type: 'Notification',
          MessageId: randomUUID(),
          TopicArn: topicArn,
          Subject: null,
          Message: JSON.stringify(message),
          Timestamp: new Date(atMs).toISOString(),
          SignatureVersion: '1',
          Signature: 'rehearsal',
          SigningCertUrl: '',
          UnsubscribeUrl: '',
          MessageAttributes: {},
        },
      },
    ],
  };
}
