import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../config.ts';
import { contentHash, entityKey, type PlatformEvent } from '../events.ts';
import { batchGet, batchWrite } from './batch.ts';
import { changeRecord } from './changes.ts';
import { storedFields, storedItem, type ProfileVersionFields } from './items.ts';
import { recordKey, recordRef } from './layout/changes.ts';
import { eventItemKey } from './layout/events.ts';
import { orderKey } from './layout/orders.ts';
import { rejectedItem, type Origin, type WholeBody } from './layout/rejected.ts';
import { declareAccess } from './access.ts';

/**
 * Exactly-once storage of platform events, designed for dynalite as much as for DynamoDB: no
 * transactions, one BatchGetItem then one BatchWriteItem per batch, one item written per accepted
 * event plus one change record per batch (`changes.ts`) that tells the aggregation what the batch
 * touched. Exactness rests on two things:
 *  - every event has an identity (`entityKey`): the same identity with the same content is a
 *    duplicate (no write), with different content a conflict (rejected, the first stays);
 *  - two batches never hold the same identity at the same time: the intake queue is FIFO with the
 *    identity's message group (`messageGroupOf`), and `renewal import` shards the same way. So the
 *    read-then-write of one batch cannot race another batch on the same key.
 */

export type IngestEntry =
  { kind: 'event'; event: PlatformEvent; raw: string; origin: Origin } | { kind: 'invalid'; field: string; reason: string; raw: string; event?: unknown; origin: Origin; whole?: WholeBody };

export type IngestOutcome = { status: 'accepted' } | { status: 'duplicate' } | { status: 'rejected'; field: string; reason: string };

export class IngestStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, 'orders' | 'events' | 'changes' | 'rejected'>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Stores a batch; outcomes are in entry order. Throws only when DynamoDB itself fails.
   * DynamoDB: BatchGetItem (consistent) on orders and events; GetItem or BatchGetItem on changes
   * when events are met again; BatchWriteItem on orders, events, changes and rejected.
   */
  async ingest(entries: IngestEntry[]): Promise<IngestOutcome[]> {
    const ingestedAt = this.now().toISOString();
    const keysByTable: Record<string, Record<string, unknown>[]> = { [this.tables.orders]: [], [this.tables.events]: [] };
    const seenKeys = new Set<string>();
    for (const e of entries) {
      if (e.kind !== 'event' || seenKeys.has(entityKey(e.event))) continue;
      seenKeys.add(entityKey(e.event));
      keysByTable[this.tableOf(e.event)]!.push(this.keyOf(e.event));
    }
    const found = await batchGet(this.db, keysByTable);
    // Current stored item per identity, updated as this batch accepts events, so a second event
    // with the same identity later in the batch is judged against the first.
    const current = new Map<string, Record<string, unknown>>();
    for (const items of Object.values(found)) for (const item of items) current.set(item.key as string, item);

    const writes = new Map<string, { table: string; item: Record<string, unknown> }>();
    // What the change record announces: every event stored now. Stored items met again (duplicates,
    // conflicts) are checked below: an earlier delivery may have died before writing their record.
    const announced: PlatformEvent[] = [];
    const metAgain: Record<string, unknown>[] = [];
    // Keyed by rejectId: the same bad body twice in one batch is one record (BatchWriteItem refuses
    // a request that names one key twice).
    const rejections = new Map<string, Record<string, unknown>>();
    const reject = (item: Record<string, unknown>) => rejections.set(item.rejectId as string, item);
    const outcomes = entries.map((entry): IngestOutcome => {
      if (entry.kind === 'invalid') {
        reject(rejectedItem(entry.raw, entry.event, entry.field, entry.reason, entry.origin, ingestedAt, entry.whole));
        return { status: 'rejected', field: entry.field, reason: entry.reason };
      }
      const { event } = entry;
      const key = entityKey(event);
      const hash = contentHash(event);
      const stored = current.get(key);
      if (event.type === 'provider.upserted') {
        // The latest profile wins (RULES.md), but a redelivered older profile must not undo a newer
        // one: every version seen is remembered, and a seen one is a duplicate.
        const seen = new Set<string>((stored?.seen as string[] | undefined) ?? []);
        if (stored) metAgain.push(stored);
        if (seen.has(hash)) return { status: 'duplicate' };
        announced.push(event);
        seen.add(hash);
        const item = storedItem(event, ingestedAt, { seen: [...seen].sort(), versions: profileVersions(stored, event) });
        current.set(key, item);
        writes.set(key, { table: this.tables.events, item });
        return { status: 'accepted' };
      }
      if (stored) {
        metAgain.push(stored);
        if (stored.h === hash) return { status: 'duplicate' };
        const fields = differingFields(storedFields(stored), event);
        const idField = event.type === 'order.paid' ? 'orderId' : 'paymentId';
        const reason = `conflict: ${idField} ${(event as Record<string, unknown>)[idField]} is already stored with a different ${fields.join(', ')}; the first version stays`;
        reject(rejectedItem(entry.raw, event, fields[0] ?? idField, reason, entry.origin, ingestedAt));
        return { status: 'rejected', field: fields[0] ?? idField, reason };
      }
      const item = storedItem(event, ingestedAt);
      current.set(key, item);
      writes.set(key, { table: this.tableOf(event), item });
      announced.push(event);
      return { status: 'accepted' };
    });

    announced.push(...(await this.unannounced(metAgain)));

    const itemsByTable: Record<string, Record<string, unknown>[]> = { [this.tables.rejected]: [...rejections.values()] };
    // Stamped as late as possible: the aggregation reads records by this instant, and one stamped
    // long before it becomes visible could fall behind a run's window (see AggregateOptions.overlapMs).
    const record = changeRecord(announced, this.now());
    if (record) itemsByTable[this.tables.changes] = [record.item];
    for (const { table, item } of writes.values()) (itemsByTable[table] ??= []).push({ ...item, cr: record!.ref });
    await batchWrite(this.db, itemsByTable);
    return outcomes;
  }

  /**
   * The stored events, among those met again, whose change record is missing: a delivery that
   * stored them died before its record was written (BatchWriteItem is not atomic). One consistent
   * GetItem (one record) or BatchGetItem on the changes table, only for batches that meet stored
   * events again.
   */
  private async unannounced(stored: Record<string, unknown>[]): Promise<PlatformEvent[]> {
    const refs = new Map<string, Record<string, unknown>[]>();
    for (const item of stored) if (typeof item.cr === 'string') (refs.get(item.cr) ?? refs.set(item.cr, []).get(item.cr)!).push(item);
    if (!refs.size) return [];
    // A redelivered batch usually meets the events of one earlier batch: one record, one GetItem.
    const keys = [...refs.keys()].map(recordKey);
    const found =
      keys.length === 1
        ? [(await this.db.send(new GetCommand({ TableName: this.tables.changes, Key: keys[0], ConsistentRead: true }))).Item].filter((i) => i !== undefined)
        : (await batchGet(this.db, { [this.tables.changes]: keys }))[this.tables.changes]!;
    for (const r of found) refs.delete(recordRef(r));
    return [...refs.values()].flat().map((item) => storedFields(item) as unknown as PlatformEvent);
  }

  private tableOf(e: PlatformEvent): string {
    return e.type === 'order.paid' ? this.tables.orders : this.tables.events;
  }

  private keyOf(e: PlatformEvent): Record<string, unknown> {
    return e.type === 'order.paid' ? orderKey(e.orderId) : eventItemKey(e);
  }
}

