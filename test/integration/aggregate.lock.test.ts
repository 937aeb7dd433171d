import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aggregate } from '#shared/usecases/aggregate.ts';

import { RUN_LOCK_HEARTBEAT_MS, RUN_LOCK_LEASE_MS } from '#shared/leases.ts';
import { takeRunLock } from '#shared/usecases/run-lock.ts';
import { CAMPAIGN, ev, newSeason, type Season } from '../support/pipeline.ts';
import { childEnv } from '../support/stack.ts';
import { campaignOf } from '../support/campaigns.ts';

/**
 * The aggregation lock: a short lease renewed by a heartbeat. A run that holds it is never taken over
 * while it lives (its heartbeat moves the lease on); a run SIGKILLed while holding it blocks the next
 * one for at most one lease after its last heartbeat. Clocks and heartbeats are handed in: nothing
 * waits for time to pass, and every step waits for the renewal it depends on to be done.
 */
const CHILD = resolve(import.meta.dirname, '../support/aggregate-child.ts');
const c = campaignOf(CAMPAIGN);

async function season(): Promise<Season> {
  const s = await newSeason();
  await s.feed([ev.provider('PA', '2023-01-01T00:00:00+08:00', '2023-02-01T00:00:00+08:00'), ev.bind('PA', 'SA', '2023-11-01T00:00:00+08:00'), ev.order('OA1', 'SA', '2023-12-03T10:00:00+08:00')]);
  return s;
}

/** Starts the child and resolves once it holds the lock mid-run. */
function holdingChild(s: Season, env: Record<string, string> = {}): Promise<ChildProcess> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: childEnv({ CHILD_TABLES: JSON.stringify(s.tables), ...env }), stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => d.toString().includes('HOLDING') && done(child));
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

/** A promise with its resolve, for the handshakes below. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The aggregates store as the heartbeat sees it, failing the first `failing` renewals (DynamoDB
 * throttled, say), with `renewed()`: a promise of the next renewal's outcome, settled once the
 * heartbeat has acted on it (the run lock's own bookkeeping included).
 */
function watchedStore(real: Season['stores']['aggregates'], failing = 0) {
  let renewals = 0;
  let next = deferred<boolean | 'failed'>();
  const store = Object.create(real) as typeof real;
  store.renewLock = async (...args) => {
    const settle = next;
    next = deferred();
    try {
      if (++renewals <= failing) throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      const renewed = await real.renewLock(...args);
      settle.resolve(renewed);
      return renewed;
    } catch (err) {
      settle.resolve('failed');
      throw err;
    }
  };
  // The heartbeat acts on the answer in a continuation of its own: it has run once the event loop turns.
  const renewed = () => next.promise.then((r) => new Promise<typeof r>((done) => setImmediate(() => done(r))));
  return { store, renewed, renewals: () => renewals };
}

