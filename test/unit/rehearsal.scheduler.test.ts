/** EventBridge Scheduler in the rehearsal (tools/rehearsal/scheduler.ts): firings → invocations, idle firings, refusals to the DLQ. */
import { describe, expect, it } from 'vitest';
import type { Principal } from '#tools/rehearsal/iam.ts';
import type { AsyncEvent, AsyncTarget } from '#tools/rehearsal/invoker.ts';
import { Scheduler } from '#tools/rehearsal/scheduler.ts';
import type { ScheduleSpec } from '#tools/rehearsal/schedules.ts';

const role = (name: string): Principal => ({
  name,
  roleArn: `arn:aws:iam::123456789012:role/${name}`,
  sessionArn: `arn:aws:sts::123456789012:assumed-role/${name}/${name}`,
  policies: [],
  acknowledged: [],
});
const fn = (name: string): AsyncTarget => ({
  spec: { name, arn: `arn:fn:${name}`, principal: role(name), async: { maxRetries: 2, maxEventAgeMs: 21_600_000 } },
  stats: { retries: 0, deadLettered: 0 },
});
const schedule = (logicalId: string, target: string, o: Partial<ScheduleSpec['target']> = {}): ScheduleSpec => ({
  logicalId,
  name: logicalId,
  expression: 'rate(15 minutes)',
  timeZone: 'Etc/UTC',
  enabled: true,
  target: { arn: `arn:fn:${target}`, roleArn: `arn:aws:iam::123456789012:role/${logicalId}`, input: '{"campaignId":"c1"}', retry: { maxAttempts: 185, maxEventAgeMs: 86_400_000 }, ...o },
});

function harness(o: { refuse?: boolean; fail?: boolean } = {}) {
  const fns = new Map([fn('aggregate'), fn('notify')].map((f) => [f.spec.arn, f]));
  const invoked: { fn: string; at: number; payload: unknown; source: string }[] = [];
  const lastOk = new Map<string, boolean>();
  const sent: { queue: string; body: string; by: string }[] = [];
  const agg = schedule('AggregationSchedule', 'aggregate');
  const mail = schedule('ProgressMailSchedule', 'notify', { deadLetterArn: 'arn:dlq' });
  const stray = schedule('Stray', 'nothing');
  const scheduler = new Scheduler<AsyncTarget>({
    schedules: [agg, mail, stray].map((spec) => ({ spec, principal: role(spec.logicalId) })),
    functionOf: (arn) => fns.get(arn),
    invoker: {
      lastOk,
      attempt: async (e: AsyncEvent<AsyncTarget>) => {
        invoked.push({ fn: e.fn.spec.name, at: e.at, payload: e.payload, source: e.source });
        lastOk.set(e.fn.spec.name, !o.fail);
      },
    },
    authorize: async () => !o.refuse,
    sendToQueue: async (p, queue, body) => {
      sent.push({ queue, body, by: p.name });
      return true;
    },
    idleWithoutArrivals: new Set(['aggregate']),
    besideIntake: new Set(['aggregate']),
  });
  return { scheduler, invoked, sent, agg, mail, stray };
}

describe('Scheduler', () => {
  it('a firing invokes its target asynchronously with the schedule input, at the firing instant', async () => {
    const h = harness();
    await h.scheduler.fire(h.mail, 1_000);
    expect(h.invoked).toEqual([{ fn: 'notify', at: 1_000, payload: { campaignId: 'c1' }, source: 'ProgressMailSchedule' }]);
    expect(h.scheduler.stats.ProgressMailSchedule).toEqual({ expression: 'rate(15 minutes)', firings: 1, invoked: 1, idle: 0, failed: 0, retries: 0, deadLettered: 0 });
  });

  it('the aggregation is idle when nothing arrived since its last good run, and runs again once something has', async () => {
    const h = harness();
    await h.scheduler.fire(h.agg, 0); // first run: nothing known yet, it runs
    await h.scheduler.settle();
    await h.scheduler.fire(h.agg, 900_000); // nothing arrived: idle
    h.scheduler.arrived(3);
    await h.scheduler.fire(h.agg, 1_800_000);
    await h.scheduler.settle();
    await h.scheduler.fire(h.agg, 2_700_000); // the arrivals were counted by the last run: idle
    expect(h.invoked.map((i) => i.at)).toEqual([0, 1_800_000]);
    expect(h.scheduler.stats.AggregationSchedule).toMatchObject({ firings: 4, invoked: 2, idle: 2 });
  });

  it('after a failed run the aggregation is invoked at the next firing, arrivals or not', async () => {
    const h = harness({ fail: true });
    await h.scheduler.fire(h.agg, 0);
    await h.scheduler.settle();
    await h.scheduler.fire(h.agg, 900_000);
    expect(h.invoked.map((i) => i.at)).toEqual([0, 900_000]);
  });

  it('an invoke IAM refuses is not retried: the input goes to the schedule dead-letter queue, sent with the schedule role', async () => {
    const h = harness({ refuse: true });
    await h.scheduler.fire(h.mail, 0);
    expect(h.invoked).toEqual([]);
    expect(h.sent).toEqual([{ queue: 'arn:dlq', body: '{"campaignId":"c1"}', by: 'ProgressMailSchedule' }]);
    expect(h.scheduler.stats.ProgressMailSchedule).toMatchObject({ firings: 1, invoked: 0, failed: 1, deadLettered: 1 });
  });

  it('a target that is not a function of the template is an error that names the schedule', async () => {
    const h = harness();
    await expect(h.scheduler.fire(h.stray, 0)).rejects.toThrow(/Stray: its target arn:fn:nothing is not a function/);
  });
});