/**
 * The certification fields of every profile version seen, in the order they arrived, each pair once
 * (a pair seen again moves to the end: it is the latest version carrying it). Later seasons read them
 * (RULES.md "certification across seasons": any `certifiedAt` of any version starts a certification).
 * A profile stored before versions were kept starts the list with its own fields.
 */
function profileVersions(stored: Record<string, unknown> | undefined, event: Extract<PlatformEvent, { type: 'provider.upserted' }>): ProfileVersionFields[] {
  const before: ProfileVersionFields[] = stored ? ((stored.versions as ProfileVersionFields[] | undefined) ?? [versionFields(stored as unknown as ProfileVersionFields)]) : [];
  const next = versionFields(event);
  const same = (v: ProfileVersionFields) => v.certifiedAt === next.certifiedAt && v.regularizedAt === next.regularizedAt;
  return [...before.filter((v) => !same(v)), next];
}

function versionFields(p: ProfileVersionFields): ProfileVersionFields {
  return { certifiedAt: p.certifiedAt, ...(p.regularizedAt !== undefined ? { regularizedAt: p.regularizedAt } : {}) };
}

function differingFields(stored: Record<string, unknown>, incoming: PlatformEvent): string[] {
  const inc = incoming as Record<string, unknown>;
  const names = new Set([...Object.keys(stored), ...Object.keys(inc)]);
  return [...names].filter((k) => JSON.stringify(stored[k]) !== JSON.stringify(inc[k])).sort();
}

/** What each method sends (shared/store/access.ts). */
export const INGEST_ACCESS = declareAccess<IngestStore>()('ingest', {
  ingest: [
    { table: 'orders', actions: ['BatchGetItem', 'BatchWriteItem'] },
    { table: 'events', actions: ['BatchGetItem', 'BatchWriteItem'] },
    { table: 'rejected', actions: ['BatchWriteItem'] },
    // A redelivered batch looks up the change records of what it finds stored (one, or several).
    { table: 'changes', actions: ['GetItem', 'BatchGetItem', 'BatchWriteItem'] },
  ],
});
