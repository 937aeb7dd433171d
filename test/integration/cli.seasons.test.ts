import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, cliRunner } from '../support/cli.ts';

/**
 * Issue 19 "Done when", as a user runs it: a season in a NEW campaign file, written here and read by
 * the CLI at run time (RENEWAL_CAMPAIGNS_DIR, no build, no code change), beside renewal-2024 on one
 * embedded stack of this test's own, through import, aggregation, evaluation, mail, notice, report and
 * the re-application check. Expectations are literals worked out by hand from RULES.md ("Seasons
 * after the first"); threshold 2 in both (renewal-2024's file leaves it null: `--threshold 2`;
 * renewal-2028's file says 2).
 *
 * renewal-2028: 2027-12-01..2028-02-29 (91 days, 29 February included), certified and regularized
 * before 2027-12-01, deposit CNY 200,000 (20,000,000 fen), notice 2028-03-01, re-apply 90 days later
 * (2028-05-30).
 *
 * | provider | renewal-2024                           | between the seasons                         | renewal-2028                                                      |
 * |----------|----------------------------------------|---------------------------------------------|-------------------------------------------------------------------|
 * | PA       | 1 order → revoked (orders)             | never certified again                       | 3 orders, 20M fen, but not_in_scope: no mail                      |
 * | PB       | 0 orders → revoked (orders)            | certified again 2024-06-15 (after 05-30)    | 2 orders (one on 29 February), 20M → retained                     |
 * | PC       | 2 orders (one of January 2024) → retained | –                                        | 2 orders (not the January 2024 one), 10M < 20M → revoked (deposit)|
 * | PD       | 2 orders → retained                    | 3M deducted in 2025                         | 2 orders (+1 at the close, not counted), 10M − 3M + 13M = 20M (+1 fen at the close, not counted) → retained |
 */
const REPO_CAMPAIGNS = resolve(import.meta.dirname, '../../campaigns');
const dir = mkdtempSync(join(tmpdir(), 'renewal-seasons-'));
const campaignsDir = join(dir, 'campaigns');
const run = cliRunner(cliEnv(dir, { RENEWAL_CAMPAIGNS_DIR: campaignsDir }));
/** `run` that must exit 0; its JSON. */
function ok(...args: string[]) {
  const r = run(...args, '--json');
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.json();
}

const RENEWAL_2028 = {
  campaignId: 'renewal-2028',
  rulesVersion: 'renewal-2028/1',
  rulesTitle: { zh: '《抖音电商产业带服务商2028年续牌规则》', en: 'Douyin E-commerce Industrial-Belt Service Provider 2028 Renewal Rules' },
  nextRulesTitle: { zh: '《抖音电商产业带服务商常规考核规则》', en: 'Douyin E-commerce Industrial-Belt Service Provider Regular Assessment Rules' },
  timeZone: 'Asia/Shanghai',
  periodStartDate: '2027-12-01',
  periodEndDate: '2028-02-29',
  certifiedBeforeDate: '2027-12-01',
  regularizedBeforeDate: '2027-12-01',
  thresholdOrders: 2,
  depositRequiredFen: 20_000_000,
  noticeDate: '2028-03-01',
  noticeTime: '10:00',
  reapplyAfterDays: 90,
  feedbackMailbox: 'douyinpartner@bytedance.com',
  exitRefundProcedure: '《抖店服务市场服务商退出退保流程说明》',
  schedule: true,
};
const FILE_2028 = join(campaignsDir, 'renewal-2028.json');

const line = (o: Record<string, unknown>) => JSON.stringify(o);
const provider = (providerId: string, certifiedAt: string, regularizedAt: string, name = `Provider ${providerId}`) =>
  line({ type: 'provider.upserted', providerId, name, email: `${providerId.toLowerCase()}@example.com`, certifiedAt, regularizedAt });
const bind = (providerId: string, storeId: string, at: string) => line({ type: 'binding.started', providerId, storeId, at });
const order = (orderId: string, storeId: string, paidAt: string) => line({ type: 'order.paid', orderId, storeId, paidAt });
const paid = (paymentId: string, providerId: string, amountFen: number, paidAt: string) => line({ type: 'deposit.paid', paymentId, providerId, amountFen, paidAt });
const deducted = (paymentId: string, providerId: string, amountFen: number, at: string) => line({ type: 'deposit.deducted', paymentId, providerId, amountFen, at });

