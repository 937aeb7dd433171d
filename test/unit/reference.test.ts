/**
 * The reference evaluator (test/support/reference.ts) is the tests' oracle: it must owe nothing to the
 * product, and say what RULES.md says on the cases RULES.md spells out.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { reference, referenceWindow, renewal2024 } from '../support/reference.ts';

const FILE = fileURLToPath(new URL('../support/reference.ts', import.meta.url));

describe('the reference owes nothing to the product', () => {
  it('imports no module at all: not shared/, functions/, cli/, nor anything else', () => {
    const info = ts.preProcessFile(readFileSync(FILE, 'utf8'), true, true);
    expect(info.importedFiles.map((f) => f.fileName)).toEqual([]);
    expect(info.referencedFiles).toEqual([]);
    expect(info.typeReferenceDirectives).toEqual([]);
  });

  it('the import check sees an import when there is one', () => {
    const info = ts.preProcessFile(`import { decide } from '#shared/rules/rules.ts';\nconst t = await import('../../shared/rules/time.ts');`, true, true);
    expect(info.importedFiles.map((f) => f.fileName)).toEqual(['#shared/rules/rules.ts', '../../shared/rules/time.ts']);
  });
});

const C = renewal2024(2);
/** A profile; `regularizedAt` null = still on probation. */
const provider = (providerId: string, certifiedAt = '2023-01-01T00:00:00+08:00', regularizedAt: string | null = '2023-02-01T00:00:00+08:00') => ({
  type: 'provider.upserted',
  providerId,
  name: providerId,
  email: `${providerId.toLowerCase()}@example.com`,
  certifiedAt,
  ...(regularizedAt ? { regularizedAt } : {}),
});
const bind = (providerId: string, storeId: string, at: string, type = 'binding.started') => ({ type, providerId, storeId, at });
const order = (orderId: string, storeId: string, paidAt: string, gift?: boolean) => ({ type: 'order.paid', orderId, storeId, paidAt, ...(gift !== undefined ? { gift } : {}) });
const paid = (paymentId: string, providerId: string, amountFen: unknown, paidAt: string) => ({ type: 'deposit.paid', paymentId, providerId, amountFen, paidAt });

