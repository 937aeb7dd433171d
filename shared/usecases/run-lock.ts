import { randomUUID } from 'node:crypto';
import { uses, type Needs } from '../store/access.ts';
import { AGGREGATES_ACCESS, type FencingToken, type LockHolder } from '../store/aggregates.ts';
import { RUN_LOCK_HEARTBEAT_MS, RUN_LOCK_LEASE_MS } from '../leases.ts';

/** What the run lock uses of the aggregates store. */
export const RUN_LOCK_AGGREGATES = uses(AGGREGATES_ACCESS, ['begin', 'renewLock', 'finish', 'lockHolder']);

/**
 * The aggregation's run lock, held with a short lease that a heartbeat renews while the run works:
 * a run that dies (SIGKILL, a Lambda timeout) blocks the next one for at most one lease, about a
 * minute, while a long healthy run is never taken over. The lock shares its item with the watermark,
 * in the aggregates store (`begin`, `renewLock`, `finish`, `lockHolder`): taking it returns the
 * watermark, and giving it back moves the watermark, one request each.
 *
 * A lease alone cannot stop a run that stalled past it (a request held in the network, a paused
 * process) from writing once it wakes, after a newer run took the lock. So taking the lock also
 * yields a fencing token that only grows (`fence`), and every write the run makes carries it: the
 * store refuses a write older than what the item holds (shared/store/aggregates.ts). A run learns it
 * lost the lock at its first refused write, at a heartbeat that finds the lock taken, or when giving
 * the lock back finds it is no longer its own, and then stops with LockLostError, the watermark
 * where it was.
 */

/** Another run holds the lock: nothing was done. The CLI exits 75 (EX_TEMPFAIL) on it. */
export class LockBusyError extends Error {
  override name = 'LockBusyError';
  constructor(
    readonly holder: LockHolder | undefined,
    what = 'aggregation',
  ) {
    super(`the ${what} lock is held by ${describeHolder(holder)}; nothing was done: run it again after that`);
  }
}

/**
 * This run lost the lock: its lease had run out (it stalled) and another run took it, or a newer run
 * (a higher fencing token) has written what this one was about to. Nothing this run wrote after that
 * was kept, and the watermark did not move: the next run redoes its work. `cause` is the failure
 * the run met meanwhile, if any.
 */
export class LockLostError extends Error {
  override name = 'LockLostError';
}

export function describeHolder(h: LockHolder | undefined): string {
  if (!h) return 'another run (it has just released it)';
  return `${h.holder ?? `run ${h.owner}`} until ${h.leaseUntil}${h.heartbeatAt ? ` (last heartbeat ${h.heartbeatAt})` : ''}`;
}

export interface RunLockOptions {
  now: () => Date;
  /** Who takes it, as another run will be told. */
  holder?: string;
  leaseMs?: number;
  heartbeatMs?: number;
  /** Runs `beat` every `ms` until the returned stop is called (default: an unref'd setInterval). */
  every?: (ms: number, beat: () => void) => () => void;
}

export interface RunLock {
  /** The watermark the lock was taken with: everything ingested before it is counted. */
  through: string | undefined;
  /** This run's fencing token: every write of the run carries it. */
  fence: FencingToken;
  /** Throws LockLostError when a heartbeat found the lock taken: call before each write that must be ours. */
  check(): void;
  /**
   * Gives the lock back, moving the watermark to `through` when given (a run that got through). False
   * when the lock was no longer this run's (then neither happened: a newer run has it, or had it).
   */
  release(through?: string): Promise<boolean>;
}

const interval = (ms: number, beat: () => void) => {
  const t = setInterval(beat, ms);
  t.unref();
  return () => clearInterval(t);
};

/** Takes the lock and starts its heartbeat, or says who holds it. */
export async function takeRunLock(
  store: Needs<typeof RUN_LOCK_AGGREGATES>,
  campaignId: string,
  o: RunLockOptions,
): Promise<{ ok: true; lock: RunLock } | { ok: false; holder: LockHolder | undefined }> {
  const owner = randomUUID();
  const leaseMs = o.leaseMs ?? RUN_LOCK_LEASE_MS;
  const start = await store.begin(campaignId, owner, o.now(), leaseMs, o.holder);
  if (!start.acquired) return { ok: false, holder: await store.lockHolder(campaignId) };
  let lost = false;
  let beating: Promise<void> = Promise.resolve();
  const stop = (o.every ?? interval)(o.heartbeatMs ?? RUN_LOCK_HEARTBEAT_MS, () => {
    beating = beating.then(async () => {
      if (lost) return;
      try {
        if (!(await store.renewLock(campaignId, owner, o.now(), leaseMs))) lost = true;
      } catch {
        // A failed renewal is tried again at the next beat; the lease leaves room for three misses.
      }
    });
  });
  return {
    ok: true,
    lock: {
      through: start.through,
      fence: start.fence,
      check() {
        if (lost) throw new LockLostError(`the aggregation lock of ${campaignId} was taken over while this run stalled past its lease; this run stopped before writing`);
      },
      async release(through?: string) {
        stop();
        await beating;
        // Moves the watermark only while the lock is still ours (finish is conditional on the owner).
        return (await store.finish(campaignId, owner, lost ? undefined : through)) && !lost;
      },
    },
  };
}