/** Tells a parent-driven child (CHILD_CLOCK) that it is `ms` now and beats its heartbeat; resolves with its renewal's outcome. */
function beatChild(child: ChildProcess, ms: number): Promise<string> {
  return new Promise((done, fail) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = new RegExp(`^BEAT ${ms} (\\w+)$`, 'm').exec(out);
      if (!m) return;
      child.stdout!.off('data', onData);
      done(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => fail(new Error(`child exited ${code} before its beat at ${ms}`)));
    child.stdin!.write(`${ms}\n`);
  });
}

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
    const watched = watchedStore(s.stores.aggregates, 3);
    const taken = await takeRunLock(watched.store, CAMPAIGN, { now: () => new Date(clock), every: (ms, b) => ((interval = ms), (beat = b), () => {}) });
    expect(taken.ok).toBe(true);
    expect(interval, 'the default heartbeat').toBe(RUN_LOCK_HEARTBEAT_MS);
    // Another run trying to take the lock at a given instant.
    const rivalTakes = async (at: number) => (await takeRunLock(s.stores.aggregates, CAMPAIGN, { now: () => new Date(at), every: () => () => {} })).ok;
    const beatAt = async (at: number) => {
      clock = at;
      const renewed = watched.renewed();
      beat();
      return renewed;
    };
    for (let n = 1; n <= 3; n++) {
      expect(await beatAt(t0 + n * interval), `renewal ${n}`).toBe('failed');
      expect(await rivalTakes(t0 + n * interval), `after failed renewal ${n}`).toBe(false);
    }
    expect(await rivalTakes(t0 + 4 * interval - 1), 'just before the fourth beat').toBe(false);
    expect(await beatAt(t0 + 4 * interval)).toBe(true);
    expect(watched.renewals()).toBe(4);
    expect(await rivalTakes(t0 + 4 * interval + RUN_LOCK_LEASE_MS - 1), 'the fourth beat renewed the lease').toBe(false);
    if (taken.ok) {
      expect(() => taken.lock.check()).not.toThrow();
      await taken.lock.release();
    }
  });

  it('a live holder in another process is never taken over: each of its beats moves the lease on, past the first lease and the next', async () => {
    const s = await season();
    const t0 = Date.parse('2024-01-01T00:00:00Z');
    const child = await holdingChild(s, { CHILD_CLOCK: String(t0) });
    expect(Date.parse((await s.stores.aggregates.lockHolder(CAMPAIGN))!.leaseUntil)).toBe(t0 + RUN_LOCK_LEASE_MS);
    const beats = Math.ceil((2 * RUN_LOCK_LEASE_MS) / RUN_LOCK_HEARTBEAT_MS) + 1; // its run lasts two leases and more
    let lastBeat = t0;
    for (let n = 1; n <= beats; n++) {
      const now = t0 + n * RUN_LOCK_HEARTBEAT_MS;
      expect(await beatChild(child, now), `beat ${n}`).toBe('renewed');
      const holder = (await s.stores.aggregates.lockHolder(CAMPAIGN))!;
      expect(Date.parse(holder.leaseUntil), `beat ${n} moved the lease on`).toBe(now + RUN_LOCK_LEASE_MS);
      // The lease it had before this beat is over, and still nobody can take the lock.
      expect(await aggregate(c, { ...s.stores, now: at(lastBeat + RUN_LOCK_LEASE_MS + 1) }), `after beat ${n}`).toMatchObject({ status: 'busy' });
      lastBeat = now;
    }
    expect(lastBeat - t0, 'the holder outlived its first lease twice').toBeGreaterThan(2 * RUN_LOCK_LEASE_MS);
    expect(await killed(child)).toBe('SIGKILL');
    // Dead, it blocks for one lease after its last beat, and no longer.
    expect(await aggregate(c, { ...s.stores, now: at(lastBeat + RUN_LOCK_LEASE_MS - 1) })).toMatchObject({ status: 'busy' });
    expect(await aggregate(c, { ...s.stores, now: at(lastBeat + RUN_LOCK_LEASE_MS + 1) })).toMatchObject({ status: 'done', providersUpdated: 1 });
  });

  it('a run whose heartbeat finds the lock taken (it stalled past its lease) stops before writing its watermark', async () => {
    const s = await season();
    let beat: () => void = () => {};
    const watched = watchedStore(s.stores.aggregates);
    const taken = await takeRunLock(watched.store, CAMPAIGN, { now: at(Date.parse('2024-01-01T00:00:00Z')), every: (_ms, b) => ((beat = b), () => {}) });
    expect(taken.ok).toBe(true);
    if (taken.ok) expect(() => taken.lock.check(), 'before the beat').not.toThrow();
    // Another run takes the expired lock; the stalled one's next beat finds it gone.
    expect(await s.stores.aggregates.begin(CAMPAIGN, 'other', new Date('2024-01-01T00:02:00Z'), 60_000)).toMatchObject({ acquired: true });
    const renewed = watched.renewed();
    beat();
    expect(await renewed).toBe(false);
    if (taken.ok) expect(() => taken.lock.check()).toThrow(/taken over/);
  });

  it('evaluate waits for the lock and says what it waits for; a live holder past the wait is a LockBusyError naming it', async () => {
    const s = await season();
    expect(await s.stores.aggregates.begin(CAMPAIGN, 'o1', new Date(), 60_000, 'renewal aggregate by ops@host (pid 42)')).toMatchObject({ acquired: true });
    const { evaluate } = await import('#shared/usecases/evaluate.ts');
    const started = Date.now();
    let clock = started;
    let renewals = 0;
    const waits: string[] = [];
    const run = evaluate(
      c,
      {
        ...s.stores,
        now: () => new Date(clock),
        // The holder stays alive: while evaluate waits, its heartbeat renews the lease at the new instant.
        sleep: async (ms) => {
          clock += ms;
          expect(await s.stores.aggregates.renewLock(CAMPAIGN, 'o1', new Date(clock), 60_000), 'the holder renewed').toBe(true);
          renewals++;
        },
        waiting: (h) => waits.push(`${h?.holder} until ${h?.leaseUntil}`),
        lockWaitMs: 5 * 60_000,
        progress: () => {},
      },
      { dryRun: false, by: { kind: 'person', id: 'ops' }, asOf: '2024-01-15T00:00:00+08:00', thresholdOrders: 10_000 },
    );
    await expect(run).rejects.toMatchObject({ name: 'LockBusyError', message: expect.stringContaining('renewal aggregate by ops@host (pid 42) until') });
    expect(waits.length).toBeGreaterThan(3);
    // It waited through heartbeats, the full wait and no more.
    expect(renewals).toBe(waits.length);
    expect(clock - started).toBeGreaterThanOrEqual(5 * 60_000);
    expect(waits[0]).toMatch(/^renewal aggregate by ops@host \(pid 42\) until 20/);
  });
});
