import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../config.ts';
import { batchGet, batchWrite, queryAll } from './batch.ts';
import { periodWindow, type Campaign } from '../rules/campaign.ts';
import { declareAccess } from './access.ts';
import { conditionHeld, ifConditionHolds } from './conditional.ts';
import { providerOfTotalsKey, providerTotalsKey, providerTotalsPk, runStateKey, storeCountsKey, storeOfCountsKey } from './layout/aggregates.ts';

/**
 * The aggregates table. Keys: `layout/aggregates.ts`; what the items hold:
 *
 * | item            | one per                 | attributes                                   |
 * |-----------------|-------------------------|----------------------------------------------|
 * | store counts    | campaign × store        | `daily`: providerId → counted orders per season day; `bindings`: the store's binding events as last read; `computedAt` |
 * | provider totals | campaign × provider     | `paidOrders`, `daily`, `depositBalanceFen`, `stores`, `computedAt` |
 * | run state       | campaign                | `through`: ingest instant fully aggregated; while a run holds the lock: `owner`, `holder`, `acquiredAt`, `heartbeatAt`, `leaseUntil` |
 *
 * Counts are recomputed from the orders, never incremented, so writing one twice is harmless. Day
 * counts are arrays with one number per day of the season, so an item has the same size whatever
 * the number of orders: one store item is about 300 bytes per bound provider (one write unit), and
 * the evaluation's reads grow with providers only. The lock and the watermark share one item, so a
 * run takes the lock and learns its watermark in one request, and gives both back in one. The lock's
 * lease is short and renewed by the run's heartbeat (shared/usecases/run-lock.ts).
 */

/** A store's counted orders: providerId → one count per season day (`periodWindow(c).days`). */
export type StoreDaily = Record<string, number[]>;

/** A binding event as kept with a store's counts, so a run that only sees new orders need not re-read them. */
export interface CachedBinding {
  providerId: string;
  kind: 'started' | 'ended';
  at: string;
}

