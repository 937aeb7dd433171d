import { randomUUID } from 'node:crypto';
import type { Campaign } from '../rules/campaign.ts';
import { reapplyStatus, standingException, type ReapplyStatus, type RevocationOfCampaign } from '../rules/reapply.ts';
import { parseInstant, toUtcIso } from '../rules/time.ts';
import { uses, type Needs } from '../store/access.ts';
import { DECISIONS_ACCESS } from '../store/decisions.ts';
import { EXCEPTIONS_ACCESS, type StoredExceptionRecord } from '../store/exceptions.ts';
import { SOURCE_ACCESS } from '../store/source.ts';
import { BadInputError } from '#shared/errors.ts';

/**
 * The re-application check (clause 3, RULES.md "re-application (3)"), for ops and for the
 * certification process that takes applications: may a provider apply at an instant, from when, on
 * which campaign's revocation, under which exception. And the exception ledger ops write to.
 */

/** What the check uses of each store: the reapply function's IAM policy is derived from this. */
export const REAPPLY_SOURCE = uses(SOURCE_ACCESS, ['profilesOf']);
export const REAPPLY_DECISIONS = uses(DECISIONS_ACCESS, ['currentOf']);
export const REAPPLY_EXCEPTIONS = uses(EXCEPTIONS_ACCESS, ['of']);
export const REAPPLY_NEEDS = [REAPPLY_SOURCE, REAPPLY_DECISIONS, REAPPLY_EXCEPTIONS];
/** What recording an exception uses (`renewal reapply except`, with ops' own credentials on AWS). */
export const REAPPLY_EXCEPT = uses(EXCEPTIONS_ACCESS, ['of', 'add']);
export const REAPPLY_EXCEPT_NEEDS = [REAPPLY_EXCEPT];

export interface ReapplyDeps {
  source: Needs<typeof REAPPLY_SOURCE>;
  decisions: Needs<typeof REAPPLY_DECISIONS>;
  exceptions: Needs<typeof REAPPLY_EXCEPTIONS>;
  /** Every campaign the deployment knows (the campaign registry): each one's revocations count. */
  campaigns: () => readonly Campaign[];
  now: () => Date;
}

/** `renewal reapply check --json` and the reapply function's answer (OPS.md). */
export type ReapplyCheck = { providerId: string; at: string } & ReapplyStatus;

/** A request the ledger refuses (nothing to withdraw): bad input, exit 2. */
export class ReapplyRequestError extends BadInputError {
  override name = 'ReapplyRequestError';
}

/**
 * May `providerId` apply for certification at `at` (default now)? Reads the provider's profile (every
 * `certifiedAt` seen), its current decision in every known campaign (one BatchGetItem each) and its
 * exception ledger (one Query).
 */
export async function checkReapply(deps: ReapplyDeps, req: { providerId: string; at?: string }): Promise<ReapplyCheck> {
  const atMs = req.at !== undefined ? parseInstant(req.at) : deps.now().getTime();
  if (atMs === undefined) throw new ReapplyRequestError('at: must be an ISO-8601 instant with an offset (Z or +08:00)');
  const campaigns = deps.campaigns();
  const [profiles, decided, exceptions] = await Promise.all([
    deps.source.profilesOf([req.providerId]),
    Promise.all(campaigns.map((c) => deps.decisions.currentOf(c.campaignId, [req.providerId]).then((ds) => ds.map((d) => ({ c, d }))))),
    deps.exceptions.of(req.providerId),
  ]);
  const revocations: RevocationOfCampaign[] = decided
    .flat()
    .filter(({ d }) => d.final && d.outcome === 'revoked' && d.noticeDate)
    .map(({ c, d }) => ({ campaignId: c.campaignId, noticeDate: d.noticeDate!, revision: d.revision, reapplyAfterDays: c.reapplyAfterDays, utcOffsetMinutes: c.utcOffsetMinutes }));
  const certifiedAtMs = (profiles[0]?.versions ?? []).map((v) => Date.parse(v.certifiedAt));
  return { providerId: req.providerId, at: toUtcIso(atMs), ...reapplyStatus({ atMs, certifiedAtMs, revocations, exceptions }) };
}

export interface ExceptRequest {
  providerId: string;
  by: string;
  reason: string;
  /** Record a withdrawal of the exception that stands, instead of a grant. */
  withdraw?: boolean;
}

/**
 * Records an exception to the 90-day bar, or its withdrawal, as a new record of the ledger (never an
 * update: RULES.md "Exceptions are never deleted; withdrawing one is a new record"). A withdrawal
 * needs an exception that stands; a grant is recorded whatever the bar, and answers the bar in force
 * at the instant it is recorded.
 */
export async function recordException(deps: { exceptions: Needs<typeof REAPPLY_EXCEPT>; now: () => Date }, req: ExceptRequest): Promise<StoredExceptionRecord> {
  const at = toUtcIso(deps.now().getTime());
  if (req.withdraw) {
    const stands = standingException(await deps.exceptions.of(req.providerId), Date.parse(at), -Infinity);
    if (!stands) throw new ReapplyRequestError(`provider ${req.providerId} has no exception that stands: nothing to withdraw`);
  }
  const record: StoredExceptionRecord = { providerId: req.providerId, recordId: randomUUID(), kind: req.withdraw ? 'withdrawn' : 'granted', by: req.by, at, reason: req.reason };
  if (!(await deps.exceptions.add(record))) throw new Error(`exception record ${record.recordId} exists already`);
  return record;
}
