import { noticeJson, noticeCsv } from '../notice/files.ts';
import { renderNoticePage } from '../notice/page.ts';
import { noticeEntries, nextNoticeVersion, type NoticeVersion } from '../notice/versions.ts';
import { noticePublicationMs, type Campaign } from '../rules/campaign.ts';
import { toUtcIso } from '../rules/time.ts';
import { uses, type Needs } from '../store/access.ts';
import { DECISIONS_ACCESS, type StoredNoticeVersion } from '../store/decisions.ts';
import { NOTICE_BUCKET_ACCESS, noticePageUrl, type NoticeFiles } from '../store/notice-bucket.ts';

/**
 * Publication of the public delisting notice (RULES.md clause 3): from the current final decisions,
 * the next numbered version when the list changed, written to the bucket with `latest/` pointing at
 * it. Run by the one-time schedule on the notice date and by the evaluation when a final revision
 * changed the list; safe to run again or twice at once:
 *
 * - the same list publishes nothing (no ledger write, no object written);
 * - a version number is claimed with a conditional put in the ledger (decisions table), so two runs
 *   never publish two different lists under one number;
 * - files are rendered from the ledger entry alone, so a run that finishes another's version writes
 *   the same bytes; a version whose files were never marked written (a run that died) is written by
 *   the next run;
 * - `latest/` is written last, then checked against the ledger's newest, so a slow run cannot leave
 *   an older version there.
 */

/** What publication uses of each store: the publish function's IAM policy is derived from this. */
export const PUBLISH_DECISIONS = uses(DECISIONS_ACCESS, ['current', 'latestNotice', 'addNoticeVersion', 'markNoticeWritten']);
export const PUBLISH_BUCKET = uses(NOTICE_BUCKET_ACCESS, ['putVersion', 'putLatest']);
export const PUBLISH_NEEDS = [PUBLISH_DECISIONS, PUBLISH_BUCKET];

export interface PublishDeps {
  decisions: Needs<typeof PUBLISH_DECISIONS>;
  bucket: Needs<typeof PUBLISH_BUCKET>;
  now: () => Date;
  settings: PublishSettings;
}

export interface PublishSettings {
  /** Public base URL the files are read under (CloudFront, or the local S3 server's bucket URL). */
  publicBaseUrl: string;
  /** Where objections go (RULES.md clause 3). */
  feedbackMailbox: string;
}

export type PublishStatus =
  /** A new version was published. */
  | 'published'
  /** The list is the one published already: nothing written. */
  | 'unchanged'
  /** The newest version's files had not been written (a run died): written now. */
  | 'completed'
  /** Before the notice's publication time (the notice date at its hour): nothing written. */
  | 'not_yet'
  /** No final decisions yet: nothing to publish. */
  | 'no_final_decisions';

export interface PublishResult {
  campaignId: string;
  status: PublishStatus;
  /** The newest published version (0: none). */
  version: number;
  publishedAt?: string;
  /** The stable address of the newest version. */
  url: string;
  providers: number;
  corrections: number;
  /** Object keys written by this run. */
  written: string[];
  /** With `not_yet`: when the notice is first published. */
  publishFrom?: string;
}

export async function publish(campaign: Campaign, deps: PublishDeps): Promise<PublishResult> {
  const now = deps.now();
  const url = noticePageUrl(deps.settings.publicBaseUrl, campaign.campaignId, 'latest');
  const base = { campaignId: campaign.campaignId, url, written: [] as string[] };
  const publishFromMs = noticePublicationMs(campaign);
  if (now.getTime() < publishFromMs) {
    const latest = await deps.decisions.latestNotice(campaign.campaignId);
    return { ...base, status: 'not_yet', version: latest?.version ?? 0, providers: latest?.providers.length ?? 0, corrections: latest?.corrections.length ?? 0, publishFrom: toUtcIso(publishFromMs) };
  }
  const decisions = await deps.decisions.current(campaign.campaignId);
  if (!decisions.some((d) => d.final)) return { ...base, status: 'no_final_decisions', version: 0, providers: 0, corrections: 0 };
  const entries = noticeEntries(decisions);

  let status: PublishStatus;
  let target: StoredNoticeVersion;
  for (;;) {
    const latest = await deps.decisions.latestNotice(campaign.campaignId);
    const next = nextNoticeVersion(latest, entries, campaign.campaignId, now.toISOString());
    if (!next) {
      target = latest!;
      status = latest!.writtenAt ? 'unchanged' : 'completed';
      break;
    }
    if (await deps.decisions.addNoticeVersion(next)) {
      target = next;
      status = 'published';
      break;
    }
    // Another publication took this number first: judge the list against what it published.
  }

  const written: string[] = [];
  if (!target.writtenAt) {
    written.push(...(await deps.bucket.putVersion(campaign.campaignId, target.version, files(target, campaign, deps.settings))));
    written.push(...(await writeLatest(campaign, deps, target)));
    await deps.decisions.markNoticeWritten(campaign.campaignId, target.version, deps.now().toISOString());
  }
  return {
    ...base,
    status,
    version: target.version,
    publishedAt: target.publishedAt,
    providers: target.providers.length,
    corrections: target.corrections.length,
    written,
  };
}

/** What reading the ledger for a pending version uses. */
export const PENDING_DECISIONS = uses(DECISIONS_ACCESS, ['latestNotice']);

/** A version the ledger claimed whose files were never written: a publication failed (or runs right now). */
export interface PendingNotice {
  version: number;
  /** When it was claimed (the version's `publishedAt`). */
  claimedAt: string;
  providers: number;
  corrections: number;
}

/**
 * The newest version of the notice ledger when its files are not written yet, else undefined. The
 * public reads the version before it until a publication (`publish`, here or by the next run)
 * writes it: files are rendered from the ledger entry alone.
 */
export async function pendingNotice(decisions: Needs<typeof PENDING_DECISIONS>, campaignId: string): Promise<PendingNotice | undefined> {
  const latest = await decisions.latestNotice(campaignId);
  if (!latest || latest.writtenAt) return undefined;
  return { version: latest.version, claimedAt: latest.publishedAt, providers: latest.providers.length, corrections: latest.corrections.length };
}

/**
 * Points `latest/` at the ledger's newest version, starting from `mine`. A newer version claimed
 * meanwhile wins: `latest/` is rewritten from it until the ledger's newest is what `latest/` holds.
 */
async function writeLatest(campaign: Campaign, deps: PublishDeps, mine: NoticeVersion): Promise<string[]> {
  const written: string[] = [];
  let v: NoticeVersion = mine;
  for (;;) {
    const newest = await deps.decisions.latestNotice(campaign.campaignId);
    if (newest && newest.version > v.version) v = newest;
    written.push(...(await deps.bucket.putLatest(campaign.campaignId, files(v, campaign, deps.settings))));
    const after = await deps.decisions.latestNotice(campaign.campaignId);
    if (!after || after.version <= v.version) return written;
    v = after;
  }
}

/** The three files of a version, from the ledger entry alone (the same bytes on every run). */
export function files(v: NoticeVersion, campaign: Campaign, settings: PublishSettings): NoticeFiles {
  const latestUrl = noticePageUrl(settings.publicBaseUrl, v.campaignId, 'latest');
  const versionUrl = noticePageUrl(settings.publicBaseUrl, v.campaignId, v.version);
  return {
    html: renderNoticePage(v, { campaign, feedbackMailbox: settings.feedbackMailbox }),
    json: `${JSON.stringify(noticeJson(v, { latestUrl, versionUrl }), null, 2)}\n`,
    csv: noticeCsv(v),
  };
}
