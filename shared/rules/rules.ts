/**
 * The renewal rules as pure functions: no clock (callers pass instants), no I/O. Each function cites the
 * RULES.md clause it applies; results carry clause ids so a stored decision explains itself (clause 2.3).
 */
import { type Campaign, type ClauseId, periodWindow, type ThresholdedCampaign } from './campaign.ts';
import { addDays, localMidnightUtc } from './time.ts';

export type Reason = 'orders_below_threshold' | 'deposit_not_paid_in_full' | 'not_in_scope' | 'not_regularized';

export type Eligibility = { assessed: true } | { assessed: false; reason: 'not_in_scope'; clause: '1' } | { assessed: false; reason: 'not_regularized'; clause: '2.1' };

/**
 * Clause 1 then 2.1: in scope iff certified before `certifiedBeforeDate` (CST midnight); assessed iff also
 * regularized before `regularizedBeforeDate`. No `regularizedAtMs` means still on probation. Scope is checked
 * first, so a provider failing both is `not_in_scope`.
 */
export function eligibility(c: Campaign, p: { certifiedAtMs: number; regularizedAtMs?: number }): Eligibility {
  if (!(p.certifiedAtMs < localMidnightUtc(c.certifiedBeforeDate, c.utcOffsetMinutes))) {
    return { assessed: false, reason: 'not_in_scope', clause: '1' };
  }
  const regularizedBy = localMidnightUtc(c.regularizedBeforeDate, c.utcOffsetMinutes);
  if (p.regularizedAtMs === undefined || !(p.regularizedAtMs < regularizedBy)) {
    return { assessed: false, reason: 'not_regularized', clause: '2.1' };
  }
  return { assessed: true };
}

export interface BindingEvent {
  providerId: string;
  storeId: string;
  kind: 'started' | 'ended';
  atMs: number;
}

/** A binding's coverage, half-open `[startMs, endMs)`; `endMs` is Infinity while the binding is open. */
export interface Interval {
  startMs: number;
  endMs: number;
}

/** providerId → storeId → intervals, sorted and disjoint. */
export type BindingIntervals = Map<string, Map<string, Interval[]>>;

/**
 * Clause 2.3 (bound store): turns binding events into coverage intervals per provider and store.
 *
 * Events arrive late, out of order and repeated, so the result depends only on the set of events: they are
 * sorted by time, an `ended` before a `started` at the same instant, then walked. A start opens an interval
 * if none is open (a repeated start is ignored); an end closes the open one (an end with nothing open is
 * ignored: its start has not arrived, and the interval appears once it does). Ending first makes a rebind at
 * the same instant one continuous interval, and means no interval can have zero length.
 */
export function bindingIntervals(events: readonly BindingEvent[]): BindingIntervals {
  const sorted = [...events].sort((a, b) => a.atMs - b.atMs || rank(a) - rank(b));
  const result: BindingIntervals = new Map();
  for (const e of sorted) {
    let stores = result.get(e.providerId);
    if (!stores) result.set(e.providerId, (stores = new Map()));
    let list = stores.get(e.storeId);
    if (!list) stores.set(e.storeId, (list = []));
    const last = list.at(-1);
    const open = last !== undefined && last.endMs === Infinity;
    if (e.kind === 'ended' && open) last.endMs = e.atMs;
    else if (e.kind === 'started' && !open) {
      // Closed at this very instant by an end sorted just before: the binding never lapsed.
      if (last !== undefined && last.endMs === e.atMs) last.endMs = Infinity;
      else list.push({ startMs: e.atMs, endMs: Infinity });
    }
  }
  return result;
}

function rank(e: BindingEvent): number {
  return e.kind === 'ended' ? 0 : 1;
}

/** The intervals of one provider–store pair; empty when they were never bound. */
export function intervalsFor(bindings: BindingIntervals, providerId: string, storeId: string): Interval[] {
  return bindings.get(providerId)?.get(storeId) ?? [];
}

/** Clause 2.3: the store was bound at `atMs`; a binding covers `[startMs, endMs)`. */
export function isCovered(intervals: readonly Interval[], atMs: number): boolean {
  return intervals.some((i) => i.startMs <= atMs && atMs < i.endMs);
}

/**
 * Clauses 2.1, 2.2.1, 2.3: an order counts for a provider iff it is not a gift, was paid within the period
 * `[start, end)`, and its store was bound to that provider at `paidAtMs`. Pass one provider's intervals: a
 * store bound to two providers counts for each. Refunds are not an input: the rule counts paid orders.
 */
export function orderCounts(c: Campaign, order: { paidAtMs: number; gift: boolean }, intervals: readonly Interval[]): boolean {
  const { startMs, endMs } = periodWindow(c);
  return !order.gift && startMs <= order.paidAtMs && order.paidAtMs < endMs && isCovered(intervals, order.paidAtMs);
}

export interface DepositEntry {
  kind: 'paid' | 'deducted';
  amountFen: number;
  atMs: number;
}

/**
 * Clause 2.2.2: deposit balance at the period end, in integer fen: paid minus deducted over entries strictly
 * before the end instant. Throws a RangeError on an amount that is not a positive safe integer, since a float
 * here would be a bug upstream, not money.
 */