const FIRST_SEASON = [
  ...['PA', 'PB', 'PC', 'PD'].map((p) => provider(p, '2023-01-01T00:00:00+08:00', '2023-02-01T00:00:00+08:00')),
  ...['PA', 'PB', 'PC', 'PD'].map((p) => bind(p, `S${p.slice(1)}`, '2023-11-01T00:00:00+08:00')),
  order('OA-24', 'SA', '2023-12-10T10:00:00+08:00'),
  order('OC-24a', 'SC', '2023-12-10T10:00:00+08:00'),
  order('OC-24b', 'SC', '2024-01-10T10:00:00+08:00'), // January 2024: counts for renewal-2024 only
  order('OD-24a', 'SD', '2023-12-11T10:00:00+08:00'),
  order('OD-24b', 'SD', '2024-02-29T23:59:59+08:00'),
  ...['PA', 'PB', 'PC', 'PD'].map((p) => paid(`PAY-${p}-1`, p, 10_000_000, '2023-12-01T10:00:00+08:00')),
];

const SECOND_SEASON = [
  provider('PB', '2024-06-15T09:00:00+08:00', '2024-08-01T00:00:00+08:00'),
  provider('PA', '2023-01-01T00:00:00+08:00', '2023-02-01T00:00:00+08:00', 'Provider PA (renamed)'),
  order('OA-28-1', 'SA', '2027-12-10T10:00:00+08:00'),
  order('OA-28-2', 'SA', '2027-12-11T10:00:00+08:00'),
  order('OA-28-3', 'SA', '2027-12-12T10:00:00+08:00'),
  order('OB-28-1', 'SB', '2027-12-20T10:00:00+08:00'),
  order('OB-28-2', 'SB', '2028-02-29T23:59:59+08:00'),
  order('OC-28-1', 'SC', '2027-12-01T00:00:00+08:00'),
  order('OC-28-2', 'SC', '2028-01-10T10:00:00+08:00'),
  order('OD-28-1', 'SD', '2028-01-05T10:00:00+08:00'),
  order('OD-28-2', 'SD', '2028-02-05T10:00:00+08:00'),
  order('OD-28-late', 'SD', '2028-03-01T00:00:00+08:00'), // the first instant after the period
  paid('PAY-PA-2', 'PA', 10_000_000, '2027-12-05T10:00:00+08:00'),
  paid('PAY-PB-2', 'PB', 10_000_000, '2027-12-05T10:00:00+08:00'),
  deducted('DED-PD-1', 'PD', 3_000_000, '2025-06-01T10:00:00+08:00'),
  paid('PAY-PD-2', 'PD', 13_000_000, '2028-02-29T23:59:59.999+08:00'),
  paid('PAY-PD-3', 'PD', 1, '2028-03-01T00:00:00+08:00'), // at the close: not counted
];

/** The first instant after renewal-2028's close, plus the half hour its evaluation schedule waits. */
const AFTER_2028 = '2028-03-01T00:30:00+08:00';
/**
 * renewal-2028's period and notice by this machine's clock: the CLI has no clock of its own to move,
 * so what depends on the real time (the campaign's state, the notice's publication, an exception
 * recorded now) is expected as the clock stands, each branch a literal.
 */
const NOW = Date.now();
const STARTS_2028 = Date.parse('2027-11-30T16:00:00Z');
const CLOSES_2028 = Date.parse('2028-02-29T16:00:00Z');
const NOTICE_2028_AT = '2028-03-01T02:00:00.000Z';
const NOTICE_2028_DUE = NOW >= Date.parse(NOTICE_2028_AT);
/** The bar of renewal-2028's revocation begins on its notice date (China time). */
const BAR_2028_BEGUN = NOW >= Date.parse('2028-02-29T16:00:00Z');

const decisionsOf = (report: { assessments: Record<string, unknown>[] }) =>
  Object.fromEntries(
    report.assessments.map((a) => [
      a.providerId,
      Object.fromEntries(['outcome', 'reasons', 'paidOrders', 'thresholdOrders', 'depositBalanceFen', 'noticeDate', 'reapplyFrom'].filter((k) => a[k] !== undefined).map((k) => [k, a[k]])),
    ]),
  );

/** Everyone the embedded SES has taken a mail for, in the order sent. */
async function recipients(): Promise<string[]> {
  const { ses } = ok('local', 'status') as { ses: string };
  // A connection of its own each time: a pooled one may have been closed by SES while the CLI ran.
  const body = await new Promise<string>((ok, fail) =>
    get(`${ses}/store`, { agent: false }, (res) => {
      let text = '';
      res
        .setEncoding('utf8')
        .on('data', (c: string) => (text += c))
        .on('end', () => ok(text))
        .on('error', fail);
    }).on('error', fail),
  );
  const { emails } = JSON.parse(body) as { emails: { destination: { to: string[] } }[] };
  return emails.flatMap((m) => m.destination.to);
}

