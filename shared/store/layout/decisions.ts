/**
 * The `decisions` table's key layout, in one place (what the items hold is `../decisions.ts`):
 *
 * | item              | pk                            | sk                      |
 * |-------------------|-------------------------------|-------------------------|
 * | current decision  | `CUR#<campaign>`              | `<providerId>`          |
 * | every revision    | `REV#<campaign>#<providerId>` | `<revision, 6 digits>`  |
 * | latest preview    | `PRE#<campaign>`              | `<providerId>`          |
 * | run log           | `RUNS#<campaign>`             | `<startedAt>#<runId>`   |
 * | notice version    | `NOTICE#<campaign>`           | `<version, 6 digits>`   |
 * | re-apply exception| `REAPPLY#<providerId>`        | `<at>#<recordId>`       |
 *
 * Numbers are zero-padded so that sk order is number order: a Query reads revisions oldest first and
 * the newest notice version with `Limit: 1` backwards. Re-application exceptions (clause 3) are a
 * provider's, not a campaign's: one partition per provider, its records in the order they were made. Items carry their own fields (campaignId,
 * providerId, revision, …); nothing parses these keys back.
 */

/** A revision or version number as a sort key: six digits, so string order is number order up to 999,999. */
const seq = (n: number) => String(n).padStart(6, '0');

export const currentPk = (campaignId: string) => `CUR#${campaignId}`;
export const currentKey = (campaignId: string, providerId: string) => ({ pk: currentPk(campaignId), sk: providerId });

export const revisionsPk = (campaignId: string, providerId: string) => `REV#${campaignId}#${providerId}`;
export const revisionKey = (campaignId: string, providerId: string, revision: number) => ({ pk: revisionsPk(campaignId, providerId), sk: seq(revision) });

export const previewPk = (campaignId: string) => `PRE#${campaignId}`;
export const previewKey = (campaignId: string, providerId: string) => ({ pk: previewPk(campaignId), sk: providerId });

export const runsPk = (campaignId: string) => `RUNS#${campaignId}`;
export const runKey = (campaignId: string, startedAt: string, runId: string) => ({ pk: runsPk(campaignId), sk: `${startedAt}#${runId}` });

export const noticesPk = (campaignId: string) => `NOTICE#${campaignId}`;
export const noticeKey = (campaignId: string, version: number) => ({ pk: noticesPk(campaignId), sk: seq(version) });

export const reapplyExceptionsPk = (providerId: string) => `REAPPLY#${providerId}`;
/** A record of the exception ledger: recorded at `at` (UTC ISO-8601, so sk order is time order), never overwritten. */
export const reapplyExceptionKey = (providerId: string, at: string, recordId: string) => ({ pk: reapplyExceptionsPk(providerId), sk: `${at}#${recordId}` });
