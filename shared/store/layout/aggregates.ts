/**
 * The `aggregates` table's key layout, in one place (what the items hold is `../aggregates.ts`):
 *
 * | item            | pk                        | sk             |
 * |-----------------|---------------------------|----------------|
 * | store counts    | `SC#<campaign>#<storeId>` | `COUNTS`       |
 * | provider totals | `PC#<campaign>`           | `<providerId>` |
 * | run state       | `RUN#<campaign>`          | `STATE`        |
 *
 * A store-counts key is read back by cutting the campaign's prefix off, so the store id may hold
 * anything, `#` and `:` included.
 */

/** The one item holding a campaign's aggregation watermark, run lock and fencing counter. */
export const runStateKey = (campaignId: string) => ({ pk: `RUN#${campaignId}`, sk: 'STATE' });

const storeCountsPrefix = (campaignId: string) => `SC#${campaignId}#`;

export const storeCountsKey = (campaignId: string, storeId: string) => ({ pk: `${storeCountsPrefix(campaignId)}${storeId}`, sk: 'COUNTS' });

/** The store whose counts a key holds (the inverse of `storeCountsKey`). */
export function storeOfCountsKey(campaignId: string, key: Record<string, unknown>): string {
  const prefix = storeCountsPrefix(campaignId);
  if (typeof key.pk !== 'string' || !key.pk.startsWith(prefix)) throw new RangeError(`${JSON.stringify(key.pk)} is not a store-counts key of ${campaignId}`);
  return key.pk.slice(prefix.length);
}

/** The partition of a campaign's provider totals: one item per provider. */
export const providerTotalsPk = (campaignId: string) => `PC#${campaignId}`;

export const providerTotalsKey = (campaignId: string, providerId: string) => ({ pk: providerTotalsPk(campaignId), sk: providerId });

/** The provider whose totals a key holds (the inverse of `providerTotalsKey`). */
export const providerOfTotalsKey = (key: Record<string, unknown>) => key.sk as string;
