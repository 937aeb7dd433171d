import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { declareAccess } from './access.ts';

/**
 * The bucket of the public delisting notice. Layout (one module owns it):
 *
 * | key                                   | what                                              | Cache-Control          |
 * |---------------------------------------|---------------------------------------------------|------------------------|
 * | `<campaign>/v<N>/index.html`          | version N's page (Chinese, English below)         | a year, immutable      |
 * | `<campaign>/v<N>/notice.json`         | version N's list (OPS.md `notice --json` shape)   | a year, immutable      |
 * | `<campaign>/v<N>/notice.csv`          | version N's list, UTF-8 with BOM                  | a year, immutable      |
 * | `<campaign>/latest/…`                 | the same three files of the newest version        | 60 s                   |
 *
 * A version's files never change once written (rewriting them writes the same bytes); `latest/` is
 * overwritten by each new version. The public reads the bucket through CloudFront (AWS) or straight
 * from the local S3 server (embedded stack); links inside the files are relative.
 */

export interface NoticeFiles {
  html: string;
  json: string;
  csv: string;
}

const FILES: { name: string; of: keyof NoticeFiles; contentType: string }[] = [
  // The JSON and CSV first: when the page is readable, so is its data.
  { name: 'notice.json', of: 'json', contentType: 'application/json; charset=utf-8' },
  { name: 'notice.csv', of: 'csv', contentType: 'text/csv; charset=utf-8' },
  { name: 'index.html', of: 'html', contentType: 'text/html; charset=utf-8' },
];

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Short, so a correction reaches every reader within a minute without invalidating the CDN. */
const LATEST = 'public, max-age=60';

/** Key prefix of one version (`renewal-2024/v2/`) or of the newest (`renewal-2024/latest/`). */
export const noticePrefix = (campaignId: string, version: number | 'latest') => `${campaignId}/${version === 'latest' ? 'latest' : `v${version}`}/`;

/** Public URL of a version's page under the public base URL (CloudFront, or the local S3 server's bucket URL). */
export function noticePageUrl(baseUrl: string, campaignId: string, version: number | 'latest'): string {
  return `${baseUrl.replace(/\/+$/, '')}/${noticePrefix(campaignId, version)}index.html`;
}

export class NoticeBucket {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /** Writes the three files of version `version` (s3:PutObject). Returns the keys written. */
  async putVersion(campaignId: string, version: number, files: NoticeFiles): Promise<string[]> {
    return this.put(noticePrefix(campaignId, version), files, IMMUTABLE);
  }

  /** Overwrites `latest/` with the files of the newest version (s3:PutObject). Returns the keys written. */
  async putLatest(campaignId: string, files: NoticeFiles): Promise<string[]> {
    return this.put(noticePrefix(campaignId, 'latest'), files, LATEST);
  }

  /**
   * The newest published `notice.json` (s3:GetObject), or undefined before the first publication.
   * Used by `renewal notice` on the embedded stack; the deployed notice is read through its public URL.
   */
  async latestJson(campaignId: string): Promise<unknown> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${noticePrefix(campaignId, 'latest')}notice.json` }));
      return JSON.parse(await out.Body!.transformToString('utf-8'));
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  private async put(prefix: string, files: NoticeFiles, cacheControl: string): Promise<string[]> {
    const keys: string[] = [];
    for (const f of FILES) {
      const Key = `${prefix}${f.name}`;
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: files[f.of], ContentType: f.contentType, CacheControl: cacheControl }));
      keys.push(Key);
    }
    return keys;
  }
}

/** What each method sends (shared/store/access.ts). */
export const NOTICE_BUCKET_ACCESS = declareAccess<NoticeBucket>()('noticeBucket', {
  putVersion: [{ bucket: 'notice', actions: ['PutObject'] }],
  putLatest: [{ bucket: 'notice', actions: ['PutObject'] }],
  latestJson: [{ bucket: 'notice', actions: ['GetObject'] }],
});
