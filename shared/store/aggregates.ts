import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../config.ts';
import { batchGet, queryAll } from './batch.ts';
import { mapLimit } from '../limit.ts';
import { periodWindow, type Campaign } from '../rules/campaign.ts';
import { declareAccess } from './access.ts';
import { conditionHeld, ifConditionHolds } from './conditional.ts';
import { providerOfTotalsKey, providerTotalsKey, providerTotalsPk, runStateKey, shardFiguresKey, shardFiguresPk, storeCountsKey, storeOfCountsKey } from './layout/aggregates.ts';

/**
 * The aggregates table. Keys: `layout/aggregates.ts`; what the items hold:
 *
 * | item            | one per                 | attributes                                   |
 * |-----------------|-------------------------|----------------------------------------------|
 * | store counts    | campaign × store        | `daily`: providerId → counted orders per season day; `bindings`: the store's binding events as last read; `computedAt`; `fence` |
 * | provider totals | campaign × provider     | `paidOrders`, `daily`, `depositBalanceFen`, `stores`, `computedAt`, `fence` |
 * | run state       | campaign                | `through`: ingest instant fully aggregated; `fence`: the last fencing token issued; while a run holds the lock: `owner`, `holder`, `acquiredAt`, `heartbeatAt`, `leaseUntil` |
 * | shard figures   | campaign × run × shard  | a grouped full recount's shard: `ordersRead`, `storesRecounted`, `storeDaysWritten`; `expiresAt` (TTL) |
 *
 * Counts are recomputed from the orders, never incremented, so writing one twice is harmless. Day
 * counts are arrays with one number per day of the season, so an item has the same size whatever
 * the number of orders: one store item is about 300 bytes per bound provider (one write unit), and
 * the evaluation's reads grow with providers only. The lock and the watermark share one item, so a
 * run takes the lock and learns its watermark in one request, and gives both back in one. The lock's
 * lease is short and renewed by the run's heartbeat (shared/usecases/run-lock.ts).
 *
 * **Fencing.** A lease cannot stop a run that stalled past it (a held request, a paused process) from
 * writing after a newer run took the lock. So taking the lock also increments `fence` on the run-state
 * item (the same conditional UpdateItem) and hands the new value to the run: a fencing token that only
 * grows. Every store-counts and provider-totals item carries the token of the run that wrote it, and
 * each write is a PutItem conditional on `attribute_not_exists(fence) OR fence <= :token`: a write of
 * an older run than the one that wrote the item last is refused, and comes back as a result
 * (`FencedWrite`), never a silent overwrite. The same run writing an item twice (equal token) passes.
 *
 * The cost of that choice: BatchWriteItem takes no condition, so these writes are one PutItem per
 * item (16 in flight), where they were one BatchWriteItem per 25 items. Write units stay the same (a
 * PutItem of an item under 1 KB is one unit either way, and `wruPerOrder` counts the intake only);
 * requests grow: an incremental run that sees 10 new orders in 10 stores writes with 20 requests
 * instead of 2 (`requestsPerIncrementalRun` went from 21 to 39), and a full recount sends one
 * request per store and provider that changed instead of one per 25. TransactWriteItems would carry the conditions 100 items at a time, but at twice the write
 * units, and all-or-nothing over items that need not be.
 */

/**
 * A fencing token: issued by `begin`, one higher each time the lock is taken, whoever takes it. A
 * write under a lower token than the item's was made by a run that had lost the lock.
 */
export type FencingToken = number;

/**
 * What a fenced write came to. `ok: false`: some items were written last by a newer run (a higher
 * token) and were left as they are (`refused`, their store or provider ids); after the first refusal
 * nothing more is sent (`skipped` items), as the run has lost the lock.
 */
export type FencedWrite = { ok: true; written: number } | { ok: false; written: number; refused: string[]; skipped: number };

/** Conditional puts of one fenced write in flight at once. */
const FENCED_IN_FLIGHT = 16;

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
  /** As read: the fencing token of the run that wrote the item (absent on items written before tokens). */
  fence?: FencingToken;
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

