import type { DynamoDBDocumentClient, QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../config.ts';
import type { ProviderProfile } from '../model.ts';
import { batchGet, queryAll, scanAll } from './batch.ts';
import { INGEST_SHARDS, PROVIDER_LIST_KEY, providerGpk, providerKey, storePk, storedFields } from './items.ts';
import { declareAccess } from './access.ts';

/**
 * The read side of the stored events, for the aggregation and the evaluation. Key layouts come from
 * `items.ts`; nothing here writes.
 */

export interface StoredOrder {
  orderId: string;
  paidAt: string;
  gift: boolean;
}
export interface StoredBinding {
  providerId: string;
  storeId: string;
  kind: 'started' | 'ended';
  at: string;
}
export interface StoredDeposit {
  paymentId: string;
  kind: 'paid' | 'deducted';
  amountFen: number;
  at: string;
}

/** What arrived in an ingest window: the inputs of an incremental aggregation run. */
export interface Changes {
  /** Orders that arrived: their store and paid instant. */
  orders: { storeId: string; paidAt: string }[];
  /** Stores whose bindings changed. */
  bindingStores: Set<string>;
  /** Providers whose deposits changed. */
  depositProviders: Set<string>;
  /** Providers whose profile changed. */
  profileProviders: Set<string>;
}

export class SourceStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, 'orders' | 'events'>,
  ) {}

  private queryAll(input: QueryCommandInput) {
    return queryAll(this.db, input);
  }

  /** Everything stored, for a full recount (the first run, or `renewal aggregate --full`). */
  async allChanges(): Promise<Changes> {
    const changes: Changes = { orders: [], bindingStores: new Set(), depositProviders: new Set(), profileProviders: new Set() };
    const [orders, events] = await Promise.all([
      scanAll(this.db, { TableName: this.tables.orders, ProjectionExpression: 'storeId, storePaid' }),
      scanAll(this.db, { TableName: this.tables.events, ProjectionExpression: '#t, storeId, providerId', ExpressionAttributeNames: { '#t': 'type' } }),
    ]);
    for (const it of orders) changes.orders.push({ storeId: it.storeId as string, paidAt: (it.storePaid as string).split('#')[0]! });
    for (const it of events) classifyEvent(changes, it);
    return changes;
  }

  /**
   * Everything ingested with `fromIso <= ingestedAt < toIso`, read from the ingest-time indexes:
   * one Query per hour bucket and shard, so the cost follows what arrived, not all history.
   */
  async changesBetween(fromIso: string, toIso: string): Promise<Changes> {
    const changes: Changes = { orders: [], bindingStores: new Set(), depositProviders: new Set(), profileProviders: new Set() };
    const hours: string[] = [];
    for (let h = Date.parse(`${fromIso.slice(0, 13)}:00:00Z`); h < Date.parse(toIso); h += 3_600_000) hours.push(new Date(h).toISOString().slice(0, 13));
    const queries: { table: string; ib: string }[] = [];
    for (const hour of hours)
      for (let shard = 0; shard < INGEST_SHARDS; shard++)
        for (const table of [this.tables.orders, this.tables.events]) queries.push({ table, ib: `${hour}#${shard}` });
    await mapLimit(queries, 16, async ({ table, ib }) => {
      const items = await this.queryAll({
        TableName: table,
        IndexName: 'byIngest',
        KeyConditionExpression: 'ib = :ib AND ik BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':ib': ib, ':from': fromIso, ':to': toIso },
      });
      for (const it of items) {
        if ((it.ik as string) >= toIso) continue; // BETWEEN is inclusive; the window is half-open
        if (table === this.tables.orders) changes.orders.push({ storeId: it.storeId as string, paidAt: (it.storePaid as string).split('#')[0]! });
        else classifyEvent(changes, it);
      }
    });
    return changes;
  }

  /** Orders of one store with `fromIso <= paidAt < toIso`, from the byStore index. */
  async ordersOfStore(storeId: string, fromIso: string, toIso: string): Promise<StoredOrder[]> {
    const items = await this.queryAll({
      TableName: this.tables.orders,
      IndexName: 'byStore',
      KeyConditionExpression: 'storeId = :s AND storePaid BETWEEN :from AND :to',
      // '#' sorts before every id character, so `${toIso}#` bounds the orders paid before toIso.
      ExpressionAttributeValues: { ':s': storeId, ':from': fromIso, ':to': `${toIso}#` },
    });
    return items
      .map((it) => {
        const [paidAt, orderId] = (it.storePaid as string).split('#') as [string, string];
        return { orderId, paidAt, gift: it.gift === true };
      })
      .filter((o) => o.paidAt < toIso);
  }

  async bindingsOfStore(storeId: string): Promise<StoredBinding[]> {
    const items = await this.queryAll({
      TableName: this.tables.events,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :b)',
      ExpressionAttributeValues: { ':pk': storePk(storeId), ':b': 'B#' },
    });
    return items.map(toBinding);
  }

  async bindingsOfProvider(providerId: string): Promise<StoredBinding[]> {
    const items = await this.queryAll({
      TableName: this.tables.events,
      IndexName: 'byProvider',
      KeyConditionExpression: 'gpk = :p AND begins_with(gsk, :b)',
      ExpressionAttributeValues: { ':p': providerGpk(providerId), ':b': 'B#' },
    });
    return items.map(toBinding);
  }

  async depositsOfProvider(providerId: string): Promise<StoredDeposit[]> {
    const items = await this.queryAll({
      TableName: this.tables.events,
      IndexName: 'byProvider',
      KeyConditionExpression: 'gpk = :p AND begins_with(gsk, :d)',
      ExpressionAttributeValues: { ':p': providerGpk(providerId), ':d': 'D#' },
    });
    return items.map((it) => ({
      paymentId: it.paymentId as string,
      kind: it.type === 'deposit.paid' ? 'paid' : 'deducted',
      amountFen: it.amountFen as number,
      at: (it.type === 'deposit.paid' ? it.paidAt : it.at) as string,
    }));
  }

  /** Every provider profile (the `providers` index), or just the ones asked for. */
  async providers(ids?: readonly string[]): Promise<ProviderProfile[]> {
    let items: Record<string, unknown>[];
    if (ids) {
      const keys = [...new Set(ids)].map(providerKey);
      items = (await batchGet(this.db, { [this.tables.events]: keys }))[this.tables.events]!;
    } else {
      items = await this.queryAll({
        TableName: this.tables.events,
        IndexName: 'providers',
        KeyConditionExpression: 'listKey = :k',
        ExpressionAttributeValues: { ':k': PROVIDER_LIST_KEY },
      });
    }
    return items
      .map((it) => storedFields(it) as unknown as ProviderProfile & { type?: string })
      .map(({ type: _type, ...p }) => p)
      .sort((a, b) => a.providerId.localeCompare(b.providerId));
  }
}

