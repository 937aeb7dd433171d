/** Lambda's asynchronous invocation in the rehearsal (tools/rehearsal/invoker.ts): retries at 60 s and 120 s, then the destination. */
import { describe, expect, it } from 'vitest';
import { SimClock } from '#tools/rehearsal/clock.ts';
import { AsyncInvoker, type AsyncEvent, type AsyncTarget, type InvocationRecord } from '#tools/rehearsal/invoker.ts';
import type { Principal } from '#tools/rehearsal/iam.ts';

const principal: Principal = { name: 'notify', roleArn: 'arn:aws:iam::123456789012:role/notify', sessionArn: 'arn:aws:sts::123456789012:assumed-role/notify/notify', policies: [], acknowledged: [] };
const T0 = Date.UTC(2024, 2, 1, 2, 0, 0);

function fnWith(async: AsyncTarget['spec']['async']): AsyncTarget {
  return { spec: { name: 'notify', arn: 'arn:aws:lambda:ap-southeast-1:123456789012:function:notify', principal, async }, stats: { retries: 0, deadLettered: 0 } };
}

/** An invoker whose function fails the first `failures` attempts; every attempt and every record sent is noted. */
function harness(fn: AsyncTarget, failures: number, o: { refuse?: boolean } = {}) {
  const clock = new SimClock<AsyncEvent & { kind?: string }>(T0);
  const attempts: number[] = [];
  const sent: { queue: string; record: InvocationRecord }[] = [];
  const deadLetters: string[] = [];
  const invoker = new AsyncInvoker<AsyncTarget>({
    clock,
    run: async (_fn, _payload, at) => {
      attempts.push(at - T0);
      clock.advanceTo(at + 500);
      return attempts.length <= failures ? { ok: false, error: { errorType: 'Error', errorMessage: `failure ${attempts.length}` } } : { ok: true };
    },
    later: (e) => clock.schedule(e),
    sendToQueue: async (_p, queue, body) => {
      if (o.refuse) return false;
      sent.push({ queue, record: JSON.parse(body) as InvocationRecord });
      return true;
    },
    onDeadLetter: (queue) => deadLetters.push(queue),
  });
  const start = async (e: Partial<AsyncEvent> = {}) => {
    await invoker.attempt({ at: T0, fn, payload: { kind: 'progress' }, attempt: 0, firstAt: T0, source: 'test', ...e });
    for (let next = clock.pop(); next; next = clock.pop()) await invoker.attempt(next);
  };
  return { clock, attempts, sent, deadLetters, invoker, start };
}

describe('AsyncInvoker', () => {
  it('a function that always fails is tried again 60 s and then 120 s after an attempt ends, then its record goes to the on-failure destination', async () => {
    const fn = fnWith({ maxRetries: 2, maxEventAgeMs: 6 * 3_600_000, onFailure: 'arn:aws:sqs:ap-southeast-1:123456789012:failures' });
    const h = harness(fn, 99);
    await h.start();
    expect(h.attempts).toEqual([0, 60_500, 181_000]);
    expect(fn.stats).toEqual({ retries: 2, deadLettered: 1 });
    expect(h.sent).toHaveLength(1);
    const { record, queue } = h.sent[0]!;
    expect(queue).toBe('arn:aws:sqs:ap-southeast-1:123456789012:failures');
    expect(record.requestContext).toMatchObject({ functionArn: 'arn:aws:lambda:ap-southeast-1:123456789012:function:notify:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: 3 });
    expect(record.requestPayload).toEqual({ kind: 'progress' });
    expect(record.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' });
    expect(record.responsePayload).toEqual({ errorType: 'Error', errorMessage: 'failure 3' });
    expect(record.timestamp).toBe('2024-03-01T02:03:01.500Z');
    expect(h.deadLetters).toEqual(['arn:aws:sqs:ap-southeast-1:123456789012:failures']);
    expect(h.invoker.lastOk.get('notify')).toBe(false);
  });

  it('a function that fails once succeeds on its retry: nothing goes to the destination', async () => {
    const fn = fnWith({ maxRetries: 2, maxEventAgeMs: 6 * 3_600_000, onFailure: 'arn:aws:sqs:ap-southeast-1:123456789012:failures' });
    const h = harness(fn, 1);
    await h.start();
    expect(h.attempts).toEqual([0, 60_500]);
    expect(h.sent).toEqual([]);
    expect(fn.stats).toEqual({ retries: 1, deadLettered: 0 });
    expect(h.invoker.lastOk.get('notify')).toBe(true);
  });

  it('a retry that would come after the maximum event age is not made: the record says EventAgeExceeded', async () => {
    const fn = fnWith({ maxRetries: 2, maxEventAgeMs: 120_000, onFailure: 'arn:aws:sqs:ap-southeast-1:123456789012:failures' });
    const h = harness(fn, 99);
    await h.start();
    // The first retry is due at 60.5 s (young enough); the second would be due at 181 s, past 120 s.
    expect(h.attempts).toEqual([0, 60_500]);
    expect(h.sent[0]!.record.requestContext).toMatchObject({ condition: 'EventAgeExceeded', approximateInvokeCount: 2 });
  });

  it('MaximumRetryAttempts 0: one attempt only; without a destination the event is dropped, and counted on its sender', async () => {
    const fn = fnWith({ maxRetries: 0, maxEventAgeMs: 6 * 3_600_000 });
    const h = harness(fn, 99);
    const counters = { retries: 0, failed: 0, deadLettered: 0 };
    await h.start({ counters });
    expect(h.attempts).toEqual([0]);
    expect(h.sent).toEqual([]);
    expect(counters).toEqual({ retries: 0, failed: 1, deadLettered: 0 });
  });

  it('a destination the role may not send to receives nothing, and nothing is counted as dead-lettered', async () => {
    const fn = fnWith({ maxRetries: 1, maxEventAgeMs: 6 * 3_600_000, onFailure: 'arn:aws:sqs:ap-southeast-1:123456789012:failures' });
    const h = harness(fn, 99, { refuse: true });
    const counters = { retries: 0, failed: 0, deadLettered: 0 };
    await h.start({ counters });
    expect(h.attempts).toEqual([0, 60_500]);
    expect(counters).toEqual({ retries: 1, failed: 1, deadLettered: 0 });
    expect(fn.stats.deadLettered).toBe(0);
    expect(h.deadLetters).toEqual([]);
  });
});
