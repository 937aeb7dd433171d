import { emptyNotice, type NoticeCorrection, type NoticeEntry } from '#shared/notice/notice.ts';
import { REASON_LABEL } from '#shared/mail/templates.ts';
import { OUTPUTS } from '../cdk/names.ts';
import { table } from './output.ts';
import { useLocalStack } from './local-stack.ts';

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
 * The notice as the public reads it now: on the embedded stack from the local S3 server; with --aws
 * through its public CloudFront address (the stack's NoticeBaseUrl output), with no credentials.
 */
export async function readPublishedNotice(campaignId: string, target: { outputs: Record<string, string> } | { info: (s: string) => void }): Promise<PublishedNotice> {
  if ('outputs' in target) {
    const base = target.outputs[OUTPUTS.noticeBaseUrl];
    if (!base) throw new Error(`the deployed stack has no output ${OUTPUTS.noticeBaseUrl} (redeploy it with this checkout: docs/DEPLOY.md)`);
    const res = await fetch(`${base}/${campaignId}/latest/notice.json`, { signal: AbortSignal.timeout(15_000) });
    // CloudFront answers 403 for a key that does not exist (the distribution may not list the bucket).
    if (res.status === 403 || res.status === 404) return emptyNotice(campaignId);
    if (!res.ok) throw new Error(`${base}/${campaignId}/latest/notice.json answered ${res.status}`);
    return (await res.json()) as PublishedNotice;
  }
  const status = await useLocalStack(target.info);
  const { noticeBucket } = await import('#functions/publish.ts');
  const json = (await noticeBucket().latestJson(campaignId)) as PublishedNotice | undefined;
  return json ?? { ...emptyNotice(campaignId), url: status.notice! };
}

export function noticeSummary(n: PublishedNotice): string {
  if (!n.version) return `the public delisting notice of ${n.campaignId} is not published yet (renewal publish --campaign ${n.campaignId})${n.url ? `\nit will be at: ${n.url}` : ''}`;
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
    lines.push('', 'corrections:', table(['version', 'provider', 'name', 'change', 'at'], n.corrections.map((k) => [k.version, k.providerId, k.name, k.change, k.at])));
  }
  lines.push('', `notice: ${n.url}`);
  return lines.join('\n');
}
