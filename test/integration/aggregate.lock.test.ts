import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aggregate } from '#shared/usecases/aggregate.ts';

import { RUN_LOCK_HEARTBEAT_MS, RUN_LOCK_LEASE_MS } from '#shared/leases.ts';
import { takeRunLock } from '#shared/usecases/run-lock.ts';
import { CAMPAIGN, ev, newSeason, type Season } from '../support/season-fixture.ts';
import { childEnv } from '../support/stack.ts';
import { campaignOf } from '../support/campaigns.ts';

/**
 * The aggregation lock: a short lease renewed by a heartbeat. A run that holds it is never taken over
 * while it lives (its heartbeat moves the lease on); a run SIGKILLed while holding it blocks the next
 * one for at most one lease after its last heartbeat. Clocks are handed in: nothing waits a minute.
 */
const CHILD = resolve(import.meta.dirname, '../support/aggregate-child.ts');
const c = campaignOf(CAMPAIGN)!;

async function season(): Promise<Season> {
  const s = await newSeason();
  await s.feed([
    ev.provider('PA', '2023-01-01T00:00:00+08:00', '2023-02-01T00:00:00+08:00'),
    ev.bind('PA', 'SA', '2023-11-01T00:00:00+08:00'),
    ev.order('OA1', 'SA', '2023-12-03T10:00:00+08:00'),
  ]);
  return s;
}

/** Starts the child and resolves once it holds the lock mid-run. */
function holdingChild(s: Season, env: Record<string, string> = {}): Promise<ChildProcess> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: childEnv({ CHILD_TABLES: JSON.stringify(s.tables), ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('HOLDING') && done(child));
    child.on('exit', (code) => fail(new Error(`child exited ${code} before holding the lock: ${err}`)));
  });
}

const killed = (child: ChildProcess) =>
  new Promise<NodeJS.Signals | null>((done) => {
    child.removeAllListeners('exit');
    child.on('exit', (_code, signal) => done(signal));
    child.kill('SIGKILL');
  });

const at = (ms: number) => () => new Date(ms);