export interface StoreCounts {
  daily: StoreDaily;
  bindings: CachedBinding[];
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

/** Who holds the run lock, for a run that finds it busy. */
export interface LockHolder {
  owner: string;
  /** Who: `renewal aggregate by alice@host (pid 123)`, `aggregate function, request …`. */
  holder?: string;
  acquiredAt?: string;
  /** The holder's last heartbeat. */
  heartbeatAt?: string;
  leaseUntil: string;
}

/** What taking the lock found: the watermark, or that another run holds the lock. */
export type RunStart = { acquired: true; through: string | undefined } | { acquired: false };

const LOCK_FIELDS = 'REMOVE #o, leaseUntil, holder, acquiredAt, heartbeatAt';

export class AggregateStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, 'aggregates'>,
  ) {}

  private get table() {
    return this.tables.aggregates;
  }

  /**
   * Takes the run lock if it is free or its lease ran out, and returns the watermark with it: one
   * conditional UpdateItem. `holder` says who takes it, for the run that finds it busy.
   */
  async begin(campaignId: string, owner: string, now: Date, leaseMs: number, holder?: string): Promise<RunStart> {
    const leaseUntil = new Date(now.getTime() + leaseMs).toISOString();
    const out = await ifConditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: runStateKey(campaignId),
          UpdateExpression: `SET #o = :o, leaseUntil = :l, acquiredAt = :now, heartbeatAt = :now${holder ? ', holder = :h' : ''}${holder ? '' : ' REMOVE holder'}`,
          ConditionExpression: 'attribute_not_exists(#o) OR leaseUntil < :now',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':o': owner, ':l': leaseUntil, ':now': now.toISOString(), ...(holder ? { ':h': holder } : {}) },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return out ? { acquired: true, through: out.Attributes?.through as string | undefined } : { acquired: false };
  }

  /**
   * The heartbeat: extends our lease to `now + leaseMs` (UpdateItem, conditional on owner). False when
   * the lock is no longer ours (our lease ran out and another run took it).
   */
  async renewLock(campaignId: string, owner: string, now: Date, leaseMs: number): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: runStateKey(campaignId),
          UpdateExpression: 'SET leaseUntil = :lease, heartbeatAt = :now',
          ConditionExpression: '#o = :o',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':o': owner, ':lease': new Date(now.getTime() + leaseMs).toISOString(), ':now': now.toISOString() },
        }),
      ),
    );
  }

  /** Who holds the lock and until when (GetItem, consistent), or undefined when nobody does. */
  async lockHolder(campaignId: string): Promise<LockHolder | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: runStateKey(campaignId), ConsistentRead: true }));
    const it = out.Item;
    if (!it?.owner) return undefined;
    return {
      owner: it.owner,
      leaseUntil: it.leaseUntil,
      ...(it.holder ? { holder: it.holder } : {}),
      ...(it.acquiredAt ? { acquiredAt: it.acquiredAt } : {}),
      ...(it.heartbeatAt ? { heartbeatAt: it.heartbeatAt } : {}),
    };
  }

  /**
   * Ends a run: moves the watermark to `through` (when given) and gives the lock back, in one
   * conditional UpdateItem. Returns false when the lease had run out and another run holds the lock
   * now: the watermark is then theirs to move.
   */
  async finish(campaignId: string, owner: string, through?: string): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: runStateKey(campaignId),
          UpdateExpression: `${through ? 'SET through = :t ' : ''}${LOCK_FIELDS}`,
          ConditionExpression: '#o = :o',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':o': owner, ...(through ? { ':t': through } : {}) },
        }),
      ),
    );
  }

  /** The ingest instant fully aggregated (DynamoDB: GetItem on aggregates). */
  async watermark(campaignId: string): Promise<string | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: runStateKey(campaignId), ConsistentRead: true }));
    return out.Item?.through as string | undefined;
  }

  /** Store counts of the given stores, missing ones left out (DynamoDB: BatchGetItem on aggregates, 100 keys a request). */
  async storeCounts(campaignId: string, storeIds: readonly string[]): Promise<Map<string, StoreCounts>> {
    if (!storeIds.length) return new Map();
    const keys = [...new Set(storeIds)].map((s) => storeCountsKey(campaignId, s));
    const items = (await batchGet(this.db, { [this.table]: keys }))[this.table]!;
    return new Map(items.map((it) => [storeOfCountsKey(campaignId, it), { daily: (it.daily ?? {}) as StoreDaily, bindings: (it.bindings ?? []) as CachedBinding[] }]));
  }

  /** Writes store counts (DynamoDB: BatchWriteItem on aggregates, 25 items a request). */
  async putStoreCounts(campaignId: string, stores: Map<string, StoreCounts>, computedAt: string): Promise<void> {
    await batchWrite(this.db, {
      [this.table]: [...stores].map(([storeId, s]) => ({ ...storeCountsKey(campaignId, storeId), daily: s.daily, bindings: s.bindings, computedAt })),
    });
  }

  /**
   * Every provider's totals (one Query). Totals are stored per campaign, their day counts as one
   * number per season day: the campaign names the partition and its season's days.
   */
  async providerTotals(c: Campaign): Promise<ProviderTotals[]> {
    const items = await queryAll(this.db, { TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': providerTotalsPk(c.campaignId) }, ConsistentRead: true });
    return this.decodeTotals(c, items);
  }

  /** The totals of the given providers (BatchGetItem). */
  async providerTotalsOf(c: Campaign, providerIds: readonly string[]): Promise<ProviderTotals[]> {
    if (!providerIds.length) return [];
    return this.decodeTotals(c, (await batchGet(this.db, { [this.table]: [...new Set(providerIds)].map((p) => providerTotalsKey(c.campaignId, p)) }))[this.table]!);
  }

  private decodeTotals(c: Campaign, items: Record<string, unknown>[]): ProviderTotals[] {
    const { days } = periodWindow(c);
    return items.map(({ pk: _pk, sk, daily, ...rest }) => ({
      ...(rest as Omit<ProviderTotals, 'providerId' | 'byDay'>),
      providerId: providerOfTotalsKey({ sk }),
      byDay: Object.fromEntries((daily as number[]).flatMap((n, i) => (n ? [[days[i]!, n]] : []))),
    }));
  }

  /** Writes provider totals (DynamoDB: BatchWriteItem on aggregates). */
  async putProviderTotals(c: Campaign, totals: ProviderTotals[]): Promise<void> {
    const { days } = periodWindow(c);
    await batchWrite(this.db, {
      [this.table]: totals.map(({ providerId, byDay, ...rest }) => ({ ...providerTotalsKey(c.campaignId, providerId), ...rest, daily: days.map((d) => byDay[d] ?? 0) })),
    });
  }

  /** A view of this store whose writes stay in memory: what a dry run aggregates with. */
  scratch(): AggregateStore {
    return new ScratchAggregates(this.db, this.tables);
  }
}

/**
 * Reads through to the table and keeps every write in memory, so a dry run can bring the counts up
 * to date and decide from them while writing nothing. It takes no lock: it changes nothing to guard.
 */
class ScratchAggregates extends AggregateStore {
  private readonly stores = new Map<string, StoreCounts>();
  private readonly totals = new Map<string, ProviderTotals>();
  private readonly marks = new Map<string, string>();

  override async begin(campaignId: string): Promise<RunStart> {
    return { acquired: true, through: this.marks.get(campaignId) ?? (await super.watermark(campaignId)) };
  }
  override async renewLock(): Promise<boolean> {
    return true;
  }
  override async finish(campaignId: string, _owner: string, through?: string): Promise<boolean> {
    if (through) this.marks.set(campaignId, through);
    return true;
  }
  override async watermark(campaignId: string): Promise<string | undefined> {
    return this.marks.get(campaignId) ?? super.watermark(campaignId);
  }
  override async storeCounts(campaignId: string, storeIds: readonly string[]): Promise<Map<string, StoreCounts>> {
    const out = await super.storeCounts(campaignId, storeIds.filter((s) => !this.stores.has(`${campaignId}#${s}`)));
    for (const s of storeIds) {
      const mine = this.stores.get(`${campaignId}#${s}`);
      if (mine) out.set(s, mine);
    }
    return out;
  }
  override async putStoreCounts(campaignId: string, stores: Map<string, StoreCounts>): Promise<void> {
    for (const [s, counts] of stores) this.stores.set(`${campaignId}#${s}`, counts);
  }
  override async providerTotals(c: Campaign): Promise<ProviderTotals[]> {
    return this.merged(c.campaignId, await super.providerTotals(c));
  }
  override async providerTotalsOf(c: Campaign, providerIds: readonly string[]): Promise<ProviderTotals[]> {
    return this.merged(c.campaignId, await super.providerTotalsOf(c, providerIds), new Set(providerIds));
  }
  private merged(campaignId: string, stored: ProviderTotals[], wanted?: Set<string>): ProviderTotals[] {
    const merged = new Map(stored.map((t) => [t.providerId, t]));
    for (const [key, t] of this.totals) if (key.startsWith(`${campaignId}#`) && (!wanted || wanted.has(t.providerId))) merged.set(t.providerId, t);
    return [...merged.values()];
  }
  override async putProviderTotals(c: Campaign, totals: ProviderTotals[]): Promise<void> {
    for (const t of totals) this.totals.set(`${c.campaignId}#${t.providerId}`, t);
  }
}

/** What each method sends (shared/store/access.ts). */
export const AGGREGATES_ACCESS = declareAccess<AggregateStore>()('aggregates', {
  // The dry run's scratch view reads the watermark instead of taking the lock.
  begin: [{ table: 'aggregates', actions: ['UpdateItem', 'GetItem'] }],
  renewLock: [{ table: 'aggregates', actions: ['UpdateItem'] }],
  lockHolder: [{ table: 'aggregates', actions: ['GetItem'] }],
  finish: [{ table: 'aggregates', actions: ['UpdateItem'] }],
  watermark: [{ table: 'aggregates', actions: ['GetItem'] }],
  storeCounts: [{ table: 'aggregates', actions: ['BatchGetItem'] }],
  putStoreCounts: [{ table: 'aggregates', actions: ['BatchWriteItem'] }],
  providerTotals: [{ table: 'aggregates', actions: ['Query'] }],
  providerTotalsOf: [{ table: 'aggregates', actions: ['BatchGetItem'] }],
  putProviderTotals: [{ table: 'aggregates', actions: ['BatchWriteItem'] }],
  // A view whose writes stay in memory; its reads are the methods above.
  scratch: [],
});
