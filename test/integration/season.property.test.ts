/**
 * RULES.md input contract: "Events may arrive late, out of order and more than once: the outcome must be
 * the same as if each had arrived once, in time order." For random valid seasons (test/support/events.ts),
 * the final decisions reached from
 *  (a) the clean stream, delivered once in time order, aggregated once, then evaluated, and from
 *  (b) the same facts shuffled, redelivered in other textual forms, fed in several waves with an
 *      (incremental) aggregation run after each wave, then evaluated,
 * must be equal, and equal to what the reference evaluator (test/support/reference.ts, written from
 * RULES.md alone, importing nothing of the product) decides. Each run gets fresh tables.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { arbDeliveries, render, timeOf, type Delivery, type LogicalEvent } from '../support/events.ts';
import { arbSeason, CAMPAIGN, newSeason, oracle, verdicts } from '../support/season-fixture.ts';

/** Cuts `deliveries` into consecutive waves at the given (sorted, deduplicated) positions. */
function waves(deliveries: Delivery[], cuts: number[]): Delivery[][] {
  const at = [...new Set(cuts.map((c) => c % (deliveries.length + 1)))].sort((a, b) => a - b);
  const out: Delivery[][] = [];
  let from = 0;
  for (const c of [...at, deliveries.length]) {
    out.push(deliveries.slice(from, c));
    from = c;
  }
  return out.filter((w) => w.length);
}

async function cleanRun(events: LogicalEvent[], thresholdOrders: number) {
  const s = await newSeason();
  const fed = await s.feed(
    events.map((e) => render(e)),
    { concurrency: 1 },
  );
  expect(fed).toEqual({ accepted: events.length, duplicates: 0, rejected: 0, failed: 0 });
  expect(await s.aggregate()).toMatchObject({ status: 'done', mode: 'full' });
  const r = await s.evaluate({ campaignId: CAMPAIGN, thresholdOrders });
  expect(r).toMatchObject({ mode: 'final', aggregation: { status: 'done', ordersSeen: 0, storesRecounted: 0 } });
  return verdicts(r.assessments);
}

async function messyRun(events: LogicalEvent[], parts: Delivery[][], thresholdOrders: number) {
  const s = await newSeason();
  let accepted = 0;
  for (const part of parts) {
    const fed = await s.feed(part.map((d) => d.body));
    expect(fed.rejected + fed.failed).toBe(0);
    accepted += fed.accepted;
    expect(await s.aggregate()).toMatchObject({ status: 'done' });
  }
  expect(accepted).toBe(events.length);
  const r = await s.evaluate({ campaignId: CAMPAIGN, thresholdOrders });
  expect(r.mode).toBe('final');
  return verdicts(r.assessments);
}

/**
 * Seasons per property case. One case feeds, aggregates and evaluates ten independent seasons at once
 * (each its own providers, stores, orders and payments, named apart), so that a hundred seasons fit in
 * CI's time: a run on fresh tables costs about the same for one season as for ten. The seasons of a
 * case share one delivery order and one set of waves, so one season's late facts arrive among another's.
 */
const SEASONS_PER_CASE = 10;
const CASES = 10;

/** A season's facts with every id prefixed: seasons of one case never share a provider, store, order or payment. */
function apart(events: LogicalEvent[], k: number): LogicalEvent[] {
  const p = (id: string) => `s${k}-${id}`;
  return events.map((e) => {
    switch (e.type) {
      case 'provider.upserted':
        return { ...e, providerId: p(e.providerId) };
      case 'binding.started':
      case 'binding.ended':
        return { ...e, providerId: p(e.providerId), storeId: p(e.storeId) };
      case 'order.paid':
        return { ...e, orderId: p(e.orderId), storeId: p(e.storeId) };
      case 'deposit.paid':
      case 'deposit.deducted':
        return { ...e, paymentId: p(e.paymentId), providerId: p(e.providerId) };
    }
  });
}

describe('a season delivered late, out of order and more than once decides as if delivered once in order', () => {
  it(`clean = messy (waves, incremental aggregation) = the reference evaluator, for ${CASES * SEASONS_PER_CASE} seasons`, { timeout: 300_000 }, async () => {
    const scenario = fc.array(arbSeason(), { minLength: SEASONS_PER_CASE, maxLength: SEASONS_PER_CASE }).chain((seasons) => {
      const parts = seasons.map(apart);
      const events = parts.flat().sort((a, b) => timeOf(a) - timeOf(b));
      return fc.record({
        parts: fc.constant(parts),
        events: fc.constant(events),
        deliveries: arbDeliveries(events),
        cuts: fc.array(fc.nat({ max: 10_000 }), { minLength: 1, maxLength: 2 }),
        thresholdOrders: fc.integer({ min: 1, max: 3 }),
      });
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ parts, events, deliveries, cuts, thresholdOrders }) => {
        // Each season by brute force on its own; the union is what the shared run must decide.
        const expected = Object.assign({}, ...parts.map((part) => oracle(part, thresholdOrders)));
        // The reference itself reads the messy delivery as the clean stream: its de-duplication holds.
        expect(
          oracle(
            deliveries.map((d) => d.body),
            thresholdOrders,
          ),
        ).toEqual(expected);
        const clean = await cleanRun(events, thresholdOrders);
        expect(clean).toEqual(expected);
        const messy = await messyRun(events, waves(deliveries, cuts), thresholdOrders);
        expect(messy).toEqual(expected);
      }),
      { numRuns: CASES, endOnFailure: true },
    );
  });

  it('the oracle is not trivial: over the generated seasons every outcome occurs', () => {
    // Guards the property above against a generator that only ever yields, say, not_assessed.
    const seen = new Set<string>();
    fc.assert(
      fc.property(arbSeason(), fc.integer({ min: 1, max: 3 }), (events, t) => {
        for (const v of Object.values(oracle(events, t))) seen.add(v.outcome === 'revoked' ? `revoked:${v.reasons.join('+')}` : v.outcome);
      }),
      { numRuns: 300, seed: 42 },
    );
    expect([...seen].sort()).toEqual(['not_assessed', 'retained', 'revoked:deposit_not_paid_in_full', 'revoked:orders_below_threshold', 'revoked:orders_below_threshold+deposit_not_paid_in_full']);
  });
});
