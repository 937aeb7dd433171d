import { ScanCommand, type DynamoDBDocumentClient, type QueryCommandInput, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../config.ts';
import type { ProviderProfile } from '../model.ts';
import { batchGet, queryAll } from './batch.ts';
import { storedEvent, storedFields, toBinding, toDeposit, type ProfileVersionFields, type StoredBinding, type StoredDeposit } from './items.ts';
import { BINDING_PREFIX, DEPOSIT_PREFIX, PROVIDER_LIST_KEY, providerEntryKind, providerGpk, providerKey, storePk } from './layout/events.ts';
import { parseStorePaid, storePaidRange } from './layout/orders.ts';
import { declareAccess } from './access.ts';
import { ChangeLog, type Changes } from './changes.ts';
export type { Changes, ProfileVersionFields, StoredBinding, StoredDeposit };

/** A provider's latest profile and the certification fields of every version seen. */
export type StoredProfile = ProviderProfile & { versions: ProfileVersionFields[] };

/**
 * The read side of the stored events, for the aggregation and the evaluation. Key layouts come from
 * `layout/orders.ts` and `layout/events.ts`, items are decoded by `items.ts`; nothing here writes.
 */

export interface StoredOrder {
  orderId: string;
  paidAt: string;
  gift: boolean;
}

/** Bindings and deposits: of one provider (one Query), or one page of every one stored (a Scan page). */
export interface ProviderEvents {
  bindings: StoredBinding[];
  deposits: StoredDeposit[];
}

export class SourceStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, 'orders' | 'events' | 'changes'>,
  ) {
    this.changeLog = new ChangeLog(db, tables);
  }

  private readonly changeLog: ChangeLog;

  /**
   * What the intake recorded with `fromIso <= writtenAt < toIso`: one Query per change-log shard,
   * so the cost follows what arrived, not all history (DynamoDB: Query on changes).
   */
  changesBetween(fromIso: string, toIso: string): Promise<Changes> {
    return this.changeLog.between(fromIso, toIso);
  }

  private queryAll(input: QueryCommandInput) {
    return queryAll(this.db, input);
  }

  /**
   * Every binding and deposit event stored, page by page (DynamoDB: Scan on events); or those of one
   * Scan segment of `segments`. A store's bindings share its partition key, so one segment holds all
   * the bindings of the stores it holds: a segment is a hash bucket of stores (the full recount's shard).
   */
  async *eventPages(segment = 0, segments = 1): AsyncGenerator<ProviderEvents> {
    for await (const items of this.scanPages(this.tables.events, segment, segments)) {
      const page: ProviderEvents = { bindings: [], deposits: [] };
      for (const it of items) {
        const e = storedEvent(it);
        if (e && 'binding' in e) page.bindings.push(e.binding);
        else if (e) page.deposits.push(e.deposit);
      }
      yield page;
    }
  }

  /**
   * How many orders one Scan segment of `segments` holds (Select COUNT, page by page): a sample of the
   * orders table, which the full recount's plan scales up to size its shards without reading every order.
   */
  async orderSample(segment: number, segments: number): Promise<number> {
    let n = 0;
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(new ScanCommand({ TableName: this.tables.orders, Select: 'COUNT', Segment: segment, TotalSegments: segments, ExclusiveStartKey }));
      n += page.Count ?? 0;
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return n;
  }

  private async *scanPages(table: string, segment: number, segments: number, extra: Partial<ScanCommandInput> = {}): AsyncGenerator<Record<string, unknown>[]> {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(new ScanCommand({ ...extra, TableName: table, Segment: segment, TotalSegments: segments, ExclusiveStartKey }));
      yield page.Items ?? [];
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }

  /** Orders of one store with `fromIso <= paidAt < toIso`, from the byStore index. */
  async ordersOfStore(storeId: string, fromIso: string, toIso: string): Promise<StoredOrder[]> {
    const range = storePaidRange(fromIso, toIso);
    const items = await this.queryAll({
      TableName: this.tables.orders,
      IndexName: 'byStore',
      KeyConditionExpression: 'storeId = :s AND storePaid BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':s': storeId, ':from': range.from, ':to': range.to },
    });
    return items.map((it) => ({ ...parseStorePaid(it.storePaid as string), gift: it.gift === true })).filter((o) => o.paidAt < toIso);
  }

  async bindingsOfStore(storeId: string): Promise<StoredBinding[]> {
    const items = await this.queryAll({
      TableName: this.tables.events,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :b)',
      ExpressionAttributeValues: { ':pk': storePk(storeId), ':b': BINDING_PREFIX },
    });
    return items.map(toBinding);
  }

  /** Bindings and deposits of one provider with one Query (DynamoDB: Query on events, index byProvider). */
  async providerEvents(providerId: string): Promise<ProviderEvents> {
    const items = await this.queryAll({
      TableName: this.tables.events,
      IndexName: 'byProvider',
      KeyConditionExpression: 'gpk = :p',
      ExpressionAttributeValues: { ':p': providerGpk(providerId) },
    });
    return {
      bindings: items.filter((it) => providerEntryKind(it.gsk as string) === 'binding').map(toBinding),
      deposits: items.filter((it) => providerEntryKind(it.gsk as string) === 'deposit').map(toDeposit),
    };
  }

  async depositsOfProvider(providerId: string): Promise<StoredDeposit[]> {
    const items = await this.queryAll({
      TableName: this.tables.events,
      IndexName: 'byProvider',
      KeyConditionExpression: 'gpk = :p AND begins_with(gsk, :d)',
      ExpressionAttributeValues: { ':p': providerGpk(providerId), ':d': DEPOSIT_PREFIX },
    });
    return items.map(toDeposit);
  }

  /**
   * Every provider profile (the `providers` index): the latest version, with the certification fields
   * of every version seen (`versions`, in arrival order).
   */
  async providers(): Promise<StoredProfile[]> {
    const items = await this.queryAll({
      TableName: this.tables.events,
      IndexName: 'providers',
      KeyConditionExpression: 'listKey = :k',
      ExpressionAttributeValues: { ':k': PROVIDER_LIST_KEY },
    });
    return profilesFrom(items);
  }

  /**
   * Every provider's id, in key order (the `providers` index, keys only): what the evaluation's plan
   * cuts into shards of id ranges, so that no step's payload carries a provider list.
   */
  async providerIds(): Promise<string[]> {
    const items = await this.queryAll({
      TableName: this.tables.events,
      IndexName: 'providers',
      KeyConditionExpression: 'listKey = :k',
      ExpressionAttributeValues: { ':k': PROVIDER_LIST_KEY },
      ProjectionExpression: 'providerId',
    });
    return items.map((it) => it.providerId as string).sort(byKey);
  }

  /** The profiles of the providers whose ids lie in `[first, last]`, in key order (one Query of the `providers` index): one evaluation shard. */
  async providersBetween(first: string, last: string): Promise<StoredProfile[]> {
    const items = await this.queryAll({
      TableName: this.tables.events,
      IndexName: 'providers',
      KeyConditionExpression: 'listKey = :k AND pk BETWEEN :a AND :b',
      ExpressionAttributeValues: { ':k': PROVIDER_LIST_KEY, ':a': providerKey(first).pk, ':b': providerKey(last).pk },
    });
    return profilesFrom(items);
  }

  /** The profiles of the providers asked for (one BatchGetItem), as `providers()` gives them; unknown ids are absent. */
  async profilesOf(ids: readonly string[]): Promise<StoredProfile[]> {
    const keys = [...new Set(ids)].map(providerKey);
    return profilesFrom((await batchGet(this.db, { [this.tables.events]: keys }))[this.tables.events]!);
  }
}

