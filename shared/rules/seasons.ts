/**
 * Seasons after the first (RULES.md, "Seasons after the first"): which providers a campaign assesses
 * once earlier campaigns have revoked some. Pure: the profile versions and the earlier revocations are
 * passed in, as instants. A campaign's decision depends only on the certification starts and ends
 * before its cuts, so a later profile or revocation never changes a closed campaign's decision.
 */
import type { Campaign } from './campaign.ts';
import { eligibility, type Eligibility } from './rules.ts';
import { localMidnightUtc } from './time.ts';

/** One version of a provider's profile as it bears on certification, in the order the versions arrived. */
export interface ProfileVersion {
  certifiedAtMs: number;
  /** Absent: still on probation in that version. */
  regularizedAtMs?: number;
}

/** A final `revoked` decision of some campaign: the certification it ends ends at its notice date (clause 3, "自公示之日起"). */
export interface Revocation {
  campaignId: string;
  /** The decision's notice date (公示之日), a China-time calendar date. */
  noticeDate: string;
  /** The revision of that campaign's decision that is current. */
  revision: number;
}

/** A start (a `certifiedAt`) or an end (a revocation's notice instant) of a provider's certification. */
export interface CertificationMark {
  kind: 'start' | 'end';
  atMs: number;
}

/** The instant a revocation takes effect: 00:00 China time on its notice date (clause 3, "自公示之日起"). */
export function revocationMs(r: Pick<Revocation, 'noticeDate'>, utcOffsetMinutes: number): number {
  return localMidnightUtc(r.noticeDate, utcOffsetMinutes);
}

/**
 * The latest of these marks, or undefined when there are none (RULES.md "certification across
 * seasons"). At one instant an end is later than a start: a revocation in effect from that instant
 * ends whatever certification holds at it, a `certifiedAt` of that very instant included.
 */
export function latestMark(marks: readonly CertificationMark[]): CertificationMark | undefined {
  let latest: CertificationMark | undefined;
  for (const m of marks) {
    if (!latest || m.atMs > latest.atMs || (m.atMs === latest.atMs && m.kind === 'end')) latest = m;
  }
  return latest;
}

/** Every certification start and end of a provider: each `certifiedAt` of any version, each revocation's notice instant. */
export function certificationMarks(versions: readonly ProfileVersion[], revocations: readonly Revocation[], utcOffsetMinutes: number): CertificationMark[] {
  return [...versions.map((v) => ({ kind: 'start' as const, atMs: v.certifiedAtMs })), ...revocations.map((r) => ({ kind: 'end' as const, atMs: revocationMs(r, utcOffsetMinutes) }))];
}

/**
 * Clause 1 across seasons: in scope of `c` iff, among the provider's certification starts and ends
 * strictly before `c`'s `certifiedBeforeDate` cut, the latest is a start. Then the version that carries
 * the certification in force: the latest-arrived version with that `certifiedAt`.
 */
export function certificationInForce(c: Campaign, versions: readonly ProfileVersion[], revocations: readonly Revocation[]): ProfileVersion | undefined {
  const cut = localMidnightUtc(c.certifiedBeforeDate, c.utcOffsetMinutes);
  const before = certificationMarks(versions, revocations, c.utcOffsetMinutes).filter((m) => m.atMs < cut);
  const latest = latestMark(before);
  if (latest?.kind !== 'start') return undefined;
  return versions.findLast((v) => v.certifiedAtMs === latest.atMs);
}

/**
 * Clauses 1 and 2.1 across seasons (RULES.md "certification across seasons", "regularized across
 * seasons"): `not_in_scope` unless a certification is in force at `c`'s cut; then assessed iff the
 * version carrying it was regularized before `c`'s `regularizedBeforeDate` cut. Returns the version
 * the decision is made on, when there is one. With one version and no revocation this is `eligibility`.
 */
export function seasonEligibility(c: Campaign, versions: readonly ProfileVersion[], revocations: readonly Revocation[]): { eligibility: Eligibility; version?: ProfileVersion } {
  const version = certificationInForce(c, versions, revocations);
  if (!version) return { eligibility: { assessed: false, reason: 'not_in_scope', clause: '1' } };
  return { eligibility: eligibility(c, version), version };
}

/**
 * The campaigns whose revocations can bear on `c`'s scope: those whose notice date lies strictly
 * before `c`'s certification cut (RULES.md "order of evaluation": later campaigns read earlier ones'
 * current final decisions). `c` itself and every later campaign are left out, which is what keeps a
 * closed campaign closed.
 */
export function earlierCampaigns(c: Campaign, known: readonly Campaign[]): Campaign[] {
  const cut = localMidnightUtc(c.certifiedBeforeDate, c.utcOffsetMinutes);
  return known.filter((k) => k.campaignId !== c.campaignId && localMidnightUtc(k.noticeDate, k.utcOffsetMinutes) < cut);
}
