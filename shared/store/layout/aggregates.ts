/**
 * The `aggregates` table's key layout, in one place (what the items hold is `../aggregates.ts`):
 *
 * | item            | pk                        | sk             |
 * |-----------------|---------------------------|----------------|
 * | store counts    | `SC#<campaign>#<storeId>` | `COUNTS`       |
 * | provider totals | `PC#<campaign>`           | `<providerId>` |
 * | run state       | `RUN#<campaign>`          | `STATE`        |
 * | shard figures   | `RF#<campaign>#<fence>`   | `<segment>`, 7 digits |
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

/** The partition of one run's shard figures (a grouped full recount): its fencing token names it, so a later run never reads them. */
export const shardFiguresPk = (campaignId: string, fence: number) => `RF#${campaignId}#${fence}`;

/** One shard's figures: the segment zero-padded, so a Query returns them in segment order. */
export const shardFiguresKey = (campaignId: string, fence: number, segment: number) => ({ pk: shardFiguresPk(campaignId, fence), sk: String(segment).padStart(7, '0') });
