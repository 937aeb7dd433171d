import { createHash } from 'node:crypto';
import type { PlatformEvent } from '../events.ts';

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
 * Every item also carries `key` (the event identity), `h` (content hash), `ingestedAt` and the
 * ingest-index keys `ib`/`ik`.
 */

export const INGEST_SHARDS = 8;
export const PROVIDER_LIST_KEY = 'provider';

/** Attributes the store adds; everything else on an item is a field of the event itself. */
const INTERNAL = new Set(['pk', 'sk', 'gpk', 'gsk', 'listKey', 'storePaid', 'key', 'h', 'ingestedAt', 'ib', 'ik', 'seen']);

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
 * Ingest-time index keys: an hour bucket spread over a few shards, so a busy hour does not load
 * one index partition. The aggregation reads every shard of every hour since its watermark.
 */
export function ingestIndexKeys(ingestedAt: string, key: string): { ib: string; ik: string } {
  const shard = parseInt(createHash('sha1').update(key).digest('hex').slice(0, 4), 16) % INGEST_SHARDS;
  return { ib: `${ingestedAt.slice(0, 13)}#${shard}`, ik: `${ingestedAt}#${key}` };
}