function classifyEvent(changes: Changes, it: Record<string, unknown>): void {
  const type = it.type as string;
  if (type.startsWith('binding.')) changes.bindingStores.add(it.storeId as string);
  else if (type.startsWith('deposit.')) changes.depositProviders.add(it.providerId as string);
  else changes.profileProviders.add(it.providerId as string);
}

function toBinding(it: Record<string, unknown>): StoredBinding {
  return {
    providerId: it.providerId as string,
    storeId: it.storeId as string,
    kind: it.type === 'binding.started' ? 'started' : 'ended',
    at: it.at as string,
  };
}

/** Runs `fn` over `xs` with at most `limit` in flight. */
export async function mapLimit<T, R>(xs: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, xs.length) }, async () => {
      while (next < xs.length) {
        const i = next++;
        out[i] = await fn(xs[i]!, i);
      }
    }),
  );
  return out;
}

/** What each method sends (shared/store/access.ts). */
export const SOURCE_ACCESS = declareAccess<SourceStore>()('source', {
  allChanges: [
    { table: 'orders', actions: ['Scan'] },
    { table: 'events', actions: ['Scan'] },
  ],
  changesBetween: [
    { table: 'orders', index: 'byIngest', actions: ['Query'] },
    { table: 'events', index: 'byIngest', actions: ['Query'] },
  ],
  ordersOfStore: [{ table: 'orders', index: 'byStore', actions: ['Query'] }],
  bindingsOfStore: [{ table: 'events', actions: ['Query'] }],
  bindingsOfProvider: [{ table: 'events', index: 'byProvider', actions: ['Query'] }],
  depositsOfProvider: [{ table: 'events', index: 'byProvider', actions: ['Query'] }],
  providers: [
    { table: 'events', actions: ['BatchGetItem'] },
    { table: 'events', index: 'providers', actions: ['Query'] },
  ],
});
