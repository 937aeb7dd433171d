/**
 * The demo season's delivery: when the platform hands each line over, and the imperfections it adds
 * (redeliveries, conflicting versions, malformed lines).
 */
import { CST, DAY, iso, lateArrivalLimit, MINUTE, type Draft } from './draft.ts';

export interface Delivered {
  line: string;
  deliverAtMs: number;
}

/**
 * Each event at its own time, 5% late (up to ten days, but an event of the period never after
 * `lastLateArrival`), and 30% of binding ends before any event of the season, so before their starts.
 */
export function deliveryOrder(d: Draft): Delivered[] {
  const { r, w } = d;
  const latest = lateArrivalLimit(d.w);
  const sorted = [...d.events].sort((a, b) => a.atMs - b.atMs);
  return sorted.map(({ ev, atMs }) => {
    let deliverAtMs = atMs;
    if (ev.type === 'binding.ended' && r.chance(0.3)) deliverAtMs = d.beforeSeason - DAY;
    else if (r.chance(0.05)) {
      deliverAtMs = atMs + r.int(1, 10) * DAY;
      if (atMs >= w.startMs && atMs < w.endMs) deliverAtMs = Math.max(atMs, Math.min(deliverAtMs, latest));
    }
    return { line: JSON.stringify(ev), deliverAtMs };
  });
}

/**
 * The platform's imperfections: 1% of orders redelivered (half with their keys in another order),
 * five orders and one payment redelivered with different content (rejected as conflicts, the first
 * version stays), each after its original; and 15 malformed lines during the season.
 */
export function addImperfections(d: Draft, delivered: Delivered[], orders: number) {
  const { r, w } = d;
  const orderLines = delivered.filter((x) => x.line.startsWith('{"type":"order.paid"'));
  const after = (x: Delivered) => x.deliverAtMs + r.int(1, 3 * 24 * 60) * MINUTE;
  let duplicates = 0;
  for (let k = 0; k < Math.floor(orders / 100); k++) {
    const x = r.pick(orderLines);
    delivered.push({ line: r.chance(0.5) ? x.line : JSON.stringify(reorder(JSON.parse(x.line))), deliverAtMs: after(x) });
    duplicates++;
  }
  let conflicts = 0;
  for (let k = 0; k < 5; k++) {
    const x = r.pick(orderLines);
    delivered.push({ line: JSON.stringify({ ...JSON.parse(x.line), storeId: r.pick(d.unboundStores) }), deliverAtMs: after(x) });
    conflicts++;
  }
  const payment = delivered.find((x) => x.line.includes('"deposit.paid"'))!;
  delivered.push({ line: JSON.stringify({ ...JSON.parse(payment.line), amountFen: 1 }), deliverAtMs: after(payment) });
  conflicts++;
  // After the instant they claim (the period's fifth day), before the close.
  const dated = malformedAt(d);
  for (const line of malformed(d)) delivered.push({ line, deliverAtMs: dated + r.int(0, w.endMs - dated - 1) });
  return { duplicates, conflicts, malformed: malformed(d).length };
}

/** The instant the malformed lines claim: the period's fifth day, 10:00Z. */
const malformedAt = (d: Draft) => d.w.startMs + 4 * DAY + CST + 10 * 3_600_000;

/** Fifteen lines the contract rejects, each for another field; dated in the season's period. */
function malformed(d: Draft): string[] {
  const z = new Date(malformedAt(d)).toISOString().replace('.000Z', 'Z');
  const day = z.slice(0, 10);
  const noSuchDay = `${day.slice(0, 4)}-02-30T10:00:00+08:00`;
  return [
    `{"type":"order.paid","orderId":"BAD1","storeId":"S00001","paidAt":"${day}T10:00:00"}`,
    `{"type":"order.paid","orderId":"BAD2","storeId":"S00001","paidAt":"${noSuchDay}"}`,
    `{"type":"order.paid","orderId":"BAD 3","storeId":"S00001","paidAt":"${z}"}`,
    '{"type":"order.refunded","orderId":"BAD4"}',
    `{"type":"deposit.paid","paymentId":"BAD5","providerId":"P0001","amountFen":-100,"paidAt":"${z}"}`,
    `{"type":"deposit.paid","paymentId":"BAD6","providerId":"P0001","amountFen":100.5,"paidAt":"${z}"}`,
    `{"type":"deposit.paid","paymentId":"BAD7","providerId":"P0001","amountFen":"10000000","paidAt":"${z}"}`,
    '{"type":"binding.started","providerId":"P0001","storeId":"S00001"}',
    `{"type":"provider.upserted","providerId":"P9999","name":"x","email":"not-an-address","certifiedAt":"${iso(d.beforeSeason, false)}"}`,
    `{"type":"order.paid","orderId":"BAD10","storeId":"S00001","paidAt":"${z}","gift":"no"}`,
    '[{"type":"order.paid"}]',
    '{"type":"order.paid","orderId":"BAD12",',
    'null',
    `{"type":"order.paid","orderId":"${'X'.repeat(129)}","storeId":"S00001","paidAt":"${z}"}`,
    `{"type":"order.paid","orderId":"BAD15","storeId":"S00001","paidAt":"${z}","coupon":"X"}`,
  ];
}

/** The same event with its keys in another order: a redelivery must still be recognised. */
function reorder(ev: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(ev).reverse());
}
