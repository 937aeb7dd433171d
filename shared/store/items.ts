import { contentHash, entityKey, type PlatformEvent } from '../events.ts';

/**
 * The key layout of every stored event, in one place. Orders live in the `orders` table keyed by
 * `orderId`; everything else lives in `events`:
 *
 * | entity   | pk                | sk                                  | gpk / gsk (byProvider)         |
 * |----------|-------------------|-------------------------------------|--------------------------------|
 * | provider | `P#<providerId>`  | `PROFILE` (+ listKey `provider`)    | –                              |
 * | binding  | `S#<storeId>`     | `B#<providerId>#<at>#<started/ended>` | `P#<providerId>` / `B#<storeId>#<at>#<kind>` |
 * | deposit  | `PAY#<paymentId>` | `PAYMENT`                           | `P#<providerId>` / `D#<at>#<paymentId>` |
 *
 * Every item also carries `key` (the event identity), `h` (content hash), `ingestedAt` and `cr`, the
 * change record that announced it. What changed since the aggregation's watermark is told by the
 * change log (`changes.ts`), not by an index on these tables.
 */

export const PROVIDER_LIST_KEY = 'provider';

/**
 * Attributes the store adds; everything else on an item is a field of the event itself. (`ib`/`ik`
 * were the keys of the ingest-time index that the change log replaced: items stored before carry them.)
 */
const INTERNAL = new Set(['pk', 'sk', 'gpk', 'gsk', 'listKey', 'storePaid', 'key', 'h', 'ingestedAt', 'cr', 'ib', 'ik', 'seen']);

export const orderKey = (orderId: string) => ({ orderId });
export const providerKey = (providerId: string) => ({ pk: `P#${providerId}`, sk: 'PROFILE' });
export const storePk = (storeId: string) => `S#${storeId}`;
export const providerGpk = (providerId: string) => `P#${providerId}`;

export function eventItemKey(e: Exclude<PlatformEvent, { type: 'order.paid' }>): { pk: string; sk: string } {
  switch (e.type) {
    case 'provider.upserted':
      return providerKey(e.providerId);
    case 'binding.started':
    case 'binding.ended':
      return { pk: storePk(e.storeId), sk: `B#${e.providerId}#${e.at}#${bindingKind(e.type)}` };
    case 'deposit.paid':
    case 'deposit.deducted':
      return { pk: `PAY#${e.paymentId}`, sk: 'PAYMENT' };
  }
}

const bindingKind = (type: 'binding.started' | 'binding.ended') => (type === 'binding.started' ? 'started' : 'ended');

/** The item for an event, without the store's bookkeeping attributes. */
export function toStoredItem(e: PlatformEvent): Record<string, unknown> {
  switch (e.type) {
    case 'order.paid':
      return { ...e, storePaid: `${e.paidAt}#${e.orderId}` };
    case 'provider.upserted':
      return { ...e, ...providerKey(e.providerId), listKey: PROVIDER_LIST_KEY };
    case 'binding.started':
    case 'binding.ended':
      return { ...e, ...eventItemKey(e), gpk: providerGpk(e.providerId), gsk: `B#${e.storeId}#${e.at}#${bindingKind(e.type)}` };
    case 'deposit.paid':
    case 'deposit.deducted':
      return { ...e, ...eventItemKey(e), gpk: providerGpk(e.providerId), gsk: `D#${e.type === 'deposit.paid' ? e.paidAt : e.at}#${e.paymentId}` };
  }
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
