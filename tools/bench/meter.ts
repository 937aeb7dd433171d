/* eslint-disable @typescript-eslint/no-explicit-any -- the meter reads the SDK's requests and responses of every
   DynamoDB operation, whose shapes differ per command: they are read as the wire documents them. */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { TableNames } from '#shared/config.ts';
import { itemReadUnits, itemSize, pageReadUnits, putWriteUnits, writeUnits } from '#shared/store/capacity.ts';
import { TABLES, type TableDef, type TableId } from '#shared/tables.ts';

/** Items written, counted from the requests the SDK sends (retries of unprocessed items included). */
export interface WriteCounter {
  items: number;
  requests: number;
}

/**
 * Adds a middleware to a client that counts DynamoDB items written on the wire: each entry of a
 * BatchWriteItem, each PutItem, UpdateItem and DeleteItem. The bench's `writesPerOrder` comes from here.
 */
export function countWrites(db: DynamoDBDocumentClient): WriteCounter {
  const counter: WriteCounter = { items: 0, requests: 0 };
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { RequestItems?: Record<string, unknown[]> };
      switch (context.commandName) {
        case 'BatchWriteItemCommand':
          counter.requests++;
          counter.items += Object.values(input.RequestItems ?? {}).reduce((n, reqs) => n + reqs.length, 0);
          break;
        case 'PutItemCommand':
        case 'UpdateItemCommand':
        case 'DeleteItemCommand':
          counter.requests++;
          counter.items++;
          break;
      }
      return next(args);
    },
    { step: 'initialize', name: 'countWrites' },
  );
  return counter;
}

/** What one table (or all of them) cost, as AWS bills it. */
export interface CapacityTally {
  requests: number;
  itemsRead: number;
  itemsWritten: number;
  /** Write request units of the base items. */
  wruTable: number;
  /** Write request units of global secondary index entries. */
  wruIndexes: number;
  rru: number;
}

/** DynamoDB requests and capacity, counted on the wire by `meterDynamo`. */
export interface DynamoMeter extends CapacityTally {
  /** Requests per operation (`Query`, `BatchWriteItem`, …). */
  operations: Record<string, number>;
  /** The same per physical table name. */
  tables: Record<string, CapacityTally>;
  readonly wru: number;
  /** A copy of the counts now, to subtract from later ones. */
  snapshot(): MeterSnapshot;
}

export type MeterSnapshot = CapacityTally & { operations: Record<string, number> };

const emptyTally = (): CapacityTally => ({ requests: 0, itemsRead: 0, itemsWritten: 0, wruTable: 0, wruIndexes: 0, rru: 0 });

/** `later - earlier`, field by field: what happened between two snapshots. */
export function meterDelta(later: MeterSnapshot, earlier: MeterSnapshot): MeterSnapshot {
  const out = { ...emptyTally(), operations: {} as Record<string, number> };
  for (const k of Object.keys(emptyTally()) as (keyof CapacityTally)[]) out[k] = later[k] - earlier[k];
  for (const [op, n] of Object.entries(later.operations)) out.operations[op] = n - (earlier.operations[op] ?? 0);
  return out;
}

type Item = Record<string, AttributeValue>;
const sizeOfNative = (item: Record<string, unknown>) => itemSize(marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: true }));

/**
 * Adds a middleware to a DocumentClient that counts every DynamoDB request, the items it read and
 * wrote, and the read and write request units AWS would bill for them (shared/store/capacity.ts):
 * base items and the index entries of the tables named in `tables`, strongly or eventually
 * consistent reads, Query and Scan by the bytes of each response (a projecting one by the capacity
 * the service reports, since what comes back is not what is billed). Unprocessed items and keys are
 * not billed (their retry is). Approximations, said where they are made: an UpdateItem or DeleteItem
 * is billed by the item it returns (or its key and values), a put that replaces an item by the new one.
 */
