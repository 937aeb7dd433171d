/**
 * RULES.md "Seasons after the first": certification across seasons, regularized across seasons,
 * closed seasons stay closed, order of evaluation. Literal cases, and a property test of the scope
 * rule against a reference written here from the RULES.md sentence.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { certificationInForce, earlierCampaigns, latestMark, seasonEligibility, type ProfileVersion, type Revocation } from '#shared/rules/index.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';
import { RENEWAL_2027 } from '../support/campaigns.ts';

const ms = (s: string) => Date.parse(s);
const v = (certifiedAt: string, regularizedAt?: string): ProfileVersion => ({ certifiedAtMs: ms(certifiedAt), ...(regularizedAt ? { regularizedAtMs: ms(regularizedAt) } : {}) });
const revoked2024: Revocation = { campaignId: 'renewal-2024', noticeDate: '2024-03-01', revision: 1 };
const OLD = v('2023-01-01T00:00:00+08:00', '2023-02-01T00:00:00+08:00');

describe('certification across seasons', () => {
  it('revoked in 2024 and never certified again: not in scope of 2027', () => {
    expect(seasonEligibility(RENEWAL_2027, [OLD], [revoked2024]).eligibility).toEqual({ assessed: false, reason: 'not_in_scope', clause: '1' });
  });

  it('certified again after the revocation (a later certifiedAt): in scope, assessed on that version', () => {
    const again = v('2024-06-15T09:00:00+08:00', '2024-08-01T00:00:00+08:00');
    const r = seasonEligibility(RENEWAL_2027, [OLD, again], [revoked2024]);
    expect(r.eligibility).toEqual({ assessed: true });
    expect(r.version).toEqual(again);
  });

  it('certified again but still on probation at the cut: not_regularized', () => {
    const again = v('2024-06-15T09:00:00+08:00');
    expect(seasonEligibility(RENEWAL_2027, [OLD, again], [revoked2024]).eligibility).toEqual({ assessed: false, reason: 'not_regularized', clause: '2.1' });
  });

  it('retained in 2024 (no revocation): in scope of 2027 on the old certification', () => {
    expect(seasonEligibility(RENEWAL_2027, [OLD], []).eligibility).toEqual({ assessed: true });
  });

  it('certified again exactly at the cut of 2027 (2026-12-01 00:00 China time): not before the cut, so not in scope', () => {
    expect(seasonEligibility(RENEWAL_2027, [OLD, v('2026-12-01T00:00:00+08:00', '2026-12-01T00:00:00+08:00')], [revoked2024]).eligibility.assessed).toBe(false);
    expect(seasonEligibility(RENEWAL_2027, [OLD, v('2026-11-30T23:59:59.999+08:00', '2026-11-30T23:59:59.999+08:00')], [revoked2024]).eligibility).toEqual({ assessed: true });
  });

  it('a certifiedAt at the very instant of the revocation (2024-03-01 00:00 China time) is ended by it', () => {
    expect(seasonEligibility(RENEWAL_2027, [OLD, v('2024-03-01T00:00:00+08:00', '2024-03-02T00:00:00+08:00')], [revoked2024]).eligibility.assessed).toBe(false);
    expect(seasonEligibility(RENEWAL_2027, [OLD, v('2024-03-01T00:00:00.001+08:00', '2024-03-02T00:00:00+08:00')], [revoked2024]).eligibility).toEqual({ assessed: true });
  });

  it('the latest-arrived version with the certification in force decides regularization', () => {
    const probation = v('2023-01-01T00:00:00+08:00');
    // The same certifiedAt seen twice, regularized in the later version: assessed.
    expect(seasonEligibility(RENEWAL_2024, [probation, OLD], []).eligibility).toEqual({ assessed: true });
    // And the other way round: the latest version says on probation.
    expect(seasonEligibility(RENEWAL_2024, [OLD, probation], []).eligibility).toEqual({ assessed: false, reason: 'not_regularized', clause: '2.1' });
  });
});

describe('closed seasons stay closed', () => {
  it('a later profile version and a later revocation never change renewal-2024', () => {
    const later = [OLD, v('2024-06-15T09:00:00+08:00', '2024-08-01T00:00:00+08:00')];
    const revoked2027: Revocation = { campaignId: 'renewal-2027', noticeDate: '2027-03-01', revision: 1 };
    expect(seasonEligibility(RENEWAL_2024, later, [revoked2024, revoked2027])).toEqual(seasonEligibility(RENEWAL_2024, [OLD], []));
    expect(certificationInForce(RENEWAL_2024, later, [revoked2024])).toEqual(OLD);
  });

  it('only campaigns whose notice date lies before the cut are read', () => {
    expect(earlierCampaigns(RENEWAL_2027, [RENEWAL_2024, RENEWAL_2027]).map((c) => c.campaignId)).toEqual(['renewal-2024']);
    expect(earlierCampaigns(RENEWAL_2024, [RENEWAL_2024, RENEWAL_2027])).toEqual([]);
  });
});

describe('latestMark', () => {
  it('at one instant the end is the later mark, in either order', () => {
    expect(
      latestMark([
        { kind: 'start', atMs: 5 },
        { kind: 'end', atMs: 5 },
      ])?.kind,
    ).toBe('end');
    expect(
      latestMark([
        { kind: 'end', atMs: 5 },
        { kind: 'start', atMs: 5 },
      ])?.kind,
    ).toBe('end');
    expect(latestMark([])).toBeUndefined();
  });
});

// ---- property: the scope rule against a reference of its own --------------------------------------

/** 2026-12-01 00:00 China time, the 2027 cut, as a literal. */
const CUT = Date.parse('2026-11-30T16:00:00Z');
const DAY = 86_400_000;

