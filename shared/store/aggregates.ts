import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../config.ts';
import { batchGet, batchWrite, queryAll } from './batch.ts';
import { getCampaign, periodWindow } from '../rules/campaign.ts';
import { declareAccess } from './access.ts';

/**
 * The aggregates table. Layout (one module owns it):
 *
 * | item             | pk                          | sk           | attributes                                   |
 * |------------------|-----------------------------|--------------|----------------------------------------------|
 * | store-day counts | `SD#<campaign>#<storeId>`   | `<CST date>` | `counts`: providerId → counted orders        |
 * | provider totals  | `PC#<campaign>`             | `<providerId>` | `paidOrders`, `daily`, `depositBalanceFen`, `stores` |
 * | watermark        | `RUN#<campaign>`            | `WATERMARK`  | `through`: ingest instant fully aggregated   |
 * | lock             | `RUN#<campaign>`            | `LOCK`       | `owner`, `holder`, `acquiredAt`, `heartbeatAt`, `leaseUntil`, `expiresAt` (TTL) |
 *
 * Store-day items are recomputed from the orders, never incremented, so writing one twice is harmless.
 * A provider's day counts are kept as `daily`, one number per day of the season, so the item has the
 * same size whatever the number of orders: the evaluation's reads grow with providers × days only.
 */

export type DayCounts = Record<string, number>;

/** The aggregation lock as another run finds it. */
export interface LockHolder {
  owner: string;
  /** Who: `renewal aggregate by alice@host (pid 123)`, `aggregate function, request …`. */
  holder?: string;
  acquiredAt?: string;
  /** The holder's last heartbeat. */
  heartbeatAt?: string;
  leaseUntil: string;
}

export interface ProviderTotals {
  providerId: string;
  paidOrders: number;
  /** CST date → counted orders, days with none left out. */
  byDay: Record<string, number>;
  depositBalanceFen: number;
  stores: string[];
  computedAt: string;
}

export class AggregateStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, 'aggregates'>,
  ) {}

  private get table() {
    return this.tables.aggregates;
  }

  /**
   * Takes the run lock if it is free or its lease ran out (PutItem, conditional). Returns false while
   * another run holds it. `holder` says who takes it, for the run that finds it busy.
   */
  async acquireLock(campaignId: string, owner: string, now: Date, leaseMs: number, holder?: string): Promise<boolean> {
    const leaseUntil = new Date(now.getTime() + leaseMs).toISOString();
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `RUN#${campaignId}`,
            sk: 'LOCK',
            owner,
            ...(holder ? { holder } : {}),
            acquiredAt: now.toISOString(),
            heartbeatAt: now.toISOString(),
            leaseUntil,
            expiresAt: Math.ceil(Date.parse(leaseUntil) / 1000) + 86_400,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now',
          ExpressionAttributeValues: { ':now': now.toISOString() },
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  /**
   * The heartbeat: extends our lease to `now + leaseMs` (UpdateItem, conditional on owner). False when
   * the lock is no longer ours (our lease ran out and another run took it).
   */
  async renewLock(campaignId: string, owner: string, now: Date, leaseMs: number): Promise<boolean> {
    const leaseUntil = new Date(now.getTime() + leaseMs).toISOString();
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `RUN#${campaignId}`, sk: 'LOCK' },
          UpdateExpression: 'SET leaseUntil = :lease, heartbeatAt = :now, expiresAt = :exp',
          ConditionExpression: '#o = :o',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':o': owner, ':lease': leaseUntil, ':now': now.toISOString(), ':exp': Math.ceil(Date.parse(leaseUntil) / 1000) + 86_400 },
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  /** Who holds the lock and until when (GetItem, consistent), or undefined when nobody does. */
  async lockHolder(campaignId: string): Promise<LockHolder | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `RUN#${campaignId}`, sk: 'LOCK' }, ConsistentRead: true }));
    const it = out.Item;
    if (!it) return undefined;
    return {
      owner: it.owner,
      leaseUntil: it.leaseUntil,
      ...(it.holder ? { holder: it.holder } : {}),
      ...(it.acquiredAt ? { acquiredAt: it.acquiredAt } : {}),
      ...(it.heartbeatAt ? { heartbeatAt: it.heartbeatAt } : {}),
    };
  }

  async releaseLock(campaignId: string, owner: string): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: `RUN#${campaignId}`, sk: 'LOCK' },
          ConditionExpression: '#o = :o',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':o': owner },
        }),
      );
    } catch (err) {
      // Our lease ran out and another run took the lock: it is theirs to release.
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    }
  }

  async watermark(campaignId: string): Promise<string | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `RUN#${campaignId}`, sk: 'WATERMARK' }, ConsistentRead: true }));
    return out.Item?.through as string | undefined;
  }

  async setWatermark(campaignId: string, through: string): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: `RUN#${campaignId}`, sk: 'WATERMARK', through } }));
  }

  /** Store-day counts of one store: every day kept, or only the days asked for. */
  async storeDays(campaignId: string, storeId: string, days?: readonly string[]): Promise<Map<string, DayCounts>> {
    const pk = `SD#${campaignId}#${storeId}`;
    const items = days
      ? (await batchGet(this.db, { [this.table]: days.map((sk) => ({ pk, sk })) }))[this.table]!
      : await this.queryAll(pk);
    return new Map(items.map((it) => [it.sk as string, (it.counts ?? {}) as DayCounts]));
  }

  async putStoreDays(campaignId: string, storeId: string, days: Map<string, DayCounts>, computedAt: string): Promise<void> {
    const pk = `SD#${campaignId}#${storeId}`;
    await batchWrite(this.db, { [this.table]: [...days].map(([sk, counts]) => ({ pk, sk, counts, computedAt })) });
  }

  /** Every provider's totals (one Query). */
  async providerTotals(campaignId: string): Promise<ProviderTotals[]> {
    return this.decodeTotals(campaignId, await this.queryAll(`PC#${campaignId}`));
  }

  /** The totals of the given providers (BatchGetItem). */
  async providerTotalsOf(campaignId: string, providerIds: readonly string[]): Promise<ProviderTotals[]> {
    const pk = `PC#${campaignId}`;
    return this.decodeTotals(campaignId, (await batchGet(this.db, { [this.table]: [...new Set(providerIds)].map((sk) => ({ pk, sk })) }))[this.table]!);
  }

  private decodeTotals(campaignId: string, items: Record<string, unknown>[]): ProviderTotals[] {
    const days = seasonDays(campaignId);
    return items.map(({ pk: _pk, sk, daily, ...rest }) => ({
      ...(rest as Omit<ProviderTotals, 'providerId' | 'byDay'>),
      providerId: sk as string,
      byDay: Object.fromEntries((daily as number[]).flatMap((n, i) => (n ? [[days[i]!, n]] : []))),
    }));
  }

  async putProviderTotals(campaignId: string, totals: ProviderTotals[]): Promise<void> {
    const pk = `PC#${campaignId}`;
    const days = seasonDays(campaignId);
    await batchWrite(this.db, {
      [this.table]: totals.map(({ providerId, byDay, ...rest }) => ({ pk, sk: providerId, ...rest, daily: days.map((d) => byDay[d] ?? 0) })),
    });
  }

  /** A view of this store whose writes stay in memory: what a dry run aggregates with. */
  scratch(): AggregateStore {
    return new ScratchAggregates(this.db, this.tables);
  }

  private queryAll(pk: string) {
    return queryAll(this.db, { TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true });
  }
}

