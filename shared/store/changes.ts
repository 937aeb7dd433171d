import { createHash, randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../config.ts';
import type { PlatformEvent } from '../events.ts';
import { queryAll } from './batch.ts';
import { mapLimit } from '../limit.ts';
import { changeKey, changePk, recordRef, writtenRange } from './layout/changes.ts';

/**
 * The change log: what the aggregation reads to learn what changed since its watermark. One record
 * per intake batch, written in the same BatchWriteItem as the batch's items, instead of an
 * ingest-time index entry per event (an index entry costs a write unit per event; a record costs
 * one per batch of up to ten).
 *
 * | item          | key (`layout/changes.ts`)        | attributes                                  |
 * |---------------|----------------------------------|---------------------------------------------|
 * | change record | by shard, then written-at instant | `o`: storeId → paid instants; `b`: stores whose bindings changed; `d`: providers whose deposits changed; `p`: providers whose profile changed; `expiresAt` (TTL) |
 *
 * Crash safety: BatchWriteItem is not atomic and a Lambda can die between its requests, so a record
 * can be lost while some of the batch's items are stored. Every stored item names the record that
 * announces it (`cr`, see `recordRef`). SQS redelivers the batch, the stored items come back as
 * duplicates, and the intake reads the records they name: the duplicates whose record is missing are
 * announced again by the redelivery's record. Nothing stored stays unannounced, and a plain
 * redelivery (records all present) announces nothing and costs the aggregation nothing.
 *
 * A few shards spread the writes of a busy queue over partitions (a partition takes 1,000 write
 * units a second); the aggregation reads every shard with one Query each.
 */

export const CHANGE_SHARDS = 4;
/** How long records are kept: far longer than the 15 minutes between aggregation runs. */
export const CHANGE_RETENTION_DAYS = 14;

/** What arrived in an ingest window: the inputs of an incremental aggregation run. */
export interface Changes {
  /** Orders that arrived (or arrived again): their store and paid instant. */
  orders: { storeId: string; paidAt: string }[];
  /** Stores whose bindings changed. */
  bindingStores: Set<string>;
  /** Providers whose deposits changed. */
  depositProviders: Set<string>;
  /** Providers whose profile changed. */
  profileProviders: Set<string>;
}

export const noChanges = (): Changes => ({ orders: [], bindingStores: new Set(), depositProviders: new Set(), profileProviders: new Set() });

/**
 * The change record of one intake batch: the events it stores, and the stored ones whose record is
 * missing (see the crash-safety note above), with the reference each item it writes must carry.
 * Undefined when there is nothing to announce.
 */
export function changeRecord(events: readonly PlatformEvent[], writtenAt: Date, recordId: string = randomUUID()): { item: Record<string, unknown>; ref: string } | undefined {
  const o: Record<string, string[]> = {};
  const b = new Set<string>();
  const d = new Set<string>();
  const p = new Set<string>();
  for (const e of events) {
    switch (e.type) {
      case 'order.paid':
        (o[e.storeId] ??= []).includes(e.paidAt) || o[e.storeId]!.push(e.paidAt);
        break;
      case 'binding.started':
      case 'binding.ended':
        b.add(e.storeId);
        break;
      case 'deposit.paid':
      case 'deposit.deducted':
        d.add(e.providerId);
        break;
      case 'provider.upserted':
        p.add(e.providerId);
        break;
    }
  }
  if (!events.length) return undefined;
  const at = writtenAt.toISOString();
  const item = {
    ...changeKey(shardOf(recordId), at, recordId),
    ...(Object.keys(o).length ? { o } : {}),
    ...(b.size ? { b: [...b].sort() } : {}),
    ...(d.size ? { d: [...d].sort() } : {}),
    ...(p.size ? { p: [...p].sort() } : {}),
    expiresAt: Math.floor(writtenAt.getTime() / 1000) + CHANGE_RETENTION_DAYS * 86_400,
  };
  return { item, ref: recordRef(item) };
}

const shardOf = (id: string) => parseInt(createHash('sha1').update(id).digest('hex').slice(0, 4), 16) % CHANGE_SHARDS;

export class ChangeLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, 'changes'>,
  ) {}

  /**
   * Everything recorded with `fromIso <= writtenAt < toIso`: one strongly consistent Query per shard
   * (DynamoDB: Query on the changes table).
   */
  async between(fromIso: string, toIso: string): Promise<Changes> {
    const changes = noChanges();
    await mapLimit(
      Array.from({ length: CHANGE_SHARDS }, (_, i) => i),
      CHANGE_SHARDS,
      async (shard) => {
        const range = writtenRange(fromIso, toIso);
        const items = await queryAll(this.db, {
          TableName: this.tables.changes,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': changePk(shard), ':from': range.from, ':to': range.to },
          ConsistentRead: true,
        });
        for (const it of items) {
          if (!range.within(it.sk as string)) continue; // BETWEEN is inclusive; the window is half-open
          for (const [storeId, paid] of Object.entries((it.o ?? {}) as Record<string, string[]>)) for (const paidAt of paid) changes.orders.push({ storeId, paidAt });
          for (const s of (it.b ?? []) as string[]) changes.bindingStores.add(s);
          for (const pr of (it.d ?? []) as string[]) changes.depositProviders.add(pr);
          for (const pr of (it.p ?? []) as string[]) changes.profileProviders.add(pr);
        }
      },
    );
    return changes;
  }
}
