/**
 * An aggregation run in a process of its own, for the lock tests: it takes the lock, starts working
 * and stops at its first read of orders, prints `HOLDING <pid>` and waits there to be SIGKILLed, its
 * heartbeat still beating. Configured by the environment (`childEnv` in stack.ts: the run's stack, plus):
 *   CHILD_TABLES      JSON table names of the season
 *   CHILD_LEASE_MS, CHILD_HEARTBEAT_MS  the lock's lease and heartbeat (default: production's)
 */
import { createDocumentClient } from '#shared/aws.ts';
import type { TableNames } from '#shared/config.ts';
import { stores } from '#shared/deps.ts';
import { RUN_LOCK_HEARTBEAT_MS } from '#shared/leases.ts';

import { aggregate } from '#shared/usecases/aggregate.ts';
import { childClients } from './child-clients.ts';
import { campaignOf } from './campaigns.ts';

const tables = JSON.parse(process.env.CHILD_TABLES!) as TableNames;

const heartbeatMs = Number(process.env.CHILD_HEARTBEAT_MS || RUN_LOCK_HEARTBEAT_MS);
const deps = stores(tables, createDocumentClient(childClients().dynamodb));
// The source store, stopped at its first read of orders (a Query of one store, or the full recount's
// scan): the run holds the lock and is mid-work.
const hold = () => {
  process.stdout.write(`HOLDING ${process.pid}\n`);
  return new Promise<never>(() => {}); // until the parent's SIGKILL; the heartbeat's interval keeps us alive
};
const source = new Proxy(deps.source, {
  get(target, prop, receiver) {
    if (prop === 'ordersOfStore') return hold;
    if (prop === 'orderPages') return () => ({ [Symbol.asyncIterator]: () => ({ next: hold }) });
    return Reflect.get(target, prop, receiver);
  },
});
await aggregate(
  campaignOf('renewal-2024')!,
  {
    ...deps,
    source,
    now: () => new Date(),
    holder: `aggregate-child pid ${process.pid}`,
    every: (_ms, beat) => {
      const t = setInterval(beat, heartbeatMs); // kept referenced: the process lives on its heartbeat
      return () => clearInterval(t);
    },
  },
  { ...(process.env.CHILD_LEASE_MS ? { leaseMs: Number(process.env.CHILD_LEASE_MS) } : {}) },
);
