import { mapLimit } from '../limit.ts';
import { BatchGetCommand, BatchWriteCommand, QueryCommand, ScanCommand, type DynamoDBDocumentClient, type QueryCommandInput, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import { systemClock } from '../clock.ts';
import { retryDelayMs, type RetryPolicy } from '../retry.ts';

type Key = Record<string, unknown>;
type Item = Record<string, unknown>;
type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Key } };

/** Unprocessed keys and items are sent again after 50 ms, doubling to at most 1 s, jittered; ten tries in all. */
export const BATCH_RETRY: RetryPolicy = { attempts: 10, baseMs: 50, capMs: 1000, jitter: 0.5 };
const backoff = (retryNo: number) => systemClock.sleep(retryDelayMs(BATCH_RETRY, retryNo));

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** Requests of one batch call in flight at once: a run that reads 20,000 keys sends 200 requests, not all at once. */
const IN_FLIGHT = 16;

/** Thrown when DynamoDB keeps returning unprocessed items after every retry. */
export class UnprocessedItemsError extends Error {
  override name = 'UnprocessedItemsError';
}

/**
 * BatchGetItem over any number of keys of several tables (100 per request), strongly consistent,
 * retrying unprocessed keys with backoff. Returns the items found, per table.
 */
export async function batchGet(db: DynamoDBDocumentClient, keysByTable: Record<string, Key[]>, maxAttempts = BATCH_RETRY.attempts): Promise<Record<string, Item[]>> {
  const found: Record<string, Item[]> = Object.fromEntries(Object.keys(keysByTable).map((t) => [t, []]));
  const all = Object.entries(keysByTable).flatMap(([table, keys]) => keys.map((key) => [table, key] as const));
  await mapLimit(chunks(all, 100), IN_FLIGHT, async (chunk) => {
    let request: Record<string, { Keys: Key[]; ConsistentRead: boolean }> = {};
    for (const [table, key] of chunk) (request[table] ??= { Keys: [], ConsistentRead: true }).Keys.push(key);
    for (let attempt = 0; Object.keys(request).length; attempt++) {
      if (attempt >= maxAttempts) throw new UnprocessedItemsError('BatchGetItem left keys unprocessed after retries');
      if (attempt) await backoff(attempt);
      const out = await db.send(new BatchGetCommand({ RequestItems: request }));
      for (const [table, items] of Object.entries(out.Responses ?? {})) found[table]!.push(...items);
      request = (out.UnprocessedKeys ?? {}) as typeof request;
    }
  });
  return found;
}

/** BatchWriteItem over any number of puts (25 per request), retrying unprocessed items with backoff. */
export async function batchWrite(db: DynamoDBDocumentClient, itemsByTable: Record<string, Item[]>, maxAttempts = BATCH_RETRY.attempts): Promise<void> {
  const all = Object.entries(itemsByTable).flatMap(([table, items]) => items.map((Item) => [table, Item] as const));
  await mapLimit(chunks(all, 25), IN_FLIGHT, async (chunk) => {
    let request: Record<string, WriteRequest[]> = {};
    for (const [table, Item] of chunk) (request[table] ??= []).push({ PutRequest: { Item } });
    for (let attempt = 0; Object.keys(request).length; attempt++) {
      if (attempt >= maxAttempts) throw new UnprocessedItemsError('BatchWriteItem left items unprocessed after retries');
      if (attempt) await backoff(attempt);
      const out = await db.send(new BatchWriteCommand({ RequestItems: request }));
      request = (out.UnprocessedItems ?? {}) as Record<string, WriteRequest[]>;
    }
  });
}

/** Every item of a Query, following LastEvaluatedKey. */
export async function queryAll(db: DynamoDBDocumentClient, input: QueryCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  let ExclusiveStartKey: Key | undefined;
  do {
    const page = await db.send(new QueryCommand({ ...input, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** Every item of a table, read as `segments` parallel Scan segments. */
export async function scanAll(db: DynamoDBDocumentClient, input: ScanCommandInput, segments = 4): Promise<Item[]> {
  const parts = await Promise.all(
    Array.from({ length: segments }, async (_, Segment) => {
      const items: Item[] = [];
      let ExclusiveStartKey: Key | undefined;
      do {
        const page = await db.send(new ScanCommand({ ...input, Segment, TotalSegments: segments, ExclusiveStartKey }));
        items.push(...(page.Items ?? []));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return items;
    }),
  );
  return parts.flat();
}
