/** SES events over SNS in the rehearsal (tools/rehearsal/sns.ts): routes by configuration set, topic policy, subscriber permission, DLQ. */
import { describe, expect, it } from 'vitest';
import type { SesSend } from '#tools/rehearsal/gateway-requests.ts';
import type { AsyncEvent, AsyncTarget } from '#tools/rehearsal/invoker.ts';
import { SnsBus, type Publication } from '#tools/rehearsal/sns.ts';

const TOPIC = 'arn:aws:sns:ap-southeast-1:123456789012:mail-events';
const mailEvents: AsyncTarget = {
  spec: {
    name: 'mailEvents',
    arn: 'arn:fn:mailEvents',
    principal: { name: 'mailEvents', roleArn: '', sessionArn: '', policies: [], acknowledged: [] },
    async: { maxRetries: 2, maxEventAgeMs: 21_600_000 },
  },
  stats: { retries: 0, deadLettered: 0 },
};
const send: SesSend = {
  principal: 'notify',
  atMs: Date.UTC(2024, 2, 1, 2, 0, 0),
  source: 'noreply@example.com',
  to: ['p1@example.com'],
  subject: '续牌结果',
  configurationSet: 'renewal',
  tags: { kind: 'outcome' },
  messageId: 'm-1',
};

function harness(o: { publish?: boolean; invoke?: boolean; subscriberMissing?: boolean } = {}) {
  const later: Publication[] = [];
  const invoked: AsyncEvent<AsyncTarget>[] = [];
  const dead: { queue: string; body: string }[] = [];
  const asked: { service: string; action: string; context: Record<string, string> }[] = [];
  const bus = new SnsBus<AsyncTarget>({
    account: '123456789012',
    routes: [
      { configurationSet: 'renewal', types: ['send', 'delivery', 'bounce'], topicArn: TOPIC },
      { configurationSet: 'other', types: ['send'], topicArn: 'arn:other' },
    ],
    subscriptions: [
      { arn: `${TOPIC}:sub`, topicArn: TOPIC, protocol: 'lambda', endpoint: o.subscriberMissing ? 'arn:fn:gone' : 'arn:fn:mailEvents', deadLetterArn: 'arn:dlq' },
      { arn: `${TOPIC}:mail`, topicArn: TOPIC, protocol: 'email', endpoint: 'ops@example.com' },
    ],
    topicPolicy: () => ({ Statement: [] }),
    functionPolicy: () => ({ Statement: [] }),
    configurationSetArn: (name) => `arn:aws:ses:ap-southeast-1:123456789012:configuration-set/${name}`,
    authorizeService: async (service, action, _r, _p, context) => {
      asked.push({ service, action, context });
      return service === 'ses.amazonaws.com' ? o.publish !== false : o.invoke !== false;
    },
    functionOf: (arn) => (arn === 'arn:fn:mailEvents' ? mailEvents : undefined),
    later: (p) => later.push(p),
    invokeAsync: async (e) => void invoked.push(e),
    deadLetter: (queue, body) => void dead.push({ queue, body }),
  });
  return { bus, later, invoked, dead, asked };
}

describe('SnsBus', () => {
  it('a mail sent with a configuration set yields Send after 1 s and Delivery after 4 s on its topic, nothing for another set', () => {
    const h = harness();
    h.bus.mailSent(send);
    h.bus.mailSent({ ...send, configurationSet: undefined });
    expect(h.later.map((p) => [p.at - send.atMs, (p.message as { eventType: string }).eventType, p.topicArn])).toEqual([
      [1_000, 'Send', TOPIC],
      [4_000, 'Delivery', TOPIC],
    ]);
    expect((h.later[1]!.message as { mail: { tags: Record<string, string[]> } }).mail.tags).toEqual({ kind: ['outcome'], 'ses:configuration-set': ['renewal'] });
  });

  it('a publication SES may make reaches each Lambda subscriber as an SNS event, invoked asynchronously', async () => {
    const h = harness();
    h.bus.mailSent(send);
    await h.bus.deliver(h.later[0]!);
    expect(h.asked.map((a) => `${a.service} ${a.action} ${a.context['aws:SourceArn']}`)).toEqual([
      'ses.amazonaws.com sns:Publish arn:aws:ses:ap-southeast-1:123456789012:configuration-set/renewal',
      `sns.amazonaws.com lambda:InvokeFunction ${TOPIC}`,
    ]);
    expect(h.invoked).toHaveLength(1);
    const record = (h.invoked[0]!.payload as { Records: { EventSubscriptionArn: string; Sns: { TopicArn: string; Message: string } }[] }).Records[0]!;
    expect(record.EventSubscriptionArn).toBe(`${TOPIC}:sub`);
    expect(JSON.parse(record.Sns.Message)).toMatchObject({ eventType: 'Send', mail: { messageId: 'm-1', destination: ['p1@example.com'] } });
    expect(h.invoked[0]).toMatchObject({ at: send.atMs + 1_000, attempt: 0, firstAt: send.atMs + 1_000, source: 'sns' });
  });

  it('a topic policy that does not let SES publish: no subscriber is invoked', async () => {
    const h = harness({ publish: false });
    h.bus.mailSent(send);
    await h.bus.deliver(h.later[0]!);
    expect(h.invoked).toEqual([]);
    expect(h.dead).toEqual([]);
  });

  it('a subscriber SNS may not invoke, or that does not exist, gets the message in the subscription dead-letter queue', async () => {
    for (const o of [{ invoke: false }, { subscriberMissing: true }]) {
      const h = harness(o);
      h.bus.mailSent(send);
      await h.bus.deliver(h.later[1]!);
      expect(h.invoked).toEqual([]);
      expect(h.dead.map((d) => [d.queue, (JSON.parse(d.body) as { eventType: string }).eventType])).toEqual([['arn:dlq', 'Delivery']]);
    }
  });
});
