import { describe, expect, it } from 'vitest';
import { scanAll as scanItems } from '#shared/store/batch.ts';
import fc from 'fast-check';
import { freshTables, useTestStack } from '../support/stack.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { arbConflictingVersions, arbDeliveries, arbStream, identity, normalized, render, type Delivery, type LogicalEvent } from '../support/events.ts';
import { feedRecords, toRecords } from '#cli/import.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { listRejected } from '#shared/store/rejected.ts';
import type { TableNames } from '#shared/config.ts';

/**
 * RULES.md, input contract: "Events may arrive late, out of order and more than once: the outcome must
 * be the same as if each had arrived once, in time order." For random valid streams, the stored state
 * after a clean, ordered, single delivery is compared with the state after a shuffled delivery with
 * repeats (each copy in its own textual form), fed in batches of 10 by several concurrent workers as
 * SQS FIFO would. Every run gets its own tables.
 */

const { db } = await useTestStack();

/** Attributes that record when an item arrived, which legitimately differ between two deliveries. */
const ARRIVAL = new Set(['ingestedAt', 'cr']); // when it arrived and the change record that announced it

/** Every item of a table, strongly consistent. */
const scanAll = (table: string) => scanItems(db, { TableName: table, ConsistentRead: true }, 1);

/** Orders and events as stored, arrival attributes dropped, in a stable order. */
async function storedState(tables: TableNames) {
  const strip = (items: Record<string, unknown>[]) =>
    items
      .map((i) => Object.fromEntries(Object.entries(i).filter(([k]) => !ARRIVAL.has(k))))
      .sort((a, b) => JSON.stringify([a.orderId ?? a.pk, a.sk]).localeCompare(JSON.stringify([b.orderId ?? b.pk, b.sk])));
  return { orders: strip(await scanAll(tables.orders)), events: strip(await scanAll(tables.events)) };
}

/** The fact a stored item holds, as the event fields `normalized` names. */
const holds = (item: Record<string, unknown>, e: LogicalEvent) => {
  const want = normalized(e);
  return (
    JSON.stringify(Object.fromEntries(Object.keys(want).map((k) => [k, item[k]]))) === JSON.stringify(want) && (e.type !== 'provider.upserted' || 'regularizedAt' in want || !('regularizedAt' in item))
  );
};

/** Feeds bodies through a fresh intake over fresh tables; returns the tables and the import result. */
async function feed(bodies: string[], source: string, concurrency: number) {
  const tables = await freshTables();
  const intake = makeIntake(new IngestStore(db, tables));
  const result = await feedRecords(intake, toRecords(bodies.join('\n'), source), { batchSize: 10, concurrency, quiet: true });
  return { tables, result };
}

const RUNS = { numRuns: 15, endOnFailure: true } as const;