describe('aggregation lock with a heartbeat', () => {
  it('a SIGKILLed aggregation holding the lock is taken over within the heartbeat window: busy (naming it) until one lease after its last heartbeat, done after', async () => {
    const s = await season();
    const child = await holdingChild(s);
    const holder = (await s.stores.aggregates.lockHolder(CAMPAIGN))!;
    expect(holder.holder).toBe(`aggregate-child pid ${child.pid}`);
    expect(Date.parse(holder.leaseUntil) - Date.parse(holder.heartbeatAt!)).toBe(RUN_LOCK_LEASE_MS);
    expect(await killed(child)).toBe('SIGKILL');

    const last = await s.stores.aggregates.lockHolder(CAMPAIGN);
    const lastBeat = Date.parse(last!.heartbeatAt!);
    // Just inside the lease: the dead run still blocks, and the busy answer says who and until when.
    const busy = await aggregate(c, { ...s.stores, now: at(lastBeat + RUN_LOCK_LEASE_MS - 1000) });
    expect(busy).toEqual({ status: 'busy', holder: expect.objectContaining({ holder: `aggregate-child pid ${child.pid}`, leaseUntil: last!.leaseUntil }) });
    // Just past it: taken over, and the counts are exact.
    const done = await aggregate(c, { ...s.stores, now: at(lastBeat + RUN_LOCK_LEASE_MS + 1) });
    expect(done).toMatchObject({ status: 'done', providersUpdated: 1 });
    expect((await s.stores.aggregates.providerTotalsOf(c, ['PA']))[0]!.paidOrders).toBe(1);
    expect(await s.stores.aggregates.lockHolder(CAMPAIGN)).toBeUndefined();
  });

  it('a live holder keeps the lock through three failed renewals in a row: the fourth beat comes before anyone can take it', async () => {
    const s = await season();
    const t0 = Date.parse('2024-01-01T00:00:00Z');
    let clock = t0;
    let beat: () => void = () => {};
    let interval = 0;
    let renewals = 0;
    // The store as the heartbeat sees it: its first three renewals fail (DynamoDB throttled, say).
    const store = Object.create(s.stores.aggregates) as typeof s.stores.aggregates;
    store.renewLock = async (...args) => (++renewals <= 3 ? Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' })) : s.stores.aggregates.renewLock(...args));
    const taken = await takeRunLock(store, CAMPAIGN, { now: () => new Date(clock), every: (ms, b) => ((interval = ms), (beat = b), () => {}) });
    expect(taken.ok).toBe(true);
    expect(interval, 'the default heartbeat').toBe(RUN_LOCK_HEARTBEAT_MS);
    // Another run trying to take the lock at a given instant.
    const rivalTakes = async (at: number) => (await takeRunLock(s.stores.aggregates, CAMPAIGN, { now: () => new Date(at), every: () => () => {} })).ok;
    const beatAt = async (at: number) => {
      clock = at;
      beat();
      await new Promise((r) => setTimeout(r, 100)); // the beat's renewal is under way in the background
    };
    for (let n = 1; n <= 3; n++) {
      await beatAt(t0 + n * interval);
      expect(await rivalTakes(t0 + n * interval), `after failed renewal ${n}`).toBe(false);
    }
    expect(await rivalTakes(t0 + 4 * interval - 1), 'just before the fourth beat').toBe(false);
    await beatAt(t0 + 4 * interval);
    expect(renewals).toBe(4);
    expect(await rivalTakes(t0 + 4 * interval + RUN_LOCK_LEASE_MS - 1), 'the fourth beat renewed the lease').toBe(false);
    if (taken.ok) {
      expect(() => taken.lock.check()).not.toThrow();
      await taken.lock.release();
    }
  });

  it('a live holder is never taken over: its heartbeat moves the lease on while it works (real time, a 1 s lease)', async () => {
    const s = await season();
    const child = await holdingChild(s, { CHILD_LEASE_MS: '1000', CHILD_HEARTBEAT_MS: '200' });
    const first = (await s.stores.aggregates.lockHolder(CAMPAIGN))!;
    await new Promise((r) => setTimeout(r, 1600)); // longer than the lease
    const later = (await s.stores.aggregates.lockHolder(CAMPAIGN))!;
    expect(Date.parse(later.leaseUntil)).toBeGreaterThan(Date.parse(first.leaseUntil));
    expect(await aggregate(c, { ...s.stores, now: () => new Date() })).toMatchObject({ status: 'busy' });
    expect(await killed(child)).toBe('SIGKILL');
    await new Promise((r) => setTimeout(r, 1100)); // now one lease passes without a beat
    expect(await aggregate(c, { ...s.stores, now: () => new Date() })).toMatchObject({ status: 'done' });
  });

  it('a run whose heartbeat finds the lock taken (it stalled past its lease) stops before writing its watermark', async () => {
    const s = await season();
    let beat: () => void = () => {};
    const taken = await takeRunLock(s.stores.aggregates, CAMPAIGN, { now: at(Date.parse('2024-01-01T00:00:00Z')), every: (_ms, b) => ((beat = b), () => {}) });
    expect(taken.ok).toBe(true);
    // Another run takes the expired lock; the stalled one's next beat finds it gone.
    expect(await s.stores.aggregates.begin(CAMPAIGN, 'other', new Date('2024-01-01T00:02:00Z'), 60_000)).toMatchObject({ acquired: true });
    beat();
    await new Promise((r) => setTimeout(r, 200));
    if (taken.ok) expect(() => taken.lock.check()).toThrow(/taken over/);
  });

  it('evaluate waits for the lock and says what it waits for; a live holder past the wait is a LockBusyError naming it', async () => {
    const s = await season();
    expect(await s.stores.aggregates.begin(CAMPAIGN, 'o1', new Date(), 60_000, 'renewal aggregate by ops@host (pid 42)')).toMatchObject({ acquired: true });
    const { evaluate } = await import('#shared/usecases/evaluate.ts');
    let clock = Date.now();
    const waits: string[] = [];
    const run = evaluate(
      c,
      {
        ...s.stores,
        now: () => new Date(clock),
        sleep: async (ms) => void (clock += ms),
        waiting: (h) => waits.push(`${h?.holder} until ${h?.leaseUntil}`),
        lockWaitMs: 5 * 60_000,
        // The holder stays alive: its heartbeat keeps renewing as our clock moves.
        progress: () => {},
      },
      { dryRun: false, by: { kind: 'person', id: 'ops' }, asOf: '2024-01-15T00:00:00+08:00', thresholdOrders: 10_000 },
    );
    const beat = setInterval(() => void s.stores.aggregates.renewLock(CAMPAIGN, 'o1', new Date(clock), 60_000), 5);
    await expect(run).rejects.toMatchObject({ name: 'LockBusyError', message: expect.stringContaining('renewal aggregate by ops@host (pid 42) until') });
    clearInterval(beat);
    expect(waits.length).toBeGreaterThan(3);
    expect(waits[0]).toMatch(/^renewal aggregate by ops@host \(pid 42\) until 20/);
  });
});
