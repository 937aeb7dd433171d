import { emptyNotice } from '#shared/notice/files.ts';
import type { NoticeCorrection, NoticeEntry } from '#shared/notice/versions.ts';
import { REASON_LABEL } from '#shared/text/labels.ts';
import { OUTPUTS } from '../cdk/names.ts';
import { noticePageUrl } from '#shared/store/notice-bucket.ts';
import type { PendingNotice } from '#shared/usecases/publish.ts';
import { table } from '#shared/text/terminal.ts';

/** `renewal notice --json`: OPS.md's shape (`version` 0 and no providers before the first publication). */
export interface PublishedNotice {
  campaignId: string;
  version: number;
  publishedAt?: string;
  url?: string;
  providers: NoticeEntry[];
  corrections?: NoticeCorrection[];
}

/**
 * The notice as the public reads it on a deployment: through its public CloudFront address (the
 * stack's NoticeBaseUrl output), with no credentials, and the stable address it is (or will be) at.
 */
export async function readPublicNotice(outputs: Record<string, string>, campaignId: string): Promise<{ notice: PublishedNotice; url: string }> {
  const base = outputs[OUTPUTS.noticeBaseUrl];
  if (!base) throw new Error(`the deployed stack has no output ${OUTPUTS.noticeBaseUrl} (redeploy it with this checkout: docs/operations.md)`);
  const url = noticePageUrl(base, campaignId, 'latest');
  const res = await fetch(url.replace(/index\.html$/, 'notice.json'), { signal: AbortSignal.timeout(15_000) });
  // CloudFront answers 403 for a key that does not exist (it may not list the bucket).
  if (res.status === 403 || res.status === 404) return { notice: emptyNotice(campaignId), url };
  if (!res.ok) throw new Error(`${url.replace(/index\.html$/, 'notice.json')} answered ${res.status}`);
  return { notice: (await res.json()) as PublishedNotice, url };
}

/** The warning `renewal notice` gives about a version claimed but never written. */
export function pendingWarning(campaignId: string, p: PendingNotice): string {
  return `version ${p.version} of the notice was claimed at ${p.claimedAt} (${p.providers} delisted provider(s)) but its files were never written: the public still reads the version before it. A publication failed after its claim (or runs right now); \`renewal publish --campaign ${campaignId}\` completes it`;
}

export function noticeSummary(n: PublishedNotice, url: string): string {
  if (!n.version) return `the public delisting notice of ${n.campaignId} is not published yet (renewal publish --campaign ${n.campaignId})\nit will be at: ${url}`;
  const lines = [
    `public delisting notice of ${n.campaignId}: version ${n.version}, published ${n.publishedAt}, ${n.providers.length} delisted provider(s)`,
    '',
    n.providers.length
      ? table(
          ['provider', 'name', 'not met', 'notice date', 're-apply from'],
          n.providers.map((p) => [p.providerId, p.name, p.reasons.map((r) => REASON_LABEL.en[r]).join(', '), p.noticeDate, p.reapplyFrom]),
        )
      : 'no provider is delisted',
  ];
  if (n.corrections?.length) {
    lines.push(
      '',
      'corrections:',
      table(
        ['version', 'provider', 'name', 'change', 'at'],
        n.corrections.map((k) => [k.version, k.providerId, k.name, k.change, k.at]),
      ),
    );
  }
  lines.push('', `notice: ${n.url ?? url}`);
  return lines.join('\n');
}