export function depositBalanceAtClose(c: Campaign, entries: readonly DepositEntry[]): number {
  const { endMs } = periodWindow(c);
  let balance = 0;
  for (const e of entries) {
    if (!Number.isSafeInteger(e.amountFen) || e.amountFen <= 0) {
      throw new RangeError(`amountFen must be a positive safe integer, got ${e.amountFen}`);
    }
    if (e.atMs < endMs) balance += e.kind === 'paid' ? e.amountFen : -e.amountFen;
  }
  if (!Number.isSafeInteger(balance)) throw new RangeError(`deposit balance overflows safe integers: ${balance}`);
  return balance;
}

/** Clause 3: first date a revoked provider may re-apply, `noticeDate + days` (2024-03-01 + 90 = 2024-05-30). */
export function reapplyFrom(noticeDate: string, days: number): string {
  if (!Number.isSafeInteger(days) || days < 0) throw new RangeError(`days must be a non-negative integer, got ${days}`);
  return addDays(noticeDate, days);
}

export interface DecisionInput {
  certifiedAtMs: number;
  regularizedAtMs?: number;
  /** Orders that pass `orderCounts`, each orderId once. */
  paidOrders: number;
  /** From `depositBalanceAtClose`. */
  depositBalanceFen: number;
}

export interface Decision {
  outcome: 'retained' | 'revoked' | 'not_assessed';
  /** Every failing reason, in the order orders_below_threshold, deposit_not_paid_in_full; or one not_* reason. */
  reasons: Reason[];
  /** Clause ids applied to reach the outcome. */
  clauses: ClauseId[];
  paidOrders?: number;
  thresholdOrders?: number;
  depositBalanceFen?: number;
  depositRequiredFen?: number;
  /** Revoked only: the delisting notice date and the first date to re-apply (clause 3). */
  noticeDate?: string;
  reapplyFrom?: string;
  rulesVersion: string;
}

const ASSESSED_CLAUSES: ClauseId[] = ['1', '2.1', '2.2.1', '2.2.2', '2.2.3'];

/** The figures an assessment weighs (clauses 2.2.1, 2.2.2), as a decision stores them. */
export interface Figures {
  paidOrders: number;
  thresholdOrders: number;
  depositBalanceFen: number;
  depositRequiredFen: number;
}

/**
 * Clauses 2.2.1 and 2.2.2: the requirements these figures fail, in the order orders_below_threshold,
 * deposit_not_paid_in_full; empty when both are met. `decide` revokes on exactly these reasons.
 */
export function unmetRequirements(f: Figures): Reason[] {
  const reasons: Reason[] = [];
  if (f.paidOrders < f.thresholdOrders) reasons.push('orders_below_threshold');
  if (f.depositBalanceFen < f.depositRequiredFen) reasons.push('deposit_not_paid_in_full');
  return reasons;
}

/** What is still missing to meet each requirement: orders below the threshold, fen below the deposit; 0 once met. */
export function shortfall(f: Figures): { ordersMissing: number; depositMissingFen: number } {
  return {
    ordersMissing: Math.max(0, f.thresholdOrders - f.paidOrders),
    depositMissingFen: Math.max(0, f.depositRequiredFen - f.depositBalanceFen),
  };
}

/**
 * Clause 2.2.3: retained iff `paidOrders >= thresholdOrders` (2.2.1) and `depositBalanceFen >= depositRequiredFen`
 * (2.2.2); either failing revokes, with every failing reason and the clause 3 consequences. Providers outside
 * clause 1 or 2.1 are `not_assessed`. The figures used are returned so the decision can be reproduced (2.3).
 * `e` is the provider's eligibility: of its one profile by default, or across seasons (`seasonEligibility`).
 */
export function decide(c: ThresholdedCampaign, input: DecisionInput, e: Eligibility = eligibility(c, input)): Decision {
  if (!Number.isSafeInteger(input.paidOrders) || input.paidOrders < 0) {
    throw new RangeError(`paidOrders must be a non-negative integer, got ${input.paidOrders}`);
  }
  if (!Number.isSafeInteger(input.depositBalanceFen)) {
    throw new RangeError(`depositBalanceFen must be an integer number of fen, got ${input.depositBalanceFen}`);
  }
  const { rulesVersion } = c;
  if (!e.assessed) {
    const clauses: ClauseId[] = e.clause === '1' ? ['1'] : ['1', '2.1'];
    return { outcome: 'not_assessed', reasons: [e.reason], clauses, rulesVersion };
  }
  const figures: Figures = {
    paidOrders: input.paidOrders,
    thresholdOrders: c.thresholdOrders,
    depositBalanceFen: input.depositBalanceFen,
    depositRequiredFen: c.depositRequiredFen,
  };
  const reasons = unmetRequirements(figures);
  if (reasons.length === 0) return { outcome: 'retained', reasons, clauses: ASSESSED_CLAUSES.slice(), ...figures, rulesVersion };
  return {
    outcome: 'revoked',
    reasons,
    clauses: [...ASSESSED_CLAUSES, '3'],
    ...figures,
    noticeDate: c.noticeDate,
    reapplyFrom: reapplyFrom(c.noticeDate, c.reapplyAfterDays),
    rulesVersion,
  };
}
