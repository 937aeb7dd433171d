/** One test (or one group) per row of both tables of RULES.md, named by clause id or decision topic. */
import { describe, expect, it } from 'vitest';
import {
  bindingIntervals,
  CLAUSES,
  type BindingEvent,
  type Campaign,
  decide,
  depositBalanceAtClose,
  eligibility,
  intervalsFor,
  isCovered,
  isPeriodClosed,
  localMidnightUtc,
  orderCounts,
  parseInstant,
  periodWindow,
  reapplyFrom,
  withThreshold,
} from '#shared/rules/index.ts';
import { RENEWAL_2024, REPO_CAMPAIGNS } from '../support/campaigns.ts';

/** Test inputs are literals, so an unparsable one is a mistake in the test. */
function at(s: string): number {
  const ms = parseInstant(s);
  if (ms === undefined) throw new Error(`bad instant in test: ${s}`);
  return ms;
}

const c = RENEWAL_2024;
const small = withThreshold(c, 3);
const EARLY = at('2023-06-01T10:00:00+08:00');
const OPEN = [{ startMs: at('2023-01-01T00:00:00Z'), endMs: Infinity }];
const FULL = 10_000_000;
const pass = { certifiedAtMs: EARLY, regularizedAtMs: EARLY, paidOrders: 10_000, depositBalanceFen: FULL };

function bind(providerId: string, storeId: string, kind: BindingEvent['kind'], iso: string): BindingEvent {
  return { providerId, storeId, kind, atMs: at(iso) };
}

