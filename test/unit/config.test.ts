import { describe, expect, it } from 'vitest';
import { lambdaEnvironment } from '#functions/lambda.ts';
import { ConfigError, mailEnv, noticeEnv, onlyTables, overlapEnv, readEnv, thresholdEnv } from '#shared/config.ts';
import { NOTIFY_NEEDS } from '#shared/usecases/notify.ts';

/** The functions' configuration as a Lambda entry reads it (shared/config.ts, functions/lambda.ts). */
const failure = (f: () => unknown): ConfigError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

describe('readEnv', () => {
  it('names every missing or malformed variable at once, not just the first', () => {
    const e = failure(() => readEnv({ mail: mailEnv, overlapMs: overlapEnv }, { MAIL_RATE_PER_SECOND: 'fast', AGGREGATION_OVERLAP_SECONDS: '1.5', THRESHOLD_ORDERS: '0' }));
    expect(e.message).toMatch(/MAIL_FROM is not set/);
    expect(e.message).toMatch(/MAIL_RATE_PER_SECOND must be a positive number, got "fast"/);
    expect(e.message).toMatch(/AGGREGATION_OVERLAP_SECONDS must be a whole number of seconds, got "1.5"/);
    expect(e.message).toMatch(/THRESHOLD_ORDERS must be a positive integer, got "0"/);
  });

  it('an empty variable is an unset one: a default where there is one, "not set" where it is required', () => {
    expect(readEnv({ t: thresholdEnv, o: overlapEnv }, { THRESHOLD_ORDERS: '', AGGREGATION_OVERLAP_SECONDS: '' })).toEqual({ t: undefined, o: 60_000 });
    expect(failure(() => readEnv({ mail: mailEnv }, { MAIL_FROM: '' })).message).toMatch(/MAIL_FROM is not set/);
  });

  it('reads the mail settings with their defaults, seconds as milliseconds', () => {
    expect(readEnv({ mail: mailEnv }, { MAIL_FROM: 'a@b.example', MAIL_EVENT_WAIT_SECONDS: '30', THRESHOLD_ORDERS: '300' }).mail).toEqual({
      from: 'a@b.example',
      ratePerSecond: 1,
      eventWaitMs: 30_000,
      thresholdOrders: 300,
    });
  });

  it('refuses a notice base URL that is not http(s)', () => {
    expect(failure(() => readEnv({ n: noticeEnv }, { NOTICE_BUCKET: 'b', NOTICE_BASE_URL: 'javascript:alert(1)' })).message).toMatch(/NOTICE_BASE_URL must be an http\(s\) URL/);
  });
});

describe('a function is told exactly the tables its use case needs', () => {
  const notifyEnv = { MAIL_FROM: 'a@b.example', TABLE_EVENTS: 'e', TABLE_AGGREGATES: 'a', TABLE_DECISIONS: 'd', TABLE_OUTBOX: 'o' };

  it('notify starts with its four tables and the sender, and says which table is missing', () => {
    expect(lambdaEnvironment('notify', NOTIFY_NEEDS, { mail: mailEnv }, notifyEnv).tables.outbox).toBe('o');
    const { TABLE_OUTBOX: _, ...withoutOutbox } = notifyEnv;
    expect(failure(() => lambdaEnvironment('notify', NOTIFY_NEEDS, { mail: mailEnv }, withoutOutbox)).message).toMatch(/TABLE_OUTBOX is not set/);
  });

  it('reading the name of a table it was not given is an error naming the function and the table', () => {
    const { tables } = lambdaEnvironment('notify', NOTIFY_NEEDS, { mail: mailEnv }, notifyEnv);
    expect(failure(() => tables.orders).message).toMatch(/the notify function has no TABLE_ORDERS/);
    const only = onlyTables({ outbox: 'o' }, 'x');
    expect(Object.keys(only)).toEqual(['outbox']);
  });
});
