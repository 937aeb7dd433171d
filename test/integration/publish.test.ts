import { readPublicNotice } from '#cli/notice-commands.ts';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { StoredDecision } from '#shared/model.ts';

import { NoticeBucket } from '#shared/store/notice-bucket.ts';
import { publish, type PublishDeps } from '#shared/usecases/publish.ts';
import { freshNoticeBucket, freshTables } from '../support/stack.ts';
import { CAMPAIGN, dailyOrders, ev, newSeason, testStack } from '../support/season-fixture.ts';
import { stores } from '#shared/deps.ts';
import { finalDecision } from '../support/decisions.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

/**
 * Publication of the public delisting notice against real local services: decisions and the notice
 * ledger in dynalite, the files in s3rver, read back over plain HTTP as the public reads them.
 */
const NOTICE_TIME = Date.parse('2024-03-01T02:00:00Z'); // 2024-03-01 10:00 CST

const decision = (providerId: string, outcome: StoredDecision['outcome'], revision = 1, reasons?: StoredDecision['reasons']) => finalDecision(providerId, outcome, { revision, reasons });

async function setup(decisions: StoredDecision[]) {
  const { db } = await testStack();
  const s = stores(await freshTables(), db);
  for (const d of decisions) expect(await s.decisions.addRevision(d)).toBe('added');
  const b = await freshNoticeBucket();
  let clock = NOTICE_TIME;
  const deps = (over: Partial<PublishDeps> = {}): PublishDeps => ({
    decisions: s.decisions,
    bucket: b.bucket,
    now: () => new Date((clock += 1000)),
    settings: { publicBaseUrl: b.baseUrl, feedbackMailbox: 'douyinpartner@bytedance.com' },
    ...over,
  });
  return { ...b, decisions: s.decisions, deps, setClock: (ms: number) => (clock = ms) };
}

/** Every object of the bucket with its ETag and last modification: what "writes nothing" is judged by. */
async function objects(s3: S3Client, bucket: string): Promise<Record<string, string>> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return Object.fromEntries((out.Contents ?? []).map((o) => [o.Key!, `${o.ETag} ${o.LastModified?.toISOString()}`]));
}

const http = async (url: string) => {
  const r = await fetch(url);
  return { status: r.status, type: r.headers.get('content-type'), cache: r.headers.get('cache-control'), body: Buffer.from(await r.arrayBuffer()) };
};

