/**
 * An aggregation run in a process of its own, for the lock tests: it takes the lock, starts working
 * and stops at its first read of orders, prints `HOLDING <pid>` and waits there to be SIGKILLed, its
 * heartbeat still beating. Configured by the environment (`childEnv` in stack.ts: the run's stack, plus):
 *   CHILD_TABLES      JSON table names of the season
 *   CHILD_LEASE_MS, CHILD_HEARTBEAT_MS  the lock's lease and heartbeat (default: production's)
 *   CHILD_CLOCK       driven by the parent: the run's clock starts at this instant (ms) and moves only
 *                     when told; each line `<ms>` on stdin sets it and beats the heartbeat once, and the
 *                     child answers `BEAT <ms> <renewed|lost|failed>` once that renewal is done. Without
 *                     it: the real clock, and the heartbeat on a timer.
 */
import { createDocumentClient } from '#shared/aws.ts';
import type { TableNames } from '#shared/config.ts';
import { stores } from '#shared/deps.ts';
import { RUN_LOCK_HEARTBEAT_MS } from '#shared/leases.ts';

import { aggregate } from '#shared/usecases/aggregate.ts';
import type { AggregateDeps } from '#shared/usecases/aggregate.ts';
import { childClients } from './child-clients.ts';
import { campaignOf } from './campaigns.ts';

const tables = JSON.parse(process.env.CHILD_TABLES!) as TableNames;

const heartbeatMs = Number(process.env.CHILD_HEARTBEAT_MS || RUN_LOCK_HEARTBEAT_MS);
const deps = stores(tables, createDocumentClient(childClients().dynamodb));
// The source store, stopped at its first read of orders (a Query of one store, in a full recount's
// shard or an incremental one): the run holds the lock and is mid-work.
const hold = () => {
  process.stdout.write(`HOLDING ${process.pid}\n`);
  return new Promise<never>(() => {}); // until the parent's SIGKILL; the heartbeat (or stdin) keeps us alive
};
const source = new Proxy(deps.source, {
  get(target, prop, receiver) {
    if (prop === 'ordersOfStore') return hold;
    return Reflect.get(target, prop, receiver);
  },
});

let clock: (() => Date) | undefined;
let every: AggregateDeps['every'] = (_ms, beat) => {
  const t = setInterval(beat, heartbeatMs); // kept referenced: the process lives on its heartbeat
  return () => clearInterval(t);
};
let aggregates = deps.aggregates;
if (process.env.CHILD_CLOCK) {
  let now = Number(process.env.CHILD_CLOCK);
  let beat = () => {};
  const told: string[] = [];
  clock = () => new Date(now);
  every = (_ms, b) => ((beat = b), () => {});
  // The heartbeat's renewal, reported to the parent once it is done.
  aggregates = Object.create(deps.aggregates) as typeof deps.aggregates;
  aggregates.renewLock = async (...args) => {
    const at = told.shift();
    try {
      const renewed = await deps.aggregates.renewLock(...args);
      process.stdout.write(`BEAT ${at} ${renewed ? 'renewed' : 'lost'}\n`);
      return renewed;
    } catch (err) {
      process.stdout.write(`BEAT ${at} failed\n`);
      throw err;
    }
  };
  let pending = '';
  process.stdin.setEncoding('utf8').on('data', (d: string) => {
    pending += d;
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      const line = pending.slice(0, i).trim();
      pending = pending.slice(i + 1);
      if (!line) continue;
      now = Number(line);
      told.push(line);
      beat();
    }
  });
}

await aggregate(
  campaignOf('renewal-2024'),
  {
    ...deps,
    aggregates,
    source,
    now: clock ?? (() => new Date()),
    holder: `aggregate-child pid ${process.pid}`,
    every,
  },
  { ...(process.env.CHILD_LEASE_MS ? { leaseMs: Number(process.env.CHILD_LEASE_MS) } : {}) },
);