/**
 * Reads through to the table and keeps every write in memory, so a dry run can bring the counts up
 * to date and decide from them while writing nothing. It takes no lock: it changes nothing to guard.
 */
class ScratchAggregates extends AggregateStore {
  private readonly days = new Map<string, Map<string, DayCounts>>();
  private readonly totals = new Map<string, ProviderTotals>();
  private readonly marks = new Map<string, string>();

  override async acquireLock(): Promise<boolean> {
    return true;
  }
  override async renewLock(): Promise<boolean> {
    return true;
  }
  override async releaseLock(): Promise<void> {}
  override async watermark(campaignId: string): Promise<string | undefined> {
    return this.marks.get(campaignId) ?? super.watermark(campaignId);
  }
  override async setWatermark(campaignId: string, through: string): Promise<void> {
    this.marks.set(campaignId, through);
  }
  override async storeDays(campaignId: string, storeId: string, days?: readonly string[]): Promise<Map<string, DayCounts>> {
    const out = await super.storeDays(campaignId, storeId, days);
    for (const [day, counts] of this.days.get(`${campaignId}#${storeId}`) ?? []) if (!days || days.includes(day)) out.set(day, counts);
    return out;
  }
  override async putStoreDays(campaignId: string, storeId: string, days: Map<string, DayCounts>): Promise<void> {
    const key = `${campaignId}#${storeId}`;
    const mine = this.days.get(key) ?? this.days.set(key, new Map()).get(key)!;
    for (const [day, counts] of days) mine.set(day, counts);
  }
  override async providerTotals(campaignId: string): Promise<ProviderTotals[]> {
    return this.merged(campaignId, await super.providerTotals(campaignId));
  }
  override async providerTotalsOf(campaignId: string, providerIds: readonly string[]): Promise<ProviderTotals[]> {
    return this.merged(campaignId, await super.providerTotalsOf(campaignId, providerIds), new Set(providerIds));
  }
  private merged(campaignId: string, stored: ProviderTotals[], wanted?: Set<string>): ProviderTotals[] {
    const merged = new Map(stored.map((t) => [t.providerId, t]));
    for (const [key, t] of this.totals) if (key.startsWith(`${campaignId}#`) && (!wanted || wanted.has(t.providerId))) merged.set(t.providerId, t);
    return [...merged.values()];
  }
  override async putProviderTotals(campaignId: string, totals: ProviderTotals[]): Promise<void> {
    for (const t of totals) this.totals.set(`${campaignId}#${t.providerId}`, t);
  }
}

function seasonDays(campaignId: string): readonly string[] {
  const c = getCampaign(campaignId);
  if (!c) throw new RangeError(`unknown campaign ${campaignId}`);
  return periodWindow(c).days;
}

/** What each method sends (shared/store/access.ts). */
export const AGGREGATES_ACCESS = declareAccess<AggregateStore>()('aggregates', {
  acquireLock: [{ table: 'aggregates', actions: ['PutItem'] }],
  renewLock: [{ table: 'aggregates', actions: ['UpdateItem'] }],
  lockHolder: [{ table: 'aggregates', actions: ['GetItem'] }],
  releaseLock: [{ table: 'aggregates', actions: ['DeleteItem'] }],
  watermark: [{ table: 'aggregates', actions: ['GetItem'] }],
  setWatermark: [{ table: 'aggregates', actions: ['PutItem'] }],
  storeDays: [{ table: 'aggregates', actions: ['BatchGetItem', 'Query'] }],
  putStoreDays: [{ table: 'aggregates', actions: ['BatchWriteItem'] }],
  providerTotals: [{ table: 'aggregates', actions: ['Query'] }],
  providerTotalsOf: [{ table: 'aggregates', actions: ['BatchGetItem'] }],
  putProviderTotals: [{ table: 'aggregates', actions: ['BatchWriteItem'] }],
  // A view whose writes stay in memory; its reads are the methods above.
  scratch: [],
});