describe('publish', () => {
  it('publishes version 1 of the revoked providers: page, JSON and CSV, at their version and at latest/, readable over HTTP', async () => {
    const t = await setup([
      decision('P1', 'revoked'),
      decision('P2', 'retained'),
      decision('P3', 'not_assessed'),
      decision('P4', 'revoked', 1, ['orders_below_threshold', 'deposit_not_paid_in_full']),
    ]);
    const r = await publish(RENEWAL_2024, t.deps());
    expect(r).toMatchObject({ status: 'published', version: 1, providers: 2, corrections: 0, url: `${t.baseUrl}/renewal-2024/latest/index.html` });
    expect(Object.keys(await objects(t.s3, t.name)).sort()).toEqual(
      ['latest/index.html', 'latest/notice.csv', 'latest/notice.json', 'v1/index.html', 'v1/notice.csv', 'v1/notice.json'].map((k) => `renewal-2024/${k}`),
    );
    const json = await http(`${t.baseUrl}/renewal-2024/latest/notice.json`);
    expect(json.type).toBe('application/json; charset=utf-8');
    expect(json.cache).toBe('public, max-age=60');
    expect(JSON.parse(json.body.toString('utf8'))).toMatchObject({
      campaignId: 'renewal-2024',
      version: 1,
      publishedAt: r.publishedAt,
      url: r.url,
      providers: [
        { providerId: 'P1', name: '服务商P1', reasons: ['orders_below_threshold'], noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' },
        { providerId: 'P4', name: '服务商P4', reasons: ['orders_below_threshold', 'deposit_not_paid_in_full'], noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' },
      ],
      corrections: [],
    });
    const csv = await http(`${t.baseUrl}/renewal-2024/v1/notice.csv`);
    expect(csv.type).toBe('text/csv; charset=utf-8');
    expect(csv.cache).toBe('public, max-age=31536000, immutable');
    expect([...csv.body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const page = await http(r.url);
    expect(page.type).toBe('text/html; charset=utf-8');
    expect(page.body.toString('utf8')).toContain('服务商P4');
    expect(page.body.toString('utf8')).not.toContain('服务商P2');
    // The same bytes at the version's own address.
    expect((await http(`${t.baseUrl}/renewal-2024/v1/index.html`)).body.equals(page.body)).toBe(true);
  });

  it('publishing again with the same list writes nothing: no ledger entry, no object', async () => {
    const t = await setup([decision('P1', 'revoked')]);
    await publish(RENEWAL_2024, t.deps());
    const before = await objects(t.s3, t.name);
    await new Promise((r) => setTimeout(r, 1100)); // a rewrite would show in LastModified
    const again = await publish(RENEWAL_2024, t.deps());
    expect(again).toMatchObject({ status: 'unchanged', version: 1, written: [] });
    expect(await objects(t.s3, t.name)).toEqual(before);
    expect((await t.decisions.latestNotice(CAMPAIGN))!.version).toBe(1);
  });

  it('a correction publishes version 2 with its 更正 section; version 1 stays as it was', async () => {
    const t = await setup([decision('P1', 'revoked'), decision('P2', 'revoked'), decision('P3', 'retained')]);
    await publish(RENEWAL_2024, t.deps());
    const v1 = await objects(t.s3, t.name);
    // P2 reinstated, P3 revoked, by later revisions of the evaluation.
    await t.decisions.addRevision(decision('P2', 'retained', 2));
    await t.decisions.addRevision(decision('P3', 'revoked', 2));
    const r = await publish(RENEWAL_2024, t.deps());
    expect(r).toMatchObject({ status: 'published', version: 2, providers: 2, corrections: 2 });
    const now = await objects(t.s3, t.name);
    for (const k of Object.keys(v1).filter((k) => k.includes('/v1/'))) expect(now[k], k).toBe(v1[k]);
    const json = JSON.parse((await http(`${t.baseUrl}/renewal-2024/latest/notice.json`)).body.toString('utf8'));
    expect(json.providers.map((p: { providerId: string }) => p.providerId)).toEqual(['P1', 'P3']);
    expect(json.corrections).toMatchObject([
      { version: 2, providerId: 'P2', change: 'reinstated', at: r.publishedAt },
      { version: 2, providerId: 'P3', change: 'delisted', at: r.publishedAt },
    ]);
    const page = (await http(r.url)).body.toString('utf8');
    expect(page).toContain('更正');
    expect(page).toContain('第 2 版');
    expect(page).toContain('href="../v1/index.html"');
    expect((await http(`${t.baseUrl}/renewal-2024/v1/index.html`)).body.toString('utf8')).not.toContain('更正');
  });

  it("before the notice date's 10:00 CST nothing is published; from that instant it is", async () => {
    const t = await setup([decision('P1', 'revoked')]);
    t.setClock(NOTICE_TIME - 2000);
    expect(await publish(RENEWAL_2024, t.deps())).toMatchObject({ status: 'not_yet', version: 0, publishFrom: '2024-03-01T02:00:00.000Z', written: [] });
    expect(await objects(t.s3, t.name)).toEqual({});
    expect(await publish(RENEWAL_2024, t.deps())).toMatchObject({ status: 'published', version: 1 });
  });

  it('without final decisions there is nothing to publish', async () => {
    const t = await setup([]);
    expect(await publish(RENEWAL_2024, t.deps())).toMatchObject({ status: 'no_final_decisions', version: 0, written: [] });
  });

  it('two publications at once publish one version', async () => {
    const t = await setup([decision('P1', 'revoked'), decision('P2', 'revoked')]);
    const runs = await Promise.all([publish(RENEWAL_2024, t.deps()), publish(RENEWAL_2024, t.deps()), publish(RENEWAL_2024, t.deps())]);
    expect(runs.filter((r) => r.status === 'published')).toHaveLength(1);
    expect(new Set(runs.map((r) => r.version))).toEqual(new Set([1]));
    expect((await t.decisions.latestNotice(CAMPAIGN))!.version).toBe(1);
    expect(Object.keys(await objects(t.s3, t.name)).filter((k) => k.includes('/v2/'))).toEqual([]);
  });

  it('a run that dies after claiming the version but before the files are written is finished by the next run', async () => {
    const t = await setup([decision('P1', 'revoked')]);
    const dying: Pick<NoticeBucket, 'putVersion' | 'putLatest'> = {
      putVersion: async () => {
        throw new Error('killed');
      },
      putLatest: async () => {
        throw new Error('killed');
      },
    };
    await expect(publish(RENEWAL_2024, t.deps({ bucket: dying }))).rejects.toThrow('killed');
    expect(await objects(t.s3, t.name)).toEqual({});
    expect((await t.decisions.latestNotice(CAMPAIGN))!.writtenAt).toBeUndefined();
    const r = await publish(RENEWAL_2024, t.deps());
    expect(r).toMatchObject({ status: 'completed', version: 1 });
    expect(r.written).toHaveLength(6);
    expect(await publish(RENEWAL_2024, t.deps())).toMatchObject({ status: 'unchanged', written: [] });
  });

  it('a slow run cannot leave an older version at latest/ when a newer one was published meanwhile', async () => {
    const t = await setup([decision('P1', 'revoked')]);
    await publish(RENEWAL_2024, t.deps());
    await t.decisions.addRevision(decision('P2', 'revoked', 1));
    // Run A claims version 2 and is held just before it writes latest/; meanwhile P3 is revoked and
    // run B publishes version 3 completely.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atLatest = new Promise<void>((r) => (reached = r));
    const slow: Pick<NoticeBucket, 'putVersion' | 'putLatest'> = {
      putVersion: (...a) => t.bucket.putVersion(...a),
      putLatest: async (...a) => {
        reached();
        await held;
        return t.bucket.putLatest(...a);
      },
    };
    const a = publish(RENEWAL_2024, t.deps({ bucket: slow }));
    await atLatest;
    await t.decisions.addRevision(decision('P3', 'revoked', 1));
    expect(await publish(RENEWAL_2024, t.deps())).toMatchObject({ status: 'published', version: 3 });
    release();
    expect(await a).toMatchObject({ status: 'published', version: 2 });
    const latest = JSON.parse(await (await t.s3.send(new GetObjectCommand({ Bucket: t.name, Key: 'renewal-2024/latest/notice.json' }))).Body!.transformToString());
    expect(latest.version).toBe(3);
    expect(latest.providers.map((p: { providerId: string }) => p.providerId)).toEqual(['P1', 'P2', 'P3']);
  });

  it('a hostile name is stored and served as text', async () => {
    const t = await setup([{ ...decision('P1', 'revoked'), providerName: '<script>alert(1)</script>\r\nX-Injected: 1' }]);
    const r = await publish(RENEWAL_2024, t.deps());
    const page = (await http(r.url)).body.toString('utf8');
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt; X-Injected: 1');
  });
});

describe('the evaluation hands the notice over only when a final revision changes the list', () => {
  it('a changed figure of a retained provider does not; a reinstatement does; a re-run does not', async () => {
    const s = await newSeason();
    await s.feed([
      ev.provider('P1', '2023-06-01T00:00:00+08:00', '2023-08-01T00:00:00+08:00'),
      ev.provider('P2', '2023-06-01T00:00:00+08:00', '2023-08-01T00:00:00+08:00'),
      ev.bind('P1', 'S1', '2023-01-01T00:00:00Z'),
      ev.bind('P2', 'S2', '2023-01-01T00:00:00Z'),
      ...dailyOrders('A', 'S1', '2023-12-01', 3),
      ...dailyOrders('B', 'S2', '2023-12-01', 3),
      ev.paid('D1', 'P1', 10_000_000, '2023-11-01T00:00:00Z'),
      ev.paid('D2', 'P2', 9_000_000, '2023-11-01T00:00:00Z'),
    ]);
    const first = await s.evaluate({ campaignId: CAMPAIGN, thresholdOrders: 2 });
    expect(first.counts).toMatchObject({ retained: 1, revoked: 1 });
    expect(first.publicationRequested).toBe(true);
    await s.feed(dailyOrders('A2', 'S1', '2023-12-10', 1)); // P1: 4 orders, still retained
    const figure = await s.evaluate({ campaignId: CAMPAIGN, thresholdOrders: 2 });
    expect(figure).toMatchObject({ revisionsCreated: 1, publicationRequested: false });
    await s.feed([ev.paid('D3', 'P2', 1_000_000, '2024-02-01T00:00:00Z')]); // P2 pays up: reinstated
    const reinstated = await s.evaluate({ campaignId: CAMPAIGN, thresholdOrders: 2 });
    expect(reinstated).toMatchObject({ revisionsCreated: 1, publicationRequested: true });
    expect(await s.evaluate({ campaignId: CAMPAIGN, thresholdOrders: 2 })).toMatchObject({ revisionsCreated: 0, publicationRequested: false });
    expect(s.publication).toHaveBeenCalledTimes(2);
    // A preview never hands anything over.
    expect(await s.evaluate({ campaignId: CAMPAIGN, thresholdOrders: 5, asOf: '2024-01-01T00:00:00Z' })).toMatchObject({ mode: 'preview', publicationRequested: false });
  });
});

describe('renewal notice --aws reads the notice through its public address', () => {
  it('the published notice.json; version 0 where the CDN answers 403 or 404 for a missing key', async () => {
    const t = await setup([decision('P1', 'revoked')]);
    const r = await publish(RENEWAL_2024, t.deps());
    // s3rver's bucket URL stands in for the CloudFront base URL (NoticeBaseUrl).
    const read = await readPublicNotice({ NoticeBaseUrl: t.baseUrl }, 'renewal-2024');
    expect(read.url).toBe(r.url);
    expect(read.notice).toMatchObject({ campaignId: 'renewal-2024', version: 1, url: r.url, providers: [{ providerId: 'P1' }] });
    const empty = await freshNoticeBucket();
    expect((await readPublicNotice({ NoticeBaseUrl: empty.baseUrl }, 'renewal-2024')).notice).toEqual({ campaignId: 'renewal-2024', version: 0, providers: [] });
    await expect(readPublicNotice({}, 'renewal-2024')).rejects.toThrow(/NoticeBaseUrl/);
  });
});
