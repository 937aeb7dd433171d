import { contentHash, entityKey, type BindingEvent, type DepositEvent, type PlatformEvent } from '../events.ts';
import { eventIndexKeys, eventItemKey } from './layout/events.ts';
import { storePaid } from './layout/orders.ts';

/**
 * A platform event as a stored item, and back. Orders go to the `orders` table, everything else to
 * `events`; the keys come from each table's layout (`layout/orders.ts`, `layout/events.ts`), and every
 * other attribute is a field of the event itself, plus the store's bookkeeping: `key` (the event
 * identity), `h` (content hash), `ingestedAt`, `cr` (the change record that announced it, see
 * `changes.ts`) and, on profiles, `seen` (every version's hash) and `versions` (every version's
 * certification fields, in arrival order).
 */

/** The certification fields of one version of a provider's profile, as the profile item keeps them in `versions`. */
export interface ProfileVersionFields {
  certifiedAt: string;
  regularizedAt?: string;
}

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
const INTERNAL = new Set(['pk', 'sk', 'gpk', 'gsk', 'listKey', 'storePaid', 'key', 'h', 'ingestedAt', 'cr', 'ib', 'ik', 'seen', 'versions']);

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

/** A deposit as stored: the fields of its event (`storedFields`), the paid or deducted instant as `at`. */
export function toDeposit(it: Record<string, unknown>): StoredDeposit {
  const e = it as unknown as DepositEvent;
  const { providerId, paymentId, amountFen } = e;
  return e.type === 'deposit.paid' ? { providerId, paymentId, kind: 'paid', amountFen, at: e.paidAt } : { providerId, paymentId, kind: 'deducted', amountFen, at: e.at };
}

/** A binding as stored: the fields of its event. */
export function toBinding(it: Record<string, unknown>): StoredBinding {
  const { type, providerId, storeId, at } = it as unknown as BindingEvent;
  return { providerId, storeId, kind: type === 'binding.started' ? 'started' : 'ended', at };
}