beforeAll(() => {
  mkdirSync(campaignsDir);
  writeFileSync(join(campaignsDir, 'renewal-2024.json'), readFileSync(join(REPO_CAMPAIGNS, 'renewal-2024.json')));
  writeFileSync(FILE_2028, JSON.stringify(RENEWAL_2028, null, 2));
  writeFileSync(join(dir, 'season-2024.ndjson'), FIRST_SEASON.join('\n'));
  writeFileSync(join(dir, 'season-2028.ndjson'), SECOND_SEASON.join('\n'));
  expect(ok('local', 'up')).toMatchObject({ running: true });
}, 120_000);
afterAll(() => {
  run('local', 'down');
  rmSync(dir, { recursive: true, force: true });
});

describe('a new campaign file runs beside renewal-2024 on one stack, with no code change', () => {
  it('campaign check on the new file prints its instants and schedules; a broken copy exits 2 naming the field', () => {
    const checked = ok('campaign', 'check', FILE_2028);
    expect(checked).toMatchObject({
      campaignId: 'renewal-2028',
      instants: {
        periodStart: { utc: '2027-11-30T16:00:00.000Z', china: '2027-12-01T00:00:00+08:00' },
        periodEnd: { utc: '2028-02-29T16:00:00.000Z', china: '2028-03-01T00:00:00+08:00' },
        evaluation: { utc: '2028-02-29T16:30:00.000Z', china: '2028-03-01T00:30:00+08:00' },
        noticePublication: { utc: '2028-03-01T02:00:00.000Z', china: '2028-03-01T10:00:00+08:00' },
        reapplyFrom: { date: '2028-05-30', utc: '2028-05-29T16:00:00.000Z', china: '2028-05-30T00:00:00+08:00' },
      },
      threshold: { thresholdOrders: 2, source: 'campaign' },
    });
    expect(checked.schedules.map((s: { expression: string }) => s.expression)).toEqual(['rate(15 minutes)', 'at(2028-03-01T00:30:00)', 'cron(0 10 ? * MON *)', 'at(2028-03-01T10:00:00)']);
    const human = run('campaign', 'check', FILE_2028);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('2028-03-01T00:30:00+08:00');
    expect(human.stdout).toContain('2028-05-29T16:00:00.000Z');

    const broken = join(dir, 'renewal-2028.json');
    writeFileSync(broken, JSON.stringify({ ...RENEWAL_2028, depositRequiredFen: 200_000.5 }));
    const bad = run('campaign', 'check', broken, '--json');
    expect(bad.code).toBe(2);
    expect(bad.json()).toEqual({ errors: [{ field: 'depositRequiredFen', message: expect.stringMatching(/integer number of fen/) }] });
    const badHuman = run('campaign', 'check', broken);
    expect(badHuman.code).toBe(2);
    expect(badHuman.stdout).toMatch(/depositRequiredFen/);

    const listed = ok('campaign', 'list') as { campaignId: string; state: string }[];
    expect(listed.map((c) => c.campaignId)).toEqual(['renewal-2024', 'renewal-2028']);
    expect(listed[1]!.state).toBe(NOW < STARTS_2028 ? 'upcoming' : NOW < CLOSES_2028 ? 'running' : 'closed');
  }, 120_000);

  it('renewal-2024: import, aggregate, final evaluation with its mail and notice, report', async () => {
    expect(ok('import', join(dir, 'season-2024.ndjson'))).toEqual({ accepted: FIRST_SEASON.length, duplicates: 0, rejected: 0 });
    expect(ok('aggregate', '--campaign', 'renewal-2024')).toMatchObject({ status: 'done' });
    const e = ok('evaluate', '--campaign', 'renewal-2024', '--threshold', '2');
    expect(e).toMatchObject({ mode: 'final', campaignId: 'renewal-2024', revisionsCreated: 4, counts: { retained: 2, revoked: 2, not_assessed: 0 }, publicationRequested: true });
    const report = ok('report', '--campaign', 'renewal-2024');
    expect(report.final).toBe(true);
    expect(decisionsOf(report)).toEqual({
      PA: { outcome: 'revoked', reasons: ['orders_below_threshold'], paidOrders: 1, thresholdOrders: 2, depositBalanceFen: 10_000_000, noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' },
      PB: { outcome: 'revoked', reasons: ['orders_below_threshold'], paidOrders: 0, thresholdOrders: 2, depositBalanceFen: 10_000_000, noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' },
      PC: { outcome: 'retained', reasons: [], paidOrders: 2, thresholdOrders: 2, depositBalanceFen: 10_000_000 },
      PD: { outcome: 'retained', reasons: [], paidOrders: 2, thresholdOrders: 2, depositBalanceFen: 10_000_000 },
    });
    expect((await recipients()).sort()).toEqual(['pa@example.com', 'pb@example.com', 'pc@example.com', 'pd@example.com']);
    expect(run('notify', '--campaign', 'renewal-2024').stdout).toMatch(/sent before/);
    expect(ok('notice', '--campaign', 'renewal-2024')).toMatchObject({
      campaignId: 'renewal-2024',
      version: 1,
      providers: [
        { providerId: 'PA', reasons: ['orders_below_threshold'], noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' },
        { providerId: 'PB', reasons: ['orders_below_threshold'], noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' },
      ],
    });
  }, 300_000);

  it("renewal-2028: the second season's events; renewal-2024 run again records nothing new; renewal-2028 decides each provider as RULES.md says", async () => {
    expect(ok('import', join(dir, 'season-2028.ndjson'))).toEqual({ accepted: SECOND_SEASON.length, duplicates: 0, rejected: 0 });
    const before2024 = ok('report', '--campaign', 'renewal-2024');
    // The closed season, re-run after the later season's events arrived: no new revision.
    expect(ok('evaluate', '--campaign', 'renewal-2024', '--threshold', '2')).toMatchObject({ mode: 'final', revisionsCreated: 0, unchanged: 4 });
    expect(decisionsOf(ok('report', '--campaign', 'renewal-2024'))).toEqual(decisionsOf(before2024));

    expect(ok('aggregate', '--campaign', 'renewal-2028')).toMatchObject({ status: 'done' });
    // Before the close (the clock says 2026 or later, --as-of inside the period) it is a preview: nothing decided, no mail.
    const mailsBefore = (await recipients()).length;
    expect(ok('evaluate', '--campaign', 'renewal-2028', '--as-of', '2028-02-29T23:59:59+08:00')).toMatchObject({ mode: 'preview', revisionsCreated: 0 });
    const e = ok('evaluate', '--campaign', 'renewal-2028', '--as-of', AFTER_2028);
    expect(e).toMatchObject({ mode: 'final', campaignId: 'renewal-2028', thresholdOrders: 2, thresholdSource: 'campaign', revisionsCreated: 4, counts: { retained: 2, revoked: 1, not_assessed: 1 } });
    const report = ok('report', '--campaign', 'renewal-2028');
    expect(report).toMatchObject({ campaignId: 'renewal-2028', final: true });
    expect(decisionsOf(report)).toEqual({
      PA: { outcome: 'not_assessed', reasons: ['not_in_scope'] },
      PB: { outcome: 'retained', reasons: [], paidOrders: 2, thresholdOrders: 2, depositBalanceFen: 20_000_000 },
      PC: { outcome: 'revoked', reasons: ['deposit_not_paid_in_full'], paidOrders: 2, thresholdOrders: 2, depositBalanceFen: 10_000_000, noticeDate: '2028-03-01', reapplyFrom: '2028-05-30' },
      PD: { outcome: 'retained', reasons: [], paidOrders: 2, thresholdOrders: 2, depositBalanceFen: 20_000_000 },
    });
    // The outcome mail went to the assessed only: nothing to PA, whom renewal-2024 revoked.
    expect((await recipients()).slice(mailsBefore).sort()).toEqual(['pb@example.com', 'pc@example.com', 'pd@example.com']);
    const pa = report.assessments.find((a: { providerId: string }) => a.providerId === 'PA');
    expect(pa.mail?.status).not.toBe('sent');
    expect(run('notify', '--campaign', 'renewal-2028').code).toBe(0);
    expect((await recipients()).slice(mailsBefore)).toHaveLength(3);

    // The notice of renewal-2028 is dated: it is published at its publication instant by the clock
    // (2028-03-01 10:00 China time), which --as-of does not move. Before then the evaluation hands it
    // over and publish answers not_yet; from then on the list is PC alone.
    if (!NOTICE_2028_DUE) {
      expect(e).toMatchObject({ publicationRequested: true, publication: { status: 'not_yet', version: 0, publishFrom: NOTICE_2028_AT } });
      expect(ok('notice', '--campaign', 'renewal-2028')).toEqual({ campaignId: 'renewal-2028', version: 0, providers: [] });
      expect(ok('publish', '--campaign', 'renewal-2028')).toMatchObject({ status: 'not_yet', version: 0, publishFrom: NOTICE_2028_AT, written: [] });
    } else {
      expect(ok('notice', '--campaign', 'renewal-2028')).toMatchObject({
        campaignId: 'renewal-2028',
        version: 1,
        providers: [{ providerId: 'PC', reasons: ['deposit_not_paid_in_full'], noticeDate: '2028-03-01', reapplyFrom: '2028-05-30' }],
        corrections: [],
      });
      expect(ok('publish', '--campaign', 'renewal-2028')).toMatchObject({ status: 'unchanged', version: 1 });
    }
    // renewal-2024's notice stays as it was.
    expect(ok('notice', '--campaign', 'renewal-2024')).toMatchObject({ version: 1, providers: [{ providerId: 'PA' }, { providerId: 'PB' }] });

    // Both seasons again: nothing new.
    expect(ok('evaluate', '--campaign', 'renewal-2028', '--as-of', AFTER_2028)).toMatchObject({ revisionsCreated: 0, unchanged: 4 });
    expect(ok('evaluate', '--campaign', 'renewal-2024', '--threshold', '2')).toMatchObject({ revisionsCreated: 0, unchanged: 4 });
  }, 420_000);

  it('reapply check around each re-apply instant, across both seasons; an exception recorded before a bar began does not lift it', () => {
    const check = (providerId: string, at: string) => ok('reapply', 'check', '--provider', providerId, '--at', at);
    const BASIS_2024 = { campaignId: 'renewal-2024', noticeDate: '2024-03-01', revision: 1 };
    const BASIS_2028 = { campaignId: 'renewal-2028', noticeDate: '2028-03-01', revision: 1 };
    // PA: revoked by renewal-2024, never certified again; barred until 2024-05-30 00:00 China time.
    expect(check('PA', '2024-05-29T15:59:59.999Z')).toEqual({ providerId: 'PA', at: '2024-05-29T15:59:59.999Z', allowed: false, reapplyFrom: '2024-05-29T16:00:00.000Z', basis: BASIS_2024 });
    expect(check('PA', '2024-05-30T00:00:00+08:00')).toEqual({ providerId: 'PA', at: '2024-05-29T16:00:00.000Z', allowed: true, reapplyFrom: '2024-05-29T16:00:00.000Z', basis: BASIS_2024 });
    // PB: certified again after its re-apply date, retained in renewal-2028: no revocation bars it.
    expect(check('PB', '2028-04-01T00:00:00+08:00')).toEqual({ providerId: 'PB', at: '2028-03-31T16:00:00.000Z', allowed: true });
    // PD: retained in both.
    expect(check('PD', '2028-04-01T00:00:00+08:00')).toEqual({ providerId: 'PD', at: '2028-03-31T16:00:00.000Z', allowed: true });
    // PC: revoked by renewal-2028 (notice 2028-03-01, 90 days): barred until 2028-05-30 00:00 China time.
    expect(check('PC', '2028-05-29T23:59:59.999+08:00')).toEqual({ providerId: 'PC', at: '2028-05-29T15:59:59.999Z', allowed: false, reapplyFrom: '2028-05-29T16:00:00.000Z', basis: BASIS_2028 });
    expect(check('PC', '2028-05-30T00:00:00+08:00')).toEqual({ providerId: 'PC', at: '2028-05-29T16:00:00.000Z', allowed: true, reapplyFrom: '2028-05-29T16:00:00.000Z', basis: BASIS_2028 });

    // An exception ("原则上") answers the bar in force when it is recorded (RULES.md "re-application (3)"):
    // recorded before renewal-2028's notice date, it does not lift renewal-2028's later bar; recorded
    // once that bar has begun, PC may apply inside it, and the answer cites the exception.
    const granted = ok('reapply', 'except', '--provider', 'PC', '--reason', '保证金已补缴', '--by', 'ops-li');
    expect(granted).toMatchObject({ providerId: 'PC', kind: 'granted', by: 'ops-li', reason: '保证金已补缴' });
    const barred = { providerId: 'PC', at: '2028-03-31T16:00:00.000Z', allowed: false, reapplyFrom: '2028-05-29T16:00:00.000Z', basis: BASIS_2028 };
    expect(check('PC', '2028-04-01T00:00:00+08:00')).toEqual(BAR_2028_BEGUN ? { ...barred, allowed: true, exception: { by: 'ops-li', at: granted.at, reason: '保证金已补缴' } } : barred);
  }, 240_000);
});
