import { campaignRegistry } from '#shared/campaigns.ts';
import type { Campaign } from '#shared/rules/campaign.ts';
import { addImperfections, deliveryOrder } from './delivery.ts';
import { instantsOf, lateArrivalLimit, newDraft, type Draft } from './draft.ts';
import { addOrders, planCounts } from './orders.ts';
import { addProviders, shareStores } from './providers.ts';

export { HOSTILE_NAME } from './providers.ts';

/** The campaign the demo season is played in unless another is given: the first campaign file by period (npm start's). */
export const demoCampaign = (): Campaign => campaignRegistry().list()[0]!;

/**
 * A believable demo season, generated from a fixed seed for any campaign's period: providers in and
 * out of scope, on probation, big and small; stores bound to one or two providers, bindings that
 * start or end mid-season; gift orders, orders on the boundary instants; deposits in instalments,
 * late, deducted and topped up; and the platform's imperfections: redeliveries, conflicting versions,
 * malformed lines, late arrivals, binding ends delivered before their starts.
 *
 * The season is planned before it is written. Each provider is first given its fate — in scope or
 * not, regularized or not, its orders above or below the threshold, its deposit paid in full or not,
 * each by a story ("deposit 1 fen short", "one order short of the threshold") — and an exact number
 * of orders that must count for it; then events are written that realize the plan: counted orders
 * placed inside the period and inside a binding of one of its stores, the rest placed where they
 * cannot count (gifts, outside the period, outside the binding, stores nobody serves). The
 * expectation the season returns is that plan (`expected`), never a computation over the events, so
 * a run checked against it checks the rules too; the tests check that a reference evaluator written
 * from RULES.md finds the same plan in the events (test/unit/demo-season.test.ts).
 *
 * Most assessed providers pass; a minority fail on orders, on the deposit or on both, against a
 * threshold that fits the season's size (`DEMO_SEASON.thresholdOrders`, which ops would set as
 * THRESHOLD_ORDERS). Every instant is derived from the campaign's dates (China time, UTC+8), so the
 * same generator writes a season in any campaign's period.
 */

/**
 * The default demo season and the threshold ops set for it: the one place the CLI demo, the embedded
 * stack's THRESHOLD_ORDERS default and the rehearsal read it from. 100,000 orders over 120 providers
 * average about 830 each; 300 keeps most assessed providers above the line and the small ones below.
 */
export const DEMO_SEASON = Object.freeze({ providers: 120, orders: 100_000, seed: 20240229, thresholdOrders: 300 });

/**
 * The threshold for a season of another size: the demo's, scaled with the orders per provider, so a
 * smaller or larger season revokes about the same share of providers.
 */
export function demoThreshold(opts: { providers: number; orders: number }): number {
  const perProvider = DEMO_SEASON.orders / DEMO_SEASON.providers;
  return Math.max(1, Math.round((DEMO_SEASON.thresholdOrders * (opts.orders / opts.providers)) / perProvider));
}

export interface SeasonOptions {
  providers: number;
  orders: number;
  seed: number;
  /** The campaign whose period, cuts and deposit the season is written for; default renewal-2024. */
  campaign?: Campaign;
}

export type PlannedReason = 'orders_below_threshold' | 'deposit_not_paid_in_full' | 'not_in_scope' | 'not_regularized';

/** What the generator planned for one provider: its outcome and the figures it must be decided from. */
export interface PlannedOutcome {
  outcome: 'retained' | 'revoked' | 'not_assessed';
  reasons: PlannedReason[];
  /** Orders planned to count for it (also for a provider not assessed: the aggregates hold them). */
  paidOrders: number;
  /** Its deposit balance at the period end, by its deposit story. */
  depositBalanceFen: number;
  /** Why the provider is in the demo (the rule cases it covers, or 'ordinary'). */
  story: string;
  /** The plan in one line, e.g. "P0012: 299 counted orders (threshold 300), deposit 1 fen short, so revoked on both". */
  plan: string;
}

export interface Season {
  /** NDJSON lines in delivery order (late, duplicated and malformed ones included). */
  lines: string[];
  /**
   * Parallel to `lines`, non-decreasing: the instant the platform delivers each line. An event's own
   * time for most; later for the late arrivals, but an event of the assessment period never after
   * `lastLateArrival` (15 minutes after the close), so the evaluation at 30 minutes after it sees it;
   * a redelivery or a conflicting version after its original; malformed lines at some time in the season.
   */
  deliverAtMs: number[];
  /** The threshold this season is meant to be evaluated with (THRESHOLD_ORDERS). */
  thresholdOrders: number;
  /** Per provider: the planned outcome and figures the system must find. */
  expected: Map<string, PlannedOutcome>;
  stats: { orders: number; duplicates: number; conflicts: number; malformed: number };
}

/** The last instant a late event of the period may arrive: 15 minutes before the evaluation (close + 30 min). */
export function lastLateArrival(c: Campaign = demoCampaign()): number {
  return lateArrivalLimit(instantsOf(c));
}

export function generateSeason(opts: SeasonOptions): Season {
  const d = newDraft(opts, opts.campaign ?? demoCampaign(), demoThreshold(opts));
  addProviders(d, opts.providers);
  shareStores(d);
  planCounts(d, opts.orders);
  addOrders(d, opts.orders);
  const delivered = deliveryOrder(d);
  const imperfections = addImperfections(d, delivered, opts.orders);
  delivered.sort((a, b) => a.deliverAtMs - b.deliverAtMs);
  return {
    lines: delivered.map((x) => x.line),
    deliverAtMs: delivered.map((x) => x.deliverAtMs),
    thresholdOrders: d.threshold,
    expected: expectation(d),
    stats: { orders: d.orderCount, ...imperfections },
  };
}

// What the system must find: the plan, as each provider's outcome, reasons and figures.

function expectation(d: Draft): Map<string, PlannedOutcome> {
  const full = d.c.depositRequiredFen;
  return new Map(
    d.plans.map((p): [string, PlannedOutcome] => {
      const reasons: PlannedReason[] =
        p.eligibility !== 'assessed' ? [p.eligibility] : [...(p.ordersPass ? [] : ['orders_below_threshold' as const]), ...(p.depositPass ? [] : ['deposit_not_paid_in_full' as const])];
      const outcome = p.eligibility !== 'assessed' ? 'not_assessed' : reasons.length ? 'revoked' : 'retained';
      const deposit = p.depositPass ? 'deposit paid in full' : p.depositBalanceFen === 0 ? 'no deposit' : `deposit ${full - p.depositBalanceFen} fen short`;
      const so =
        outcome === 'not_assessed'
          ? `not assessed (${reasons[0]})`
          : outcome === 'retained'
            ? 'retained'
            : reasons.length === 2
              ? 'revoked on both'
              : `revoked on ${p.ordersPass ? 'the deposit' : 'orders'}`;
      return [
        p.providerId,
        {
          outcome,
          reasons,
          paidOrders: p.counted,
          depositBalanceFen: p.depositBalanceFen,
          story: p.stories.length ? p.stories.join('; ') : 'ordinary',
          plan: `${p.providerId}: ${p.counted} counted order${p.counted === 1 ? '' : 's'} (threshold ${d.threshold}), ${deposit}, so ${so}`,
        },
      ];
    }),
  );
}