/** What one counting shard did: the figures a run's result adds up. */
export interface ShardFigures {
  ordersRead: number;
  storesRecounted: number;
  storeDaysWritten: number;
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

/** What taking the lock found: the watermark and this run's fencing token, or that another run holds the lock. */
export type RunStart = { acquired: true; through: string | undefined; fence: FencingToken; doneFence: FencingToken } | { acquired: false };

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
   * Takes the run lock if it is free or its lease ran out, and returns the watermark with it and a new
   * fencing token (the item's `fence`, incremented by the same request): one conditional UpdateItem.
   * `holder` says who takes it, for the run that finds it busy.
   */
  async begin(campaignId: string, owner: string, now: Date, leaseMs: number, holder?: string): Promise<RunStart> {
    const leaseUntil = new Date(now.getTime() + leaseMs).toISOString();
    const out = await ifConditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: runStateKey(campaignId),
          UpdateExpression: `SET #o = :o, leaseUntil = :l, acquiredAt = :now, heartbeatAt = :now, fence = if_not_exists(fence, :zero) + :one${holder ? ', holder = :h' : ''}${holder ? '' : ' REMOVE holder'}`,
          ConditionExpression: 'attribute_not_exists(#o) OR leaseUntil < :now',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':o': owner, ':l': leaseUntil, ':now': now.toISOString(), ':zero': 0, ':one': 1, ...(holder ? { ':h': holder } : {}) },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return out
      ? { acquired: true, through: out.Attributes?.through as string | undefined, fence: out.Attributes!.fence as number, doneFence: (out.Attributes?.doneFence as number | undefined) ?? 0 }
      : { acquired: false };
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
  async finish(campaignId: string, owner: string, through?: string, doneFence?: FencingToken): Promise<boolean> {
    // `doneFence`: the token of the last run that got through (its store counts are summed into the totals).
    const done = through !== undefined && doneFence !== undefined;
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: runStateKey(campaignId),
          UpdateExpression: `${through ? `SET through = :t${done ? ', doneFence = :d' : ''} ` : ''}${LOCK_FIELDS}`,
          ConditionExpression: '#o = :o',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':o': owner, ...(through ? { ':t': through } : {}), ...(done ? { ':d': doneFence } : {}) },
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
    return new Map(
      items.map((it) => [
        storeOfCountsKey(campaignId, it),
        { daily: (it.daily ?? {}) as StoreDaily, bindings: (it.bindings ?? []) as CachedBinding[], ...(typeof it.fence === 'number' ? { fence: it.fence } : {}) },
      ]),
    );
  }

  /**
   * Writes store counts under the run's fencing token (DynamoDB: one conditional PutItem per store):
   * a store whose item a newer run wrote is refused (see the note at the top).
   */
  async putStoreCounts(campaignId: string, stores: Map<string, StoreCounts>, computedAt: string, fence: FencingToken): Promise<FencedWrite> {
    return this.putFenced(
      [...stores].map(([storeId, s]) => ({ id: storeId, item: { ...storeCountsKey(campaignId, storeId), daily: s.daily, bindings: s.bindings, computedAt } })),
      fence,
    );
  }

  /**
   * One conditional PutItem per item, stamped with `fence`. After the first refusal nothing more is
   * sent; a request that fails otherwise fails the write, once the others in flight have settled.
   */
  private async putFenced(items: { id: string; item: Record<string, unknown> }[], fence: FencingToken): Promise<FencedWrite> {
    const refused: string[] = [];
    let written = 0;
    let skipped = 0;
    await mapLimit(items, FENCED_IN_FLIGHT, async ({ id, item }) => {
      if (refused.length) return void skipped++;
      const put = new PutCommand({
        TableName: this.table,
        Item: { ...item, fence },
        ConditionExpression: 'attribute_not_exists(fence) OR fence <= :fence',
        ExpressionAttributeValues: { ':fence': fence },
      });
      if (await conditionHeld(this.db.send(put))) written++;
      else refused.push(id);
    });
    return refused.length ? { ok: false, written, refused: refused.sort(), skipped } : { ok: true, written };
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
    return items.map(({ pk: _pk, sk, daily, fence: _fence, ...rest }) => ({
      ...(rest as Omit<ProviderTotals, 'providerId' | 'byDay'>),
      providerId: providerOfTotalsKey({ sk }),
      byDay: Object.fromEntries((daily as number[]).flatMap((n, i) => (n ? [[days[i]!, n]] : []))),
    }));
  }