describe('the reference on the cases RULES.md spells out', () => {
  it('the 2024 period is [2023-11-30T16:00:00Z, 2024-02-29T16:00:00Z); the cuts are 2023-11-30T16:00:00Z', () => {
    const w = referenceWindow(C);
    expect([w.startMs, w.endMs, w.certifiedBeforeMs, w.regularizedBeforeMs].map((ms) => new Date(ms).toISOString())).toEqual([
      '2023-11-30T16:00:00.000Z',
      '2024-02-29T16:00:00.000Z',
      '2023-11-30T16:00:00.000Z',
      '2023-11-30T16:00:00.000Z',
    ]);
  });

  it('counts distinct non-gift orders of bound stores in the half-open period; a balance at the close; reapplyFrom 2024-05-30', () => {
    const r = reference(C, [
      provider('P1'),
      bind('P1', 'S1', '2023-11-01T00:00:00Z'),
      order('O1', 'S1', '2023-11-30T16:00:00Z'), // in: first instant
      order('O2', 'S1', '2024-02-29T23:59:59.999+08:00'), // in: last instant
      order('O3', 'S1', '2024-03-01T00:00:00+08:00'), // out: the close
      order('O4', 'S1', '2024-01-01T00:00:00Z', true), // out: gift
      order('O1', 'S1', '2023-12-01T00:00:00+08:00'), // duplicate of O1 in another form
      order('O2', 'S1', '2024-01-01T00:00:00Z'), // conflict: the first stays
      paid('D1', 'P1', 9_999_999, '2023-12-01T00:00:00+08:00'),
      paid('D2', 'P1', 1, '2024-03-01T00:00:00+08:00'), // at the close: too late
    ]);
    expect(r.decisions).toEqual([
      {
        providerId: 'P1',
        outcome: 'revoked',
        reasons: ['deposit_not_paid_in_full'],
        clauses: ['1', '2.1', '2.2.1', '2.2.2', '2.2.3', '3'],
        paidOrders: 2,
        depositBalanceFen: 9_999_999,
        thresholdOrders: 2,
        depositRequiredFen: 10_000_000,
        noticeDate: '2024-03-01',
        reapplyFrom: '2024-05-30',
      },
    ]);
    expect(r.duplicates).toEqual([6]);
    expect(r.rejected).toEqual([{ index: 7, field: 'conflict' }]);
  });

  it('scope before regularization; the cut instant itself is not before it', () => {
    const r = reference(C, [
      provider('A', '2023-12-01T00:00:00+08:00'),
      provider('B', '2023-11-30T23:59:59+08:00', null),
      provider('C', '2023-06-01T00:00:00Z', '2023-11-30T16:00:00Z'),
      provider('D', '2023-06-01T00:00:00Z', '2023-11-30T15:59:59Z'),
    ]);
    expect(r.decisions.map((d) => [d.providerId, d.outcome, ...d.reasons])).toEqual([
      ['A', 'not_assessed', 'not_in_scope'],
      ['B', 'not_assessed', 'not_regularized'],
      ['C', 'not_assessed', 'not_regularized'],
      ['D', 'revoked', 'orders_below_threshold', 'deposit_not_paid_in_full'],
    ]);
  });

  it('a binding covers [start, end); a re-bind at the end instant leaves no gap; a shared store counts for both', () => {
    const r = reference(renewal2024(1), [
      provider('P1'),
      provider('P2'),
      bind('P1', 'S1', '2023-12-10T00:00:00Z'),
      bind('P1', 'S1', '2023-12-20T00:00:00Z', 'binding.ended'),
      bind('P2', 'S1', '2023-12-20T00:00:00Z', 'binding.ended'), // an end with no start: covers nothing
      bind('P2', 'S1', '2023-12-15T00:00:00Z'),
      order('O1', 'S1', '2023-12-09T23:59:59.999Z'), // before P1's start
      order('O2', 'S1', '2023-12-15T00:00:00Z'), // both
      order('O3', 'S1', '2023-12-20T00:00:00Z'), // neither: both ended here
      bind('P1', 'S2', '2023-12-01T00:00:00Z'),
      bind('P1', 'S2', '2024-01-01T00:00:00Z', 'binding.ended'),
      bind('P1', 'S2', '2024-01-01T00:00:00Z'),
      order('O4', 'S2', '2024-01-01T00:00:00Z'), // P1: re-bound at the same instant
    ]);
    expect(r.decisions.map((d) => [d.providerId, d.paidOrders])).toEqual([
      ['P1', 2],
      ['P2', 1],
    ]);
  });

  it('rejects what the contract rejects, naming the field; the latest new profile wins', () => {
    const r = reference(C, [
      '{"type":"order.paid","orderId":"X","storeId":"S1","paidAt":"2023-12-05T10:00:00"}',
      '{"type":"order.paid","orderId":"X","storeId":"S1","paidAt":"2023-02-29T10:00:00Z"}',
      '{"type":"order.paid","orderId":"X Y","storeId":"S1","paidAt":"2023-12-05T10:00:00Z"}',
      paid('D1', 'P1', 100.5, '2023-12-05T10:00:00Z'),
      paid('D1', 'P1', '100', '2023-12-05T10:00:00Z'),
      paid('D1', 'P1', -1, '2023-12-05T10:00:00Z'),
      { ...order('X', 'S1', '2023-12-05T10:00:00Z'), coupon: 'c' },
      '{"type":"order.paid",',
      null,
      provider('P1'),
      provider('P1', '2023-12-01T00:00:00+08:00'), // a newer version: out of scope
      provider('P1'), // the older version redelivered: a duplicate, the newer stays
    ]);
    expect(r.rejected).toEqual([
      { index: 0, field: 'paidAt' },
      { index: 1, field: 'paidAt' },
      { index: 2, field: 'orderId' },
      { index: 3, field: 'amountFen' },
      { index: 4, field: 'amountFen' },
      { index: 5, field: 'amountFen' },
      { index: 6, field: 'coupon' },
      { index: 7, field: '(body)' },
      { index: 8, field: '(body)' },
    ]);
    expect(r.duplicates).toEqual([11]);
    expect(r.decisions.map((d) => d.reasons)).toEqual([['not_in_scope']]);
  });

  it('takes any campaign as data: a period across a new year, the re-apply date across month ends', () => {
    const c = {
      ...renewal2024(1),
      periodStartDate: '2026-12-01',
      periodEndDate: '2027-02-28',
      certifiedBeforeDate: '2026-12-01',
      regularizedBeforeDate: '2026-12-01',
      noticeDate: '2027-03-01',
      depositRequiredFen: 20_000_000,
    };
    expect(new Date(referenceWindow(c).endMs).toISOString()).toBe('2027-02-28T16:00:00.000Z');
    const r = reference(c, [provider('P1'), bind('P1', 'S1', '2026-01-01T00:00:00Z'), order('O1', 'S1', '2027-02-28T23:59:59+08:00'), paid('D1', 'P1', 20_000_000, '2027-02-28T15:59:59Z')]);
    expect(r.decisions[0]).toMatchObject({ outcome: 'retained', paidOrders: 1, depositBalanceFen: 20_000_000 });
    expect(reference({ ...c, thresholdOrders: 2 }, [provider('P1')]).decisions[0]!.reapplyFrom).toBe('2027-05-30');
  });
});
