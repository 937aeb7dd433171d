/**
 * The re-application bar (clause 3: "原则上90天内不接受其申请"; RULES.md "re-application (3)"): may a
 * provider apply for certification at an instant? Pure: its certification starts, the campaigns'
 * current final revocations and the recorded exceptions are passed in.
 */
import { reapplyFrom as reapplyFromDate } from './rules.ts';
import { latestMark, revocationMs, type Revocation } from './seasons.ts';
import { localMidnightUtc, toUtcIso } from './time.ts';

/** A revocation with what its campaign says about re-applying. */
export interface RevocationOfCampaign extends Revocation {
  /** The campaign's `reapplyAfterDays` (clause 3: 90 for renewal-2024). */
  reapplyAfterDays: number;
  /** The campaign's UTC offset (China time). */
  utcOffsetMinutes: number;
}

/**
 * One record of the exception ledger: `granted` opens an exception ("in principle" lets ops admit an
 * application inside the bar), `withdrawn` ends the one that stands. Records are never deleted.
 */
export interface ExceptionRecord {
  kind: 'granted' | 'withdrawn';
  by: string;
  /** When it was recorded (UTC ISO-8601). */
  at: string;
  reason: string;
}

/** The answer of `renewal reapply check --json` (OPS.md), less the provider id and instant. */
export interface ReapplyStatus {
  allowed: boolean;
  /** The instant the bar ends: the notice date + `reapplyAfterDays`, 00:00 China time (UTC ISO-8601). */
  reapplyFrom?: string;
  /** The revocation that bars or barred the provider. */
  basis?: Pick<Revocation, 'campaignId' | 'noticeDate' | 'revision'>;
  /** The exception that lets a barred provider apply, to cite in its application. */
  exception?: Pick<ExceptionRecord, 'by' | 'at' | 'reason'>;
}

export interface ReapplyInput {
  atMs: number;
  /** Every `certifiedAt` of any version of the provider's profile (epoch ms). */
  certifiedAtMs: readonly number[];
  /** Every campaign's current final decision that is `revoked`. */
  revocations: readonly RevocationOfCampaign[];
  /** The provider's exception ledger, in any order. */
  exceptions: readonly ExceptionRecord[];
}

/** The instant a revocation's bar ends: `noticeDate + reapplyAfterDays` at 00:00 China time. */
export function reapplyFromMs(r: RevocationOfCampaign): number {
  return localMidnightUtc(reapplyFromDate(r.noticeDate, r.reapplyAfterDays), r.utcOffsetMinutes);
}

/**
 * The exception standing at `atMs` against a bar that began at `barFromMs`: the latest record made at
 * or before `atMs` is a grant, made at or after the bar began. An exception answers the bar in force
 * when it was recorded; a later revocation brings a new bar, which an older exception does not lift.
 */
export function standingException(exceptions: readonly ExceptionRecord[], atMs: number, barFromMs: number): ExceptionRecord | undefined {
  let latest: ExceptionRecord | undefined;
  let latestMs = -Infinity;
  for (const e of exceptions) {
    const ms = Date.parse(e.at);
    // At one instant a withdrawal is the later record.
    if (ms <= atMs && (ms > latestMs || (ms === latestMs && e.kind === 'withdrawn'))) {
      latest = e;
      latestMs = ms;
    }
  }
  return latest?.kind === 'granted' && latestMs >= barFromMs ? latest : undefined;
}

/**
 * Clause 3 (RULES.md "re-application (3)"): the latest revocation counts (by notice date); a provider
 * certified again after it (a `certifiedAt` later than its notice instant, at or before `atMs`) is no
 * longer barred by it, and gets no basis. Otherwise it may apply from `reapplyFrom`; before that only
 * while an exception stands, which the answer carries.
 */
export function reapplyStatus(input: ReapplyInput): ReapplyStatus {
  let latest: RevocationOfCampaign | undefined;
  for (const r of input.revocations) {
    const ms = revocationMs(r, r.utcOffsetMinutes);
    if (!latest || ms > revocationMs(latest, latest.utcOffsetMinutes) || (ms === revocationMs(latest, latest.utcOffsetMinutes) && reapplyFromMs(r) > reapplyFromMs(latest))) latest = r;
  }
  if (!latest) return { allowed: true };
  const endMs = revocationMs(latest, latest.utcOffsetMinutes);
  const marks = [{ kind: 'end' as const, atMs: endMs }, ...input.certifiedAtMs.filter((ms) => ms <= input.atMs).map((atMs) => ({ kind: 'start' as const, atMs }))];
  if (latestMark(marks)?.kind === 'start') return { allowed: true };
  const fromMs = reapplyFromMs(latest);
  const status: ReapplyStatus = {
    allowed: input.atMs >= fromMs,
    reapplyFrom: toUtcIso(fromMs),
    basis: { campaignId: latest.campaignId, noticeDate: latest.noticeDate, revision: latest.revision },
  };
  if (status.allowed) return status;
  const exception = standingException(input.exceptions, input.atMs, endMs);
  return exception ? { ...status, allowed: true, exception: { by: exception.by, at: exception.at, reason: exception.reason } } : status;
}