// size: one middleware whose body is a table of cases, one per DynamoDB operation and how it is billed
export function meterDynamo(db: DynamoDBDocumentClient, tables?: Partial<TableNames>): DynamoMeter {
  const defs = new Map<string, TableDef>();
  for (const [id, name] of Object.entries(tables ?? {})) if (name) defs.set(name, TABLES[id as TableId]);
  const meter: DynamoMeter = {
    ...emptyTally(),
    operations: {},
    tables: {},
    get wru(): number {
      return meter.wruTable + meter.wruIndexes;
    },
    snapshot(): MeterSnapshot {
      const t: CapacityTally = { requests: meter.requests, itemsRead: meter.itemsRead, itemsWritten: meter.itemsWritten, wruTable: meter.wruTable, wruIndexes: meter.wruIndexes, rru: meter.rru };
      return { ...t, operations: { ...meter.operations } };
    },
  };
  const add = (table: string, k: keyof CapacityTally, n: number) => {
    (meter as CapacityTally)[k] += n;
    (meter.tables[table] ??= emptyTally())[k] += n;
  };
  const keysOf = (table: string) => {
    const d = defs.get(table);
    return d ? [d.partitionKey, ...(d.sortKey ? [d.sortKey] : [])] : [];
  };
  const put = (table: string, item: Item, sign = 1) => {
    const u = putWriteUnits(item, keysOf(table), defs.get(table)?.indexes ?? []);
    add(table, 'wruTable', sign * u.table);
    add(table, 'wruIndexes', sign * u.indexes);
    add(table, 'itemsWritten', sign);
  };

  db.middlewareStack.add(
    (next, context) =>
      async (args): Promise<any> => {
        // At the build step the DocumentClient has marshalled the input; the output comes back unmarshalled.
        const op = context.commandName?.replace(/Command$/, '') ?? 'unknown';
        const input = args.input as Record<string, any>;
        const table: string = input.TableName ?? Object.keys(input.RequestItems ?? {})[0] ?? '?';
        meter.operations[op] = (meter.operations[op] ?? 0) + 1;
        add(table, 'requests', 1);
        let out: { output: Record<string, any> };
        try {
          out = await next(args);
        } catch (err) {
          // A failed condition is billed as a write of at least one unit.
          if ((err as Error).name === 'ConditionalCheckFailedException') add(table, 'wruTable', 1);
          throw err;
        }
        const o = out.output;
        switch (op) {
          case 'BatchWriteItem': {
            for (const [t, reqs] of Object.entries(input.RequestItems as Record<string, any[]>)) {
              for (const r of reqs) {
                if (r.PutRequest) put(t, r.PutRequest.Item);
                else {
                  add(t, 'wruTable', 1);
                  add(t, 'itemsWritten', 1);
                }
              }
            }
            // Unprocessed items were not written: their retry is billed instead.
            for (const [t, reqs] of Object.entries((o.UnprocessedItems ?? {}) as Record<string, any[]>)) {
              for (const r of reqs) {
                if (r.PutRequest) put(t, marshall(r.PutRequest.Item, { removeUndefinedValues: true }) as Item, -1);
                else {
                  add(t, 'wruTable', -1);
                  add(t, 'itemsWritten', -1);
                }
              }
            }
            break;
          }
          case 'PutItem':
            put(table, input.Item);
            break;
          case 'UpdateItem':
          case 'DeleteItem': {
            const bytes = o.Attributes ? sizeOfNative(o.Attributes) : itemSize({ ...input.Key, ...(input.ExpressionAttributeValues ?? {}) });
            add(table, 'wruTable', writeUnits(bytes));
            add(table, 'itemsWritten', 1);
            break;
          }
          case 'GetItem':
            add(table, 'rru', itemReadUnits(o.Item ? sizeOfNative(o.Item) : 0, input.ConsistentRead === true));
            if (o.Item) add(table, 'itemsRead', 1);
            break;
          case 'BatchGetItem': {
            for (const [t, req] of Object.entries(input.RequestItems as Record<string, { Keys: unknown[]; ConsistentRead?: boolean }>)) {
              const found: Record<string, unknown>[] = o.Responses?.[t] ?? [];
              const unprocessed = (o.UnprocessedKeys?.[t]?.Keys ?? []).length;
              const consistent = req.ConsistentRead === true;
              for (const it of found) add(t, 'rru', itemReadUnits(sizeOfNative(it), consistent));
              // A key that found nothing still costs the minimum read.
              add(t, 'rru', Math.max(0, req.Keys.length - unprocessed - found.length) * itemReadUnits(0, consistent));
              add(t, 'itemsRead', found.length);
            }
            break;
          }
          case 'Query':
          case 'Scan': {
            const items: Record<string, unknown>[] = o.Items ?? [];
            // A projection leaves out what is billed: then the service's own count of the page is used.
            const billed = o.ConsumedCapacity?.CapacityUnits as number | undefined;
            const bytes = items.reduce((n, it) => n + sizeOfNative(it), 0);
            add(table, 'rru', input.ProjectionExpression && billed !== undefined ? billed : pageReadUnits(bytes, input.ConsistentRead === true && !input.IndexName));
            add(table, 'itemsRead', items.length);
            break;
          }
        }
        return out;
      },
    { step: 'build', name: 'meterDynamo' },
  );
  // A Query or Scan that projects asks for its consumed capacity, which counts whole items.
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      if ((context.commandName === 'QueryCommand' || context.commandName === 'ScanCommand') && input.ProjectionExpression) {
        return next({ ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } });
      }
      return next(args);
    },
    { step: 'initialize', name: 'meterDynamoCapacity' },
  );
  return meter;
}
