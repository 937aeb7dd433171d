/** The notice's data files: `notice.json` (the OPS.md shape) and `notice.csv`. Pure. */
import { csv } from '../csv.ts';
import { REASON_LABEL } from '../text/labels.ts';
import type { NoticeEntry, NoticeVersion } from './versions.ts';

export interface NoticeLinks {
  /** The stable address of the newest version's page (`…/latest/index.html`). */
  latestUrl: string;
  /** This version's permanent page (`…/v<N>/index.html`). */
  versionUrl: string;
}

/** `notice.json`: the OPS.md `notice --json` shape, plus the version's own address. */
export function noticeJson(v: NoticeVersion, links: NoticeLinks) {
  return {
    campaignId: v.campaignId,
    version: v.version,
    publishedAt: v.publishedAt,
    url: links.latestUrl,
    versionUrl: links.versionUrl,
    providers: v.providers.map((p) => ({ providerId: p.providerId, name: p.name, reasons: p.reasons, noticeDate: p.noticeDate, reapplyFrom: p.reapplyFrom })),
    corrections: v.corrections,
  };
}

/** `notice.json` before anything is published (OPS.md). */
export function emptyNotice(campaignId: string) {
  return { campaignId, version: 0, providers: [] as NoticeEntry[] };
}

const CSV_HEADER = ['providerId', 'name', 'reasons', 'reasonsText', 'noticeDate', 'reapplyFrom'];

/** `notice.csv`: UTF-8 with a BOM (spreadsheet tools then read the Chinese correctly), one row per provider. */
export function noticeCsv(v: NoticeVersion): string {
  return csv(
    CSV_HEADER,
    v.providers.map((p) => [p.providerId, p.name, p.reasons, p.reasons.map((r) => REASON_LABEL.zh[r]).join('；'), p.noticeDate, p.reapplyFrom]),
    { bom: true },
  );
}