describe('out of order and more than once: the same stored state as once in order', () => {
  it('a valid stream shuffled with repeats stores exactly what the clean stream stores', async () => {
    const scenario = arbStream().chain((events) => arbDeliveries(events).map((deliveries) => ({ events, deliveries })));
    await fc.assert(
      fc.asyncProperty(scenario, async ({ events, deliveries }) => {
        const clean = await feed(
          events.map((e) => render(e)),
          'clean.ndjson',
          1,
        );
        expect(clean.result).toEqual({ accepted: events.length, duplicates: 0, rejected: 0, failed: 0 });

        const messy = await feed(
          deliveries.map((d) => d.body),
          'messy.ndjson',
          4,
        );
        expect(messy.result).toEqual({ accepted: events.length, duplicates: deliveries.length - events.length, rejected: 0, failed: 0 });

        const want = await storedState(clean.tables);
        expect(want.orders.length + want.events.length).toBe(events.length);
        expect(await storedState(messy.tables)).toEqual(want);
        expect(await listRejected(db, messy.tables.rejected)).toEqual([]);
        // And what is stored is the facts themselves, not just the same thing twice.
        const items = [...want.orders, ...want.events];
        for (const e of events)
          expect(
            items.filter((i) => holds(i, e)),
            identity(e),
          ).toHaveLength(1);
      }),
      RUNS,
    );
  });

  it('with conflicting versions: one version per id is stored, every other version is rejected', async () => {
    const scenario = arbStream({ maxOrders: 12, maxDeposits: 6 }).chain((events) =>
      arbConflictingVersions(events).chain((others) => arbDeliveries([...events, ...others]).map((deliveries) => ({ events, others, deliveries }))),
    );
    await fc.assert(
      fc.asyncProperty(scenario, async ({ events, others, deliveries }) => {
        // Clean: every first version, then the other versions; the first ones must win.
        const clean = await feed(
          [...events, ...others].map((e) => render(e)),
          'clean.ndjson',
          1,
        );
        expect(clean.result).toEqual({ accepted: events.length, duplicates: 0, rejected: others.length, failed: 0 });
        const cleanState = await storedState(clean.tables);
        const cleanItems = [...cleanState.orders, ...cleanState.events];
        for (const e of events)
          expect(
            cleanItems.filter((i) => holds(i, e)),
            identity(e),
          ).toHaveLength(1);
        expect(await listRejected(db, clean.tables.rejected)).toHaveLength(others.length);

        const messy = await feed(
          deliveries.map((d) => d.body),
          'messy.ndjson',
          4,
        );
        const state = await storedState(messy.tables);
        const items = [...state.orders, ...state.events];
        const rejected = await listRejected(db, messy.tables.rejected);
        expect(rejected.every((r) => r.reason.startsWith('conflict'))).toBe(true);

        // Per id: exactly one of its versions stored; each other version rejected, on every delivery of it.
        const versions = new Map<string, LogicalEvent[]>();
        for (const e of [...events, ...others]) versions.set(identity(e), [...(versions.get(identity(e)) ?? []), e]);
        const sameFact = (a: LogicalEvent, b: LogicalEvent) => JSON.stringify(normalized(a)) === JSON.stringify(normalized(b));
        const deliveriesOf = (e: LogicalEvent) => deliveries.filter((d: Delivery) => sameFact(d.event, e)).length;
        let losingDeliveries = 0;
        let winningRepeats = 0;
        for (const [id, vs] of versions) {
          const winners = vs.filter((v) => items.some((i) => holds(i, v)));
          expect(winners, id).toHaveLength(1);
          for (const v of vs) {
            const rejectedCopies = rejected.filter((r) => JSON.stringify(r.event) === JSON.stringify(normalized(v))).length;
            if (v === winners[0]) {
              expect(rejectedCopies, `${id}: the stored version is not also rejected`).toBe(0);
              winningRepeats += deliveriesOf(v) - 1;
            } else {
              expect(rejectedCopies, `${id}: every delivery of a losing version is rejected`).toBe(deliveriesOf(v));
              losingDeliveries += deliveriesOf(v);
            }
          }
        }
        expect(items).toHaveLength(versions.size);
        expect(rejected).toHaveLength(losingDeliveries);
        expect(messy.result).toEqual({ accepted: versions.size, duplicates: winningRepeats, rejected: losingDeliveries, failed: 0 });

        // Ids without a conflict end up exactly as in the clean delivery.
        const contested = new Set(others.map(identity));
        const uncontested = (s: { orders: Record<string, unknown>[]; events: Record<string, unknown>[] }) =>
          [...s.orders, ...s.events].filter((i) => !events.some((e) => contested.has(identity(e)) && holdsId(i, e)));
        expect(uncontested(state)).toEqual(uncontested(cleanState));
      }),
      RUNS,
    );
  });
});

/** Whether a stored item belongs to the same order / payment id as `e` (whatever version it holds). */
function holdsId(item: Record<string, unknown>, e: LogicalEvent): boolean {
  if (e.type === 'order.paid') return item.orderId === e.orderId;
  if (e.type === 'deposit.paid' || e.type === 'deposit.deducted') return item.paymentId === e.paymentId;
  return false;
}
