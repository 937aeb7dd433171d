import type { PlatformEvent } from '../../events.ts';

/**
 * The `events` table's key layout, in one place (orders live in their own table: `orders.ts`):
 *
 * | entity   | pk                | sk                                    | gpk / gsk (byProvider)                       |
 * |----------|-------------------|---------------------------------------|----------------------------------------------|
 * | provider | `P#<providerId>`  | `PROFILE` (+ listKey `provider`)      | –                                            |
 * | binding  | `S#<storeId>`     | `B#<providerId>#<at>#<started/ended>` | `P#<providerId>` / `B#<storeId>#<at>#<kind>` |
 * | deposit  | `PAY#<paymentId>` | `PAYMENT`                             | `P#<providerId>` / `D#<at>#<paymentId>`      |
 *
 * The `providers` index is sparse: only profiles carry `listKey`. Readers never parse these keys back:
 * every item carries its event's own fields. They select by prefix (`BINDING_PREFIX`, `DEPOSIT_PREFIX`).
 */

type EventOnEvents = Exclude<PlatformEvent, { type: 'order.paid' }>;
type BindingKind = 'started' | 'ended';

/** The `providers` index's one partition: every profile. */
export const PROVIDER_LIST_KEY = 'provider';
/** Binding items: the prefix of their sk under a store and of their gsk under a provider. */
export const BINDING_PREFIX = 'B#';
/** Deposit items: the prefix of their gsk under a provider. */
export const DEPOSIT_PREFIX = 'D#';

export const providerKey = (providerId: string) => ({ pk: `P#${providerId}`, sk: 'PROFILE' });
/** The partition of one store's bindings. */
export const storePk = (storeId: string) => `S#${storeId}`;
/** The `byProvider` partition of one provider's bindings and deposits. */
export const providerGpk = (providerId: string) => `P#${providerId}`;

const bindingKind = (type: 'binding.started' | 'binding.ended'): BindingKind => (type === 'binding.started' ? 'started' : 'ended');

/** The table key of an event stored in `events`. */
export function eventItemKey(e: EventOnEvents): { pk: string; sk: string } {
  switch (e.type) {
    case 'provider.upserted':
      return providerKey(e.providerId);
    case 'binding.started':
    case 'binding.ended':
      return { pk: storePk(e.storeId), sk: `${BINDING_PREFIX}${e.providerId}#${e.at}#${bindingKind(e.type)}` };
    case 'deposit.paid':
    case 'deposit.deducted':
      return { pk: `PAY#${e.paymentId}`, sk: 'PAYMENT' };
  }
}

/** The index keys an event's item carries beside its table key: `listKey`, or `gpk` and `gsk`. */
export function eventIndexKeys(e: EventOnEvents): Record<string, string> {
  switch (e.type) {
    case 'provider.upserted':
      return { listKey: PROVIDER_LIST_KEY };
    case 'binding.started':
    case 'binding.ended':
      return { gpk: providerGpk(e.providerId), gsk: `${BINDING_PREFIX}${e.storeId}#${e.at}#${bindingKind(e.type)}` };
    case 'deposit.paid':
    case 'deposit.deducted':
      return { gpk: providerGpk(e.providerId), gsk: `${DEPOSIT_PREFIX}${e.type === 'deposit.paid' ? e.paidAt : e.at}#${e.paymentId}` };
  }
}

/** What a `byProvider` entry is, from its gsk. */
export function providerEntryKind(gsk: string): 'binding' | 'deposit' | undefined {
  if (gsk.startsWith(BINDING_PREFIX)) return 'binding';
  if (gsk.startsWith(DEPOSIT_PREFIX)) return 'deposit';
  return undefined;
}
