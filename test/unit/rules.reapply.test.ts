/**
 * RULES.md "re-application (3)" and clause 3 (原则上90天内不接受其申请): literal cases around the
 * re-apply instant, the latest revocation, certification again, exceptions and their withdrawal.
 */
import { describe, expect, it } from 'vitest';
import { reapplyStatus, type ExceptionRecord, type RevocationOfCampaign } from '#shared/rules/index.ts';

const ms = (s: string) => Date.parse(s);
const R2024: RevocationOfCampaign = { campaignId: 'renewal-2024', noticeDate: '2024-03-01', revision: 1, reapplyAfterDays: 90, utcOffsetMinutes: 480 };
const R2027: RevocationOfCampaign = { campaignId: 'renewal-2027', noticeDate: '2027-03-01', revision: 2, reapplyAfterDays: 90, utcOffsetMinutes: 480 };
/** 2024-05-30 00:00 China time: 2024-03-01 + 90 days. */
const FROM_2024 = '2024-05-29T16:00:00.000Z';
const BASIS_2024 = { campaignId: 'renewal-2024', noticeDate: '2024-03-01', revision: 1 };
const OLD_CERT = [ms('2023-01-01T00:00:00+08:00')];
const grant = (at: string, reason = 'platform review: appeal upheld'): ExceptionRecord => ({ kind: 'granted', by: 'ops-li', at, reason });
const withdrawal = (at: string): ExceptionRecord => ({ kind: 'withdrawn', by: 'ops-wang', at, reason: 'appeal reversed' });
const check = (at: string, o: { revocations?: RevocationOfCampaign[]; certified?: number[]; exceptions?: ExceptionRecord[] } = {}) =>
  reapplyStatus({ atMs: ms(at), certifiedAtMs: o.certified ?? OLD_CERT, revocations: o.revocations ?? [R2024], exceptions: o.exceptions ?? [] });

describe('the 90-day bar', () => {
  it('one ms before 2024-05-30 00:00 China time: barred, from that instant, on the 2024 revocation', () => {
    expect(check('2024-05-29T15:59:59.999Z')).toEqual({ allowed: false, reapplyFrom: FROM_2024, basis: BASIS_2024 });
  });
  it('at 2024-05-30 00:00 China time: allowed, the revocation that barred it still named', () => {
    expect(check('2024-05-30T00:00:00+08:00')).toEqual({ allowed: true, reapplyFrom: FROM_2024, basis: BASIS_2024 });
  });
  it('no revocation: allowed, nothing else', () => {
    expect(check('2024-04-01T00:00:00Z', { revocations: [] })).toEqual({ allowed: true });
  });
  it('the latest revocation counts', () => {
    expect(check('2027-04-01T00:00:00+08:00', { revocations: [R2027, R2024] })).toEqual({
      allowed: false,
      reapplyFrom: '2027-05-29T16:00:00.000Z',
      basis: { campaignId: 'renewal-2027', noticeDate: '2027-03-01', revision: 2 },
    });
  });
  it('notice date on a month end, 30 days: 2025-01-31 + 30 = 2025-03-02', () => {
    const r = { ...R2024, noticeDate: '2025-01-31', reapplyAfterDays: 30 };
    expect(check('2025-03-01T23:59:59.999+08:00', { revocations: [r] }).allowed).toBe(false);
    expect(check('2025-03-02T00:00:00+08:00', { revocations: [r] })).toMatchObject({ allowed: true, reapplyFrom: '2025-03-01T16:00:00.000Z' });
  });
});

describe('certified again', () => {
  it('a certifiedAt after the revocation lifts the bar: allowed, no basis', () => {
    expect(check('2024-04-02T00:00:00+08:00', { certified: [...OLD_CERT, ms('2024-04-01T12:00:00+08:00')] })).toEqual({ allowed: true });
  });
  it('a certification dated after the instant asked about does not count yet', () => {
    expect(check('2024-03-31T00:00:00+08:00', { certified: [...OLD_CERT, ms('2024-04-01T12:00:00+08:00')] })).toMatchObject({ allowed: false, basis: BASIS_2024 });
  });
  it('certified again, then revoked again: the later revocation bars', () => {
    expect(check('2027-03-02T00:00:00+08:00', { revocations: [R2024, R2027], certified: [...OLD_CERT, ms('2024-06-01T00:00:00+08:00')] })).toMatchObject({
      allowed: false,
      basis: { campaignId: 'renewal-2027' },
    });
  });
});

describe('exceptions ("原则上")', () => {
  it('inside the bar with an exception: allowed, the exception returned to cite', () => {
    const e = grant('2024-03-10T02:00:00.000Z');
    expect(check('2024-04-01T00:00:00+08:00', { exceptions: [e] })).toEqual({
      allowed: true,
      reapplyFrom: FROM_2024,
      basis: BASIS_2024,
      exception: { by: 'ops-li', at: '2024-03-10T02:00:00.000Z', reason: 'platform review: appeal upheld' },
    });
  });
  it('before the exception was recorded it did not stand', () => {
    expect(check('2024-03-10T01:59:59.999Z', { exceptions: [grant('2024-03-10T02:00:00.000Z')] })).toEqual({ allowed: false, reapplyFrom: FROM_2024, basis: BASIS_2024 });
  });
  it('withdrawn: barred again from the withdrawal on; before it, still allowed', () => {
    const exceptions = [withdrawal('2024-03-20T00:00:00.000Z'), grant('2024-03-10T02:00:00.000Z')];
    expect(check('2024-03-25T00:00:00Z', { exceptions })).toEqual({ allowed: false, reapplyFrom: FROM_2024, basis: BASIS_2024 });
    expect(check('2024-03-19T23:59:59.999Z', { exceptions })).toMatchObject({ allowed: true, exception: { by: 'ops-li' } });
  });
  it('granted again after a withdrawal: stands again', () => {
    const exceptions = [grant('2024-03-10T02:00:00.000Z'), withdrawal('2024-03-20T00:00:00.000Z'), grant('2024-03-22T00:00:00.000Z', 'second review')];
    expect(check('2024-03-25T00:00:00Z', { exceptions })).toMatchObject({ allowed: true, exception: { reason: 'second review' } });
  });
  it('an exception recorded before a later revocation does not lift the later bar', () => {
    expect(
      check('2027-04-01T00:00:00+08:00', { revocations: [R2024, R2027], certified: [...OLD_CERT, ms('2024-06-01T00:00:00+08:00')], exceptions: [grant('2024-03-10T02:00:00.000Z')] }),
    ).toMatchObject({ allowed: false });
  });
  it('after the bar: allowed without citing the exception', () => {
    expect(check('2024-06-01T00:00:00+08:00', { exceptions: [grant('2024-03-10T02:00:00.000Z')] })).toEqual({ allowed: true, reapplyFrom: FROM_2024, basis: BASIS_2024 });
  });
});