/**
 * RULES.md, in the plainest terms: walk the starts and ends before the cut in time order (an end after
 * a start at the same instant); the provider is certified at the cut iff the last step was a start.
 */
function referenceInScope(starts: number[], endDates: string[]): boolean {
  const ends = endDates.map((d) => Date.parse(`${d}T00:00:00+08:00`));
  const steps = [...starts.map((t) => ({ t, start: true })), ...ends.map((t) => ({ t, start: false }))].filter((s) => s.t < CUT).sort((a, b) => a.t - b.t || Number(b.start) - Number(a.start));
  return steps.length > 0 && steps[steps.length - 1]!.start;
}

const date = fc.integer({ min: 0, max: 6 * 366 }).map((n) => new Date(Date.parse('2022-01-01T00:00:00Z') + n * DAY).toISOString().slice(0, 10));
/** Instants crowding the cut and the revocations' midnights. */
const instant = fc.oneof(
  fc.integer({ min: CUT - 3 * 366 * DAY, max: CUT + 30 * DAY }),
  fc.constantFrom(CUT - 1, CUT, CUT + 1),
  date.map((d) => Date.parse(`${d}T00:00:00+08:00`)),
);

describe('scope across seasons (property)', () => {
  it('in scope iff the latest start or end before the cut is a start, for any order of versions and revocations', () => {
    fc.assert(
      fc.property(fc.array(instant, { minLength: 1, maxLength: 6 }), fc.array(date, { maxLength: 4 }), (starts, ends) => {
        const versions = starts.map((t) => ({ certifiedAtMs: t, regularizedAtMs: t }));
        const revocations = ends.map((noticeDate, i) => ({ campaignId: `c${i}`, noticeDate, revision: 1 }));
        const got = seasonEligibility(RENEWAL_2027, versions, revocations).eligibility;
        expect(got.assessed || got.reason === 'not_regularized').toBe(referenceInScope(starts, ends));
        // Arrival order of versions and of revocations does not matter.
        const shuffled = seasonEligibility(RENEWAL_2027, [...versions].reverse(), [...revocations].reverse()).eligibility;
        expect(shuffled.assessed || shuffled.reason === 'not_regularized').toBe(referenceInScope(starts, ends));
      }),
      { numRuns: 500 },
    );
  });

  it('what happens at or after the cut never changes the answer', () => {
    fc.assert(
      fc.property(
        fc.array(instant, { minLength: 1, maxLength: 5 }),
        fc.array(date, { maxLength: 3 }),
        fc.array(fc.integer({ min: CUT, max: CUT + 900 * DAY }), { maxLength: 3 }),
        (starts, ends, later) => {
          const versions = starts.map((t) => ({ certifiedAtMs: t, regularizedAtMs: t }));
          const revocations = ends.map((noticeDate, i) => ({ campaignId: `c${i}`, noticeDate, revision: 1 }));
          const laterRevocations = later.map((t, i) => ({ campaignId: `l${i}`, noticeDate: new Date(t + 8 * 3_600_000).toISOString().slice(0, 10), revision: 1 }));
          const before = seasonEligibility(RENEWAL_2027, versions, revocations).eligibility;
          const after = seasonEligibility(RENEWAL_2027, [...versions, ...later.map((t) => ({ certifiedAtMs: t, regularizedAtMs: t }))], [...revocations, ...laterRevocations]).eligibility;
          expect(after).toEqual(before);
        },
      ),
      { numRuns: 300 },
    );
  });
});
