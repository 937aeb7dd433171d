/**
 * What the bench feeds the stack: deterministic orders and season events over a campaign, the items
 * intake would store for them, fresh tables per measurement, and the plain BatchWriteItem baseline.
 */
import { DeleteTableCommand, DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '#shared/aws.ts';
import { localTableNames, type TableNames } from '#shared/config.ts';
import type { OrderPaid, PlatformEvent } from '#shared/events.ts';
import { periodWindow, type Campaign } from '#shared/rules/campaign.ts';
import { localMidnightUtc } from '#shared/rules/time.ts';
import { batchWrite } from '#shared/store/batch.ts';
import { storedItem } from '#shared/store/items.ts';
import type { IntakeHandler } from '#cli/import.ts';
import { ensureTables } from '#tools/local/tables.ts';

export const DAY_MS = 86_400_000;

/** Aggregation runs in a season: every 15 minutes of the campaign's period. */
export const scheduledRuns = (c: Campaign): number => periodWindow(c).days.length * 96;

/** Deterministic orders over `stores` stores, spread over the campaign's period. */
export function benchOrders(c: Campaign, n: number, salt = 'b', stores = 500): OrderPaid[] {
  const { startMs, endMs } = periodWindow(c);
  return Array.from({ length: n }, (_, i) => ({
    type: 'order.paid' as const,
    orderId: `${salt}-O${i}`,
    storeId: `S${(i * 7919) % stores}`,
    paidAt: new Date(startMs + ((i * 104_729) % (endMs - startMs))).toISOString(),
    gift: i % 50 === 0,
  }));
}

/** Events as the lines of an SQS batch body or an NDJSON file, without the last newline. */
export const eventLines = (events: PlatformEvent[]): string => events.map((e) => JSON.stringify(e)).join('\n');

/** The items intake would store for these events (`storedItem`, the intake's own definition). */
export function storedItems(events: PlatformEvent[], now = new Date().toISOString()) {
  return events.map((e) => storedItem(e, now));
}

/** Fresh tables named after `prefix` for the time of `fn`, deleted after it. */
export async function withTables<T>(dynamo: DynamoDBClientConfig, prefix: string, fn: (names: TableNames) => Promise<T>): Promise<T> {
  const raw = new DynamoDBClient(dynamo);
  const names = localTableNames(prefix);
  await ensureTables(raw, names);
  try {
    return await fn(names);
  } finally {
    await Promise.all(Object.values(names).map((TableName) => raw.send(new DeleteTableCommand({ TableName })).catch(() => {})));
    raw.destroy();
  }
}

/** Plain BatchWriteItem, 25 per request, `concurrency` requests in flight. Returns seconds. */
export async function rawBatchWrite(items: Record<string, unknown>[], table: string, concurrency: number, dynamo: DynamoDBClientConfig): Promise<number> {
  const db = createDocumentClient(dynamo);
  const t0 = performance.now();
  const per = Math.ceil(items.length / concurrency);
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      const mine = items.slice(w * per, (w + 1) * per);
      for (let i = 0; i < mine.length; i += 25) await batchWrite(db, { [table]: mine.slice(i, i + 25) });
    }),
  );
  db.destroy();
  return (performance.now() - t0) / 1000;
}

/**
 * Season events of `providers` providers assessed by the campaign, `storesPer` stores each, deposits
 * paid in full: certified and regularized well before its cuts, bound and paid before its period.
 */
export function seasonEvents(c: Campaign, providers: number, salt: string, storesPer = 2): PlatformEvent[] {
  const iso = (ms: number) => new Date(ms).toISOString();
  const certifiedAt = iso(localMidnightUtc(c.certifiedBeforeDate, c.utcOffsetMinutes) - 334 * DAY_MS);
  const regularizedAt = iso(localMidnightUtc(c.regularizedBeforeDate, c.utcOffsetMinutes) - 275 * DAY_MS);
  const depositAt = iso(periodWindow(c).startMs - 30 * DAY_MS);
  const events: PlatformEvent[] = [];
  for (let p = 0; p < providers; p++) {
    const providerId = `P${p}`;
    events.push({ type: 'provider.upserted', providerId, name: `服务商${p}`, email: `p${p}@bench.example`, certifiedAt, regularizedAt });
    for (let k = 0; k < storesPer; k++) events.push({ type: 'binding.started', providerId, storeId: `S${storesPer * p + k}`, at: certifiedAt });
    events.push({ type: 'deposit.paid', paymentId: `${salt}-D${p}`, providerId, amountFen: c.depositRequiredFen, paidAt: depositAt });
  }
  return events;
}

/** A season of `providers` assessed providers, two stores each, deposits paid, and `orders` orders. */
export function benchSeason(c: Campaign, providers: number, orders: number, salt: string): { tables: 'events' | 'orders'; items: Record<string, unknown>[] }[] {
  return [
    { tables: 'events', items: storedItems(seasonEvents(c, providers, salt)) },
    { tables: 'orders', items: storedItems(benchOrders(c, orders, salt, providers * 2)) },
  ];
}

/** A handler that records how long each invocation ran. */
export function timed(handler: IntakeHandler, durations: number[]): IntakeHandler {
  return async (event) => {
    const t0 = performance.now();
    try {
      return await handler(event);
    } finally {
      durations.push(performance.now() - t0);
    }
  };
}
