import { contentHash, entityKey, type PlatformEvent } from '../events.ts';
import { eventIndexKeys, eventItemKey } from './layout/events.ts';
import { storePaid } from './layout/orders.ts';

/**
 * A platform event as a stored item, and back. Orders go to the `orders` table, everything else to
 * `events`; the keys come from each table's layout (`layout/orders.ts`, `layout/events.ts`), and every
 * other attribute is a field of the event itself, plus the store's bookkeeping: `key` (the event
 * identity), `h` (content hash), `ingestedAt`, `cr` (the change record that announced it, see
 * `changes.ts`) and, on profiles, `seen` (every version's hash).
 */

/** A binding event as the stores read it back. */
export interface StoredBinding {
  providerId: string;
  storeId: string;
  kind: 'started' | 'ended';
  at: string;
}

/** A deposit event as the stores read it back. */
export interface StoredDeposit {
  providerId: string;
  paymentId: string;
  kind: 'paid' | 'deducted';
  amountFen: number;
  at: string;
}

/**
 * Attributes the store adds; everything else on an item is a field of the event itself. (`ib`/`ik`
 * were the keys of the ingest-time index that the change log replaced: items stored before carry them.)
 */
const INTERNAL = new Set(['pk', 'sk', 'gpk', 'gsk', 'listKey', 'storePaid', 'key', 'h', 'ingestedAt', 'cr', 'ib', 'ik', 'seen']);

/** The item for an event, without the store's bookkeeping attributes. */
export function toStoredItem(e: PlatformEvent): Record<string, unknown> {
  if (e.type === 'order.paid') return { ...e, storePaid: storePaid(e.paidAt, e.orderId) };
  return { ...e, ...eventItemKey(e), ...eventIndexKeys(e) };
}

/** The event fields of a stored item (the inverse of `toStoredItem`). */
export function storedFields(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([k]) => !INTERNAL.has(k)));
}

/**
 * The whole item the intake stores for an accepted event: the event's own item, its identity, its
 * content hash and when it was ingested. The intake and the bench's baseline both build items here.
 */
export function storedItem(e: PlatformEvent, ingestedAt: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...toStoredItem(e), ...extra, key: entityKey(e), h: contentHash(e), ingestedAt };
}

/** What a stored item of the `events` table holds, decoded; undefined for a provider profile. */
export function storedEvent(it: Record<string, unknown>): { binding: StoredBinding } | { deposit: StoredDeposit } | undefined {
  if (it.type === 'binding.started' || it.type === 'binding.ended') return { binding: toBinding(it) };
  if (it.type === 'deposit.paid' || it.type === 'deposit.deducted') return { deposit: toDeposit(it) };
  return undefined;
}

export function toDeposit(it: Record<string, unknown>): StoredDeposit {
  return {
    providerId: it.providerId as string,
    paymentId: it.paymentId as string,
    kind: it.type === 'deposit.paid' ? 'paid' : 'deducted',
    amountFen: it.amountFen as number,
    at: (it.type === 'deposit.paid' ? it.paidAt : it.at) as string,
  };
}

export function toBinding(it: Record<string, unknown>): StoredBinding {
  return {
    providerId: it.providerId as string,
    storeId: it.storeId as string,
    kind: it.type === 'binding.started' ? 'started' : 'ended',
    at: it.at as string,
  };
}
