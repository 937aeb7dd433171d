/**
 * The `orders` table's key layout, in one place: one item per order, keyed by `orderId`. The
 * `byStore` index keys it by `storeId` and `storePaid` = `<paidAt>#<orderId>`, so the orders of one
 * store sort by paid instant (then id) and one Query reads a store's orders of any time range.
 *
 * `paidAt` is a UTC ISO-8601 instant (always 24 characters, never a `#`), so the first `#` of a
 * `storePaid` ends the instant whatever the order id holds.
 */

/** The table key of an order. */
export const orderKey = (orderId: string) => ({ orderId });

/** The `byStore` sort key of an order. */
export const storePaid = (paidAt: string, orderId: string) => `${paidAt}#${orderId}`;

/** The paid instant and the order id of a `byStore` sort key (the inverse of `storePaid`). */
export function parseStorePaid(key: string): { paidAt: string; orderId: string } {
  const i = key.indexOf('#');
  if (i < 0) throw new RangeError(`${JSON.stringify(key)} is not a storePaid key`);
  return { paidAt: key.slice(0, i), orderId: key.slice(i + 1) };
}

/**
 * The `storePaid` bounds for `BETWEEN` that hold every order paid in `[fromIso, toIso)`: `#` sorts
 * before every id character, so `<toIso>#` is below every key paid at `toIso` itself. (An order paid
 * exactly at `toIso` with an empty id would fall on the bound: the caller still drops `paidAt >= toIso`.)
 */
export const storePaidRange = (fromIso: string, toIso: string) => ({ from: fromIso, to: `${toIso}#` });