function profilesFrom(items: Record<string, unknown>[]): StoredProfile[] {
  return items
    .map((it) => {
      const { type: _type, ...p } = storedFields(it) as unknown as ProviderProfile & { type?: string };
      // A profile stored before versions were kept has seen one version: its own.
      const versions = (it.versions as ProfileVersionFields[] | undefined) ?? [{ certifiedAt: p.certifiedAt, ...(p.regularizedAt !== undefined ? { regularizedAt: p.regularizedAt } : {}) }];
      return { ...p, versions };
    })
    .sort((a, b) => a.providerId.localeCompare(b.providerId));
}

/** What each method sends (shared/store/access.ts). */
export const SOURCE_ACCESS = declareAccess<SourceStore>()('source', {
  changesBetween: [{ table: 'changes', actions: ['Query'] }],
  eventPages: [{ table: 'events', actions: ['Scan'] }],
  orderSample: [{ table: 'orders', actions: ['Scan'] }],
  ordersOfStore: [{ table: 'orders', index: 'byStore', actions: ['Query'] }],
  bindingsOfStore: [{ table: 'events', actions: ['Query'] }],
  providerEvents: [{ table: 'events', index: 'byProvider', actions: ['Query'] }],
  depositsOfProvider: [{ table: 'events', index: 'byProvider', actions: ['Query'] }],
  providers: [{ table: 'events', index: 'providers', actions: ['Query'] }],
  providerIds: [{ table: 'events', index: 'providers', actions: ['Query'] }],
  providersBetween: [{ table: 'events', index: 'providers', actions: ['Query'] }],
  profilesOf: [{ table: 'events', actions: ['BatchGetItem'] }],
});

/** Key order: the order of the `providers` index (ids are ASCII, so code units are bytes). */
export const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