describe('RULES.md clauses', () => {
  it('1 scope: providers certified before 2023-12-01 are in scope', () => {
    expect(eligibility(c, { certifiedAtMs: at('2023-11-30T23:59:59.999+08:00'), regularizedAtMs: EARLY })).toEqual({ assessed: true });
    expect(eligibility(c, { certifiedAtMs: at('2023-12-01T00:00:00+08:00'), regularizedAtMs: EARLY })).toEqual({
      assessed: false,
      reason: 'not_in_scope',
      clause: '1',
    });
  });

  it('2.1 assessed: providers regularized by 2023-11-30', () => {
    expect(eligibility(c, { certifiedAtMs: EARLY, regularizedAtMs: at('2023-11-30T12:00:00+08:00') }).assessed).toBe(true);
    expect(eligibility(c, { certifiedAtMs: EARLY })).toEqual({ assessed: false, reason: 'not_regularized', clause: '2.1' });
  });

  it('2.1 period: 2023-12-01 to 2024-02-29 is 91 CST days including the leap day', () => {
    const w = periodWindow(c);
    expect(w.days).toHaveLength(91);
    expect(w.days[0]).toBe('2023-12-01');
    expect(w.days.at(-1)).toBe('2024-02-29');
    expect(w.days).toContain('2024-02-29');
    expect((w.endMs - w.startMs) / 86_400_000).toBe(91);
  });

  it('2.2.1 threshold: paid orders of stores bound to the provider must reach the threshold', () => {
    const paidAt = at('2024-01-10T12:00:00+08:00');
    expect(orderCounts(c, { paidAtMs: paidAt, gift: false }, OPEN)).toBe(true);
    expect(orderCounts(c, { paidAtMs: paidAt, gift: false }, [])).toBe(false);
    expect(decide(c, { ...pass, paidOrders: 9_999 }).reasons).toEqual(['orders_below_threshold']);
    expect(decide(c, pass).outcome).toBe('retained');
  });

  it('2.2.2 deposit: CNY 100,000 (10,000,000 fen) paid in full before the period ends', () => {
    const outcome = (amountFen: number, iso: string) => decide(c, { ...pass, depositBalanceFen: depositBalanceAtClose(c, [{ kind: 'paid', amountFen, atMs: at(iso) }]) }).outcome;
    expect(outcome(100_000 * 100, '2024-02-29T23:59:59.999+08:00')).toBe('retained');
    expect(outcome(100_000 * 100 - 1, '2024-02-29T23:59:59.999+08:00')).toBe('revoked');
    expect(outcome(100_000 * 100, '2024-03-01T00:00:00+08:00')).toBe('revoked');
  });

  it('2.2.3 outcome: threshold reached keeps the status, not reached revokes it', () => {
    expect(decide(small, { ...pass, paidOrders: 3 }).outcome).toBe('retained');
    expect(decide(small, { ...pass, paidOrders: 2 }).outcome).toBe('revoked');
  });

  it('2.3 order count: gift orders are excluded', () => {
    const paidAtMs = at('2024-01-10T12:00:00+08:00');
    expect(orderCounts(c, { paidAtMs, gift: true }, OPEN)).toBe(false);
    expect(orderCounts(c, { paidAtMs, gift: false }, OPEN)).toBe(true);
  });

  it('2.3 data authority: decisions depend only on recorded figures and store them', () => {
    const d = decide(small, { ...pass, paidOrders: 42, depositBalanceFen: 123 });
    expect(d).toMatchObject({ paidOrders: 42, thresholdOrders: 3, depositBalanceFen: 123, depositRequiredFen: FULL, rulesVersion: 'renewal-2024/1' });
    expect(d.clauses.every((id) => id in CLAUSES)).toBe(true);
  });

  it('3 regular rules in 2024: a campaign is data, looked up by id and never mutated by overrides', () => {
    expect(REPO_CAMPAIGNS.get('renewal-2024')).toMatchObject({ ...RENEWAL_2024, thresholdOrders: null });
    expect(REPO_CAMPAIGNS.ids).toContain('renewal-2024');
    expect(REPO_CAMPAIGNS.get('renewal-2025')).toBeUndefined();
    expect(REPO_CAMPAIGNS.get('__proto__')).toBeUndefined();
    expect(REPO_CAMPAIGNS.get('toString')).toBeUndefined();
    expect(() => REPO_CAMPAIGNS.require('renewal-2025')).toThrow(/unknown campaign "renewal-2025" \(known: renewal-2024, /);
    withThreshold(RENEWAL_2024, 1);
    expect(RENEWAL_2024.thresholdOrders).toBe(10_000);
    expect(Object.isFrozen(RENEWAL_2024)).toBe(true);
  });

  it('3 delisting: a revoked decision carries the notice date; retained and not assessed ones do not', () => {
    expect(decide(c, { ...pass, paidOrders: 0 })).toMatchObject({ outcome: 'revoked', noticeDate: '2024-03-01' });
    expect(decide(c, { ...pass, paidOrders: 0 }).clauses).toContain('3');
    expect(decide(c, pass).noticeDate).toBeUndefined();
    expect(decide(c, { ...pass, regularizedAtMs: undefined }).noticeDate).toBeUndefined();
  });

  it('3 no longer an industrial-belt provider from the notice date, the first day after the period', () => {
    expect(localMidnightUtc(c.noticeDate, c.utcOffsetMinutes)).toBe(periodWindow(c).endMs);
  });

  // 3 feedback by email to douyinpartner@bytedance.com: a value, not a rule. What it promises is that the
  // provider is told where to write: the outcome mail names it (integration/notify.e2e.test.ts, with no
  // FEEDBACK_MAILBOX configured) and the deployed functions are configured with it (infra/app-stack.test.ts).

  it('3 deposit refund: a revoked decision keeps the deposit balance the refund starts from', () => {
    expect(decide(c, { ...pass, paidOrders: 0, depositBalanceFen: 7_500_000 })).toMatchObject({
      outcome: 'revoked',
      depositBalanceFen: 7_500_000,
    });
  });

  it('3 re-application: not within 90 days of the notice', () => {
    expect(decide(c, { ...pass, paidOrders: 0 }).reapplyFrom).toBe('2024-05-30');
    expect(decide(c, pass).reapplyFrom).toBeUndefined();
  });
});

describe('RULES.md decisions where the source is silent', () => {
  it('time zone: an instant without offset is rejected; Z and +08:00 agree; rule dates are CST', () => {
    expect(parseInstant('2023-12-01T00:00:00')).toBeUndefined();
    expect(at('2023-12-01T00:00:00+08:00')).toBe(at('2023-11-30T16:00:00Z'));
    // The rule dates are read in China time: the close is midnight there, 16:00 UTC.
    expect(isPeriodClosed(c, at('2024-02-29T15:59:59.999Z'))).toBe(false);
    expect(isPeriodClosed(c, at('2024-02-29T16:00:00Z'))).toBe(true);
  });

  it('1 in scope: certifiedAt < 2023-12-01T00:00:00+08:00', () => {
    const inScope = (iso: string) => eligibility(c, { certifiedAtMs: at(iso), regularizedAtMs: EARLY }).assessed;
    expect(inScope('2023-11-30T15:59:59.999Z')).toBe(true);
    expect(inScope('2023-11-30T16:00:00Z')).toBe(false);
    expect(inScope('2023-11-30T23:00:00-08:00')).toBe(false);
  });

  describe('2.1 assessed', () => {
    it('2.1 assessed: regularized on 2023-11-30 itself counts; 2023-12-01T00:00+08:00 does not', () => {
      const assessed = (iso: string) => eligibility(c, { certifiedAtMs: EARLY, regularizedAtMs: at(iso) }).assessed;
      expect(assessed('2023-11-30T00:00:00+08:00')).toBe(true);
      expect(assessed('2023-11-30T23:59:59.999+08:00')).toBe(true);
      expect(assessed('2023-12-01T00:00+08:00')).toBe(false);
    });

    it('2.1 assessed: not in scope wins over not regularized; not assessed changes nothing', () => {
      const d = decide(c, { ...pass, certifiedAtMs: at('2023-12-05T00:00:00+08:00'), regularizedAtMs: undefined });
      expect(d).toEqual({ outcome: 'not_assessed', reasons: ['not_in_scope'], clauses: ['1'], rulesVersion: 'renewal-2024/1' });
      expect(decide(c, { ...pass, regularizedAtMs: at('2023-12-02T00:00:00+08:00') })).toEqual({
        outcome: 'not_assessed',
        reasons: ['not_regularized'],
        clauses: ['1', '2.1'],
        rulesVersion: 'renewal-2024/1',
      });
    });
  });

  it('2.1 period: half-open [2023-11-30T16:00:00Z, 2024-02-29T16:00:00Z)', () => {
    const w = periodWindow(c);
    expect(w).toMatchObject({ startIso: '2023-11-30T16:00:00.000Z', endIso: '2024-02-29T16:00:00.000Z' });
    const counts = (iso: string) => orderCounts(c, { paidAtMs: at(iso), gift: false }, OPEN);
    expect(counts('2023-11-30T23:59:59.999+08:00')).toBe(false);
    expect(counts('2023-12-01T00:00:00+08:00')).toBe(true);
    expect(counts('2024-02-29T23:59:59.999+08:00')).toBe(true);
    expect(counts('2024-03-01T00:00:00+08:00')).toBe(false);
  });

  describe('2.2.1/2.3 order count', () => {
    const paidAtMs = at('2024-01-10T12:00:00+08:00');

    it('2.3 order count: gift orders never count', () => {
      expect(orderCounts(c, { paidAtMs, gift: true }, OPEN)).toBe(false);
    });

    it('2.3 order count: binding coverage is half-open [startedAt, endedAt)', () => {
      const b = bindingIntervals([bind('p1', 's1', 'started', '2024-01-10T12:00:00+08:00'), bind('p1', 's1', 'ended', '2024-01-20T00:00:00+08:00')]);
      const iv = intervalsFor(b, 'p1', 's1');
      expect(orderCounts(c, { paidAtMs: paidAtMs - 1, gift: false }, iv)).toBe(false);
      expect(orderCounts(c, { paidAtMs, gift: false }, iv)).toBe(true);
      expect(orderCounts(c, { paidAtMs: at('2024-01-19T23:59:59.999+08:00'), gift: false }, iv)).toBe(true);
      expect(orderCounts(c, { paidAtMs: at('2024-01-20T00:00:00+08:00'), gift: false }, iv)).toBe(false);
      expect(intervalsFor(b, 'p2', 's1')).toEqual([]);
    });

    it('2.3 order count: a store bound to two providers counts for both', () => {
      const b = bindingIntervals([
        bind('p1', 's1', 'started', '2023-12-01T00:00:00+08:00'),
        bind('p2', 's1', 'started', '2024-01-01T00:00:00+08:00'),
        bind('p2', 's1', 'ended', '2024-02-01T00:00:00+08:00'),
      ]);
      const order = { paidAtMs, gift: false };
      expect(orderCounts(c, order, intervalsFor(b, 'p1', 's1'))).toBe(true);
      expect(orderCounts(c, order, intervalsFor(b, 'p2', 's1'))).toBe(true);
      expect(orderCounts(c, { paidAtMs: at('2024-02-10T00:00:00+08:00'), gift: false }, intervalsFor(b, 'p2', 's1'))).toBe(false);
    });

    // 2.3 a later refund does not remove a paid order: refunds are no input of `orderCounts` (its type
    // has no place for one). The promise is tested where a refund could arrive: the intake rejects the
    // platform's refund event and the order still counts (integration/season.decisions.test.ts).

    it('2.3 order count: rebinding at the same instant is continuous; a lone end waits for its start', () => {
      const rebind = bindingIntervals([
        bind('p1', 's1', 'started', '2024-01-01T00:00:00+08:00'),
        bind('p1', 's1', 'started', '2024-01-15T00:00:00+08:00'),
        bind('p1', 's1', 'ended', '2024-01-15T00:00:00+08:00'),
      ]);
      expect(intervalsFor(rebind, 'p1', 's1')).toEqual([{ startMs: at('2024-01-01T00:00:00+08:00'), endMs: Infinity }]);
      const endOnly = bindingIntervals([bind('p1', 's1', 'ended', '2024-01-15T00:00:00+08:00')]);
      expect(intervalsFor(endOnly, 'p1', 's1')).toEqual([]);
      expect(isCovered(intervalsFor(endOnly, 'p1', 's1'), paidAtMs)).toBe(false);
    });
  });

  describe('2.2.1 threshold', () => {
    it('2.2.1 threshold: renewal-2024 ships 10,000 as a placeholder; withThreshold overrides it', () => {
      expect(decide(c, { ...pass, paidOrders: 10_000 }).outcome).toBe('retained');
      expect(decide(c, { ...pass, paidOrders: 9_999 })).toMatchObject({ outcome: 'revoked', thresholdOrders: 10_000 });
      const ops = withThreshold(c, 500);
      expect(ops.thresholdOrders).toBe(500);
      expect(decide(ops, { ...pass, paidOrders: 500 }).outcome).toBe('retained');
      expect(decide(ops, { ...pass, paidOrders: 499 })).toMatchObject({ outcome: 'revoked', thresholdOrders: 500 });
    });

    it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('2.2.1 threshold: %s is rejected naming thresholdOrders', (n) => {
      expect(() => withThreshold(c, n)).toThrow(RangeError);
      expect(() => withThreshold(c, n)).toThrow(/thresholdOrders/);
    });
  });

  describe('2.2.2 deposit', () => {
    const deposit = (kind: 'paid' | 'deducted', amountFen: number, iso: string) => ({ kind, amountFen, atMs: at(iso) });

    it('2.2.2 deposit: instalments add up', () => {
      const balance = depositBalanceAtClose(c, [deposit('paid', 4_000_000, '2023-10-01T10:00:00+08:00'), deposit('paid', 6_000_000, '2024-02-01T10:00:00+08:00')]);
      expect(balance).toBe(FULL);
      expect(decide(c, { ...pass, depositBalanceFen: balance }).outcome).toBe('retained');
    });

    it('2.2.2 deposit: a deduction lowers the balance below full', () => {
      const balance = depositBalanceAtClose(c, [deposit('paid', FULL, '2023-10-01T10:00:00+08:00'), deposit('deducted', 250_000, '2024-01-05T10:00:00+08:00')]);
      expect(balance).toBe(9_750_000);
      expect(decide(c, { ...pass, depositBalanceFen: balance }).reasons).toEqual(['deposit_not_paid_in_full']);
    });

    it('2.2.2 deposit: exactly 10,000,000 fen is full, 9,999,999 is not', () => {
      expect(decide(c, { ...pass, depositBalanceFen: 10_000_000 }).outcome).toBe('retained');
      expect(decide(c, { ...pass, depositBalanceFen: 9_999_999 })).toMatchObject({ outcome: 'revoked', reasons: ['deposit_not_paid_in_full'] });
    });

    it('2.2.2 deposit: balance counts events strictly before 2024-03-01T00:00:00+08:00', () => {
      const balance = depositBalanceAtClose(c, [
        deposit('paid', 9_000_000, '2023-12-10T00:00:00+08:00'),
        deposit('paid', 1_000_000, '2024-03-01T00:00:00+08:00'),
        deposit('deducted', 5, '2024-02-29T16:00:00Z'),
        deposit('paid', 7, '2024-02-29T15:59:59.999Z'),
      ]);
      expect(balance).toBe(9_000_007);
    });

    it.each([1.5, 0, -100, Number.NaN, 2 ** 53])('2.2.2 deposit: amountFen %s is rejected', (amountFen) => {
      expect(() => depositBalanceAtClose(c, [{ kind: 'paid', amountFen, atMs: EARLY }])).toThrow(/amountFen/);
    });
  });

  it('2.2.3 decision: every failing reason is listed, orders first', () => {
    const d = decide(c, { ...pass, paidOrders: 9_999, depositBalanceFen: 9_999_999 });
    expect(d).toMatchObject({ outcome: 'revoked', reasons: ['orders_below_threshold', 'deposit_not_paid_in_full'] });
    expect(d.clauses).toEqual(['1', '2.1', '2.2.1', '2.2.2', '2.2.3', '3']);
    expect(decide(c, pass)).toMatchObject({ outcome: 'retained', reasons: [], clauses: ['1', '2.1', '2.2.1', '2.2.2', '2.2.3'] });
    expect(() => decide(c, { ...pass, paidOrders: 1.5 })).toThrow(/paidOrders/);
    expect(() => decide(c, { ...pass, depositBalanceFen: 0.5 })).toThrow(/depositBalanceFen/);
  });

  it('3 decision date: the notice date is 2024-03-01 unless the campaign sets another, and re-runs keep it', () => {
    expect(decide(c, { ...pass, paidOrders: 0 }).noticeDate).toBe('2024-03-01');
    const later = { ...c, noticeDate: '2024-03-05' };
    expect(decide(later, { ...pass, paidOrders: 0 })).toMatchObject({ noticeDate: '2024-03-05', reapplyFrom: '2024-06-03' });
  });

  it('3 90 days: reapplyFrom = noticeDate + 90 days = 2024-05-30', () => {
    expect(reapplyFrom('2024-03-01', 90)).toBe('2024-05-30');
    expect(reapplyFrom('2024-03-01', 0)).toBe('2024-03-01');
    expect(() => reapplyFrom('2024-03-01', -1)).toThrow(RangeError);
  });

  it('evaluation time: the period is closed from 2024-03-01T00:00:00+08:00 on, earlier runs are previews', () => {
    expect(isPeriodClosed(c, at('2024-02-29T23:59:59.999+08:00'))).toBe(false);
    expect(isPeriodClosed(c, at('2024-03-01T00:00:00+08:00'))).toBe(true);
    expect(isPeriodClosed(c, at('2024-03-02T09:00:00+08:00'))).toBe(true);
    expect(isPeriodClosed(c, at('2023-12-15T09:00:00+08:00'))).toBe(false);
  });

  it('2.3 data authority: the same events in any order and repeated give the same figures', () => {
    const events = [bind('p1', 's1', 'started', '2023-12-05T00:00:00+08:00'), bind('p1', 's1', 'ended', '2024-01-05T00:00:00+08:00'), bind('p1', 's1', 'started', '2024-02-01T00:00:00+08:00')];
    const reordered = [events[2]!, events[1]!, events[0]!, events[1]!, events[2]!];
    expect(bindingIntervals(reordered)).toEqual(bindingIntervals(events));
    expect(intervalsFor(bindingIntervals(reordered), 'p1', 's1')).toEqual([
      { startMs: at('2023-12-05T00:00:00+08:00'), endMs: at('2024-01-05T00:00:00+08:00') },
      { startMs: at('2024-02-01T00:00:00+08:00'), endMs: Infinity },
    ]);
  });
});