  /**
   * Writes provider totals under the run's fencing token (DynamoDB: one conditional PutItem per
   * provider): a provider whose totals a newer run wrote is refused (see the note at the top).
   */
  async putProviderTotals(c: Campaign, totals: ProviderTotals[], fence: FencingToken): Promise<FencedWrite> {
    const { days } = periodWindow(c);
    return this.putFenced(
      totals.map(({ providerId, byDay, ...rest }) => ({ id: providerId, item: { ...providerTotalsKey(c.campaignId, providerId), ...rest, daily: days.map((d) => byDay[d] ?? 0) } })),
      fence,
    );
  }

  /**
   * Records a grouped shard's figures under its run's token (PutItem, only where none is: a retried
   * shard keeps the first complete record, so nothing is counted twice). False: already recorded.
   * The token is in the key, so a shard that outlived its run adds to that run's figures, never a
   * newer run's; the items expire `keepDays` later (TTL).
   */
  async putShardFigures(campaignId: string, fence: FencingToken, segment: number, figures: ShardFigures, now: Date, keepDays = 7): Promise<boolean> {
    const { ordersRead, storesRecounted, storeDaysWritten } = figures;
    const expiresAt = Math.floor(now.getTime() / 1000) + keepDays * 86_400;
    const item = { ...shardFiguresKey(campaignId, fence, segment), ordersRead, storesRecounted, storeDaysWritten, expiresAt };
    return conditionHeld(this.db.send(new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' })));
  }

  /** Every shard figure a run recorded, by segment (Query of its partition, consistent). */
  async shardFigures(campaignId: string, fence: FencingToken): Promise<(ShardFigures & { segment: number })[]> {
    const items = await queryAll(this.db, { TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': shardFiguresPk(campaignId, fence) }, ConsistentRead: true });
    return items.map((it) => ({ segment: Number(it.sk), ordersRead: Number(it.ordersRead), storesRecounted: Number(it.storesRecounted), storeDaysWritten: Number(it.storeDaysWritten) }));
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
  private readonly figures = new Map<string, ShardFigures & { segment: number }>();

  override async begin(campaignId: string): Promise<RunStart> {
    // No token: nothing it writes leaves this view, so nothing of it needs fencing.
    return { acquired: true, through: this.marks.get(campaignId) ?? (await super.watermark(campaignId)), fence: 0, doneFence: Number.MAX_SAFE_INTEGER };
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
    const out = await super.storeCounts(
      campaignId,
      storeIds.filter((s) => !this.stores.has(`${campaignId}#${s}`)),
    );
    for (const s of storeIds) {
      const mine = this.stores.get(`${campaignId}#${s}`);
      if (mine) out.set(s, mine);
    }
    return out;
  }
  override async putStoreCounts(campaignId: string, stores: Map<string, StoreCounts>): Promise<FencedWrite> {
    for (const [s, { fence: _fence, ...counts }] of stores) this.stores.set(`${campaignId}#${s}`, counts);
    return { ok: true, written: stores.size };
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
  override async putProviderTotals(c: Campaign, totals: ProviderTotals[]): Promise<FencedWrite> {
    for (const t of totals) this.totals.set(`${c.campaignId}#${t.providerId}`, t);
    return { ok: true, written: totals.length };
  }
  override async putShardFigures(campaignId: string, fence: FencingToken, segment: number, figures: ShardFigures): Promise<boolean> {
    const key = `${campaignId}#${fence}#${segment}`;
    if (this.figures.has(key)) return false;
    this.figures.set(key, { segment, ...figures });
    return true;
  }
  override async shardFigures(campaignId: string, fence: FencingToken): Promise<(ShardFigures & { segment: number })[]> {
    return [...this.figures]
      .filter(([k]) => k.startsWith(`${campaignId}#${fence}#`))
      .map(([, f]) => f)
      .sort((a, b) => a.segment - b.segment);
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
  putStoreCounts: [{ table: 'aggregates', actions: ['PutItem'] }],
  providerTotals: [{ table: 'aggregates', actions: ['Query'] }],
  providerTotalsOf: [{ table: 'aggregates', actions: ['BatchGetItem'] }],
  putProviderTotals: [{ table: 'aggregates', actions: ['PutItem'] }],
  putShardFigures: [{ table: 'aggregates', actions: ['PutItem'] }],
  shardFigures: [{ table: 'aggregates', actions: ['Query'] }],
  // A view whose writes stay in memory; its reads are the methods above.
  scratch: [],
});
