import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '#shared/config.ts';
import { renderProgressMail } from '#shared/mail/templates.ts';

import { envNameOf, parseConfig, readConfig } from '../../cdk/config.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

/** Deployment configuration: read once, validated with zod, every error naming the key. */
const error = (raw: Record<string, unknown>) => {
  try {
    parseConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('deployment configuration', () => {
  it('leaves mailFrom to deploy time when synth does not know it (no silent default sender); a given one must be plain', () => {
    expect(parseConfig({}).mailFrom).toBeUndefined();
    expect(parseConfig({ mailFrom: '  ' }).mailFrom).toBeUndefined();
    expect(error({ mailFrom: 'Renewal <noreply@example.com>' })).toMatch(/mailFrom \(-c mailFrom=… or RENEWAL_MAIL_FROM\): must be a plain e-mail address/);
  });

  it('has the documented defaults', () => {
    expect(parseConfig({ mailFrom: 'noreply@example.com' })).toEqual({
      stage: 'dev',
      mailFrom: 'noreply@example.com',
      mailRatePerSecond: 1,
      senderIdentity: 'address',
      sandboxRecipients: [],
      logLevel: 'INFO',
      logRetentionDays: 180,
      tracing: false,
      mapConcurrency: 10,
      groupConcurrency: 10,
      seasonSchedules: true,
    });
  });

  it('takes -c strings and cdk.json values alike', () => {
    const c = parseConfig({
      mailFrom: 'noreply@example.com',
      thresholdOrders: '12000',
      mailRatePerSecond: 14,
      tracing: 'true',
      seasonSchedules: false,
      sandboxRecipients: 'a@example.com, b@example.com',
      logLevel: 'debug',
    });
    expect(c).toMatchObject({ thresholdOrders: 12000, mailRatePerSecond: 14, tracing: true, seasonSchedules: false, sandboxRecipients: ['a@example.com', 'b@example.com'], logLevel: 'DEBUG' });
  });

  it.each([
    ['thresholdOrders', '0', /thresholdOrders .*must be a positive integer/],
    ['thresholdOrders', '1.5', /thresholdOrders .*must be a positive integer/],
    ['mailRatePerSecond', 'fast', /mailRatePerSecond \(-c mailRatePerSecond=… or RENEWAL_MAIL_RATE_PER_SECOND\): must be a positive number/],
    ['mailRatePerSecond', '0', /mailRatePerSecond .*must be a positive number/],
    ['stage', 'Prod', /stage .*lower-case/],
    ['alarmEmail', 'ops', /alarmEmail .*email/i],
    ['tracing', 'maybe', /tracing .*"true"/],
    ['logRetentionDays', '2', /logRetentionDays .*must be one of/],
    ['senderIdentity', 'dns', /senderIdentity/],
    ['sandboxRecipients', 'ok@example.com,nope', /sandboxRecipients \[item 1\]/],
  ])('%s=%s is refused with an error naming the key', (key, value, message) => {
    expect(error({ mailFrom: 'noreply@example.com', [key]: value })).toMatch(message);
  });

  it('accepts exactly the feedback mailboxes the mails accept: a deployment cannot configure one that every mail refuses', () => {
    const deploys = (feedbackMailbox: string) => {
      try {
        return parseConfig({ mailFrom: 'noreply@example.com', feedbackMailbox }).feedbackMailbox === feedbackMailbox;
      } catch (e) {
        if (e instanceof ConfigError && /feedbackMailbox/.test(e.message)) return false;
        throw e;
      }
    };
    const snapshot = {
      providerId: 'P1',
      providerName: 'n',
      email: 'p1@example.com',
      asOfDate: '2024-01-15',
      paidOrders: 1,
      thresholdOrders: 10,
      ordersByDay: {},
      depositBalanceFen: 0,
      depositRequiredFen: 10,
      periodStartDate: '2023-12-01',
      periodEndDate: '2024-02-29',
    };
    const mails = (feedbackMailbox: string) => {
      try {
        return renderProgressMail({ snapshot, campaign: RENEWAL_2024, settings: { feedbackMailbox, exitRefundProcedure: 'x' } }).text.includes(feedbackMailbox);
      } catch (e) {
        if (/settings\.feedbackMailbox/.test((e as Error).message)) return false;
        throw e;
      }
    };
    // Each once accepted by one side and refused by the other (zod's z.email() against the mails' own regex).
    for (const m of ["o'brien@example.com", 'a@b.c', 'user@sub_domain.example.com', 'a@example.com.', '用户@例子.中国', 'a@[1.2.3.4]', 'ops@example.com']) {
      expect([m, deploys(m)]).toEqual([m, mails(m)]);
    }
    const local = fc.stringMatching(/^[a-z0-9.'_+{}!-]{1,12}$/);
    const domain = fc.stringMatching(/^[a-z0-9._-]{1,12}\.[a-z]{1,4}\.?$/);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.emailAddress(),
          fc.tuple(local, domain).map(([l, d]) => `${l}@${d}`),
        ),
        (m) => deploys(m.trim()) === mails(m.trim()),
      ),
    );
  });

  it('lists every bad key at once', () => {
    const m = error({ stage: 'X', thresholdOrders: '-1', mailFrom: 'nope' });
    expect(m).toMatch(/stage/);
    expect(m).toMatch(/mailFrom/);
    expect(m).toMatch(/thresholdOrders/);
  });

  it('context wins over the environment, which fills what the context leaves unset', () => {
    const context: Record<string, unknown> = { stage: 'prod' };
    const c = readConfig((k) => context[k], { RENEWAL_STAGE: 'dev', RENEWAL_MAIL_FROM: 'env@example.com', RENEWAL_THRESHOLD_ORDERS: '' });
    expect(c.stage).toBe('prod');
    expect(c.mailFrom).toBe('env@example.com');
    expect(c.thresholdOrders).toBeUndefined();
    expect(envNameOf('mailRatePerSecond')).toBe('RENEWAL_MAIL_RATE_PER_SECOND');
  });
});
