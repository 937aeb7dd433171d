import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#shared/aws.ts';
import { DecisionStore } from '#shared/store/decisions.ts';
import { localTables } from '#tools/local/stack.ts';

/**
 * The OPS.md contract of the `renewal` command, run as a user runs it: a separate process, its own
 * embedded stack in a temporary `.local`, stdout parsed as the one JSON document it must be.
 */
const BIN = resolve(import.meta.dirname, '../../bin/renewal.js');
const dir = mkdtempSync(join(tmpdir(), 'renewal-cli-'));
const env = {
  ...process.env,
  RENEWAL_LOCAL_DIR: join(dir, '.local'),
  RENEWAL_DYNAMODB_PORT: '0',
  RENEWAL_SES_PORT: '0',
  RENEWAL_S3_PORT: '0',
  AWS_ENDPOINT_URL_DYNAMODB: '',
  AWS_ENDPOINT_URL_SES: '',
  AWS_ENDPOINT_URL_SESV2: '',
  AWS_ENDPOINT_URL_S3: '',
  THRESHOLD_ORDERS: '',
};

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

const FILE = join(dir, 'events.ndjson');
writeFileSync(
  FILE,
  [
    '{"type":"provider.upserted","providerId":"P1","name":"测试服务商","email":"p1@example.com","certifiedAt":"2023-06-01T00:00:00+08:00","regularizedAt":"2023-08-01T00:00:00+08:00"}',
    '{"type":"binding.started","providerId":"P1","storeId":"S1","at":"2023-01-01T00:00:00Z"}',
    '{"type":"order.paid","orderId":"O1","storeId":"S1","paidAt":"2023-12-05T10:00:00+08:00"}',
    '',
    '{"type":"order.paid","orderId":"O1","storeId":"S1","paidAt":"2023-12-05T02:00:00Z"}',
    '{"type":"order.paid","orderId":"O2","storeId":"S1","paidAt":"2023-12-05T10:00:00"}',
    '{"type":"deposit.paid","paymentId":"D1","providerId":"P1","amountFen":10000000,"paidAt":"2023-11-01T00:00:00Z"}',
  ].join('\n'),
);

beforeAll(() => {
  expect(run('local', 'status', '--json').json()).toEqual({ running: false });
});
afterAll(() => {
  run('local', 'down');
  rmSync(dir, { recursive: true, force: true });
});

describe('renewal local', () => {
  it('up starts the stack, is safe to run twice, and status reports the endpoints', () => {
    const first = run('local', 'up', '--json');
    expect(first.code).toBe(0);
    const second = run('local', 'up', '--json');
    expect(second.json()).toEqual(first.json());
    const status = run('local', 'status', '--json').json();
    expect(Object.keys(status).sort()).toEqual(['dynamodb', 'notice', 'running', 's3', 'ses', 'viewer']);
    expect(status.running).toBe(true);
    expect(status.dynamodb).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(status.s3).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(status.notice).toBe(`${status.s3}/renewal-notice/renewal-2024/latest/index.html`);
    expect(status.viewer).toMatch(/^http:\/\//);
  });
});

describe('renewal import / rejected', () => {
  it('prints exactly {accepted, duplicates, rejected} and shows progress on stderr only', () => {
    const r = run('import', FILE, '--json');
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ accepted: 4, duplicates: 1, rejected: 1 });
    expect(r.stderr).toMatch(/import/);
  });

  it('is idempotent: a second import finds only duplicates', () => {
    expect(run('import', FILE, '--json').json()).toEqual({ accepted: 0, duplicates: 5, rejected: 1 });
  });

  it('lists rejected events with line, event and a reason naming the field', () => {
    const rows = run('rejected', '--json').json() as { line?: number; event?: unknown; reason: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ line: 6, reason: expect.stringMatching(/^paidAt: .*offset/) });
    expect(rows[0]!.event).toMatchObject({ orderId: 'O2' });
  });

  it('exits 2 naming the problem on bad usage and bad input', () => {
    const missing = run('import', join(dir, 'nope.ndjson'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/FILE: no such file/);
    expect(run('import').code).toBe(2);
    expect(run('frobnicate').code).toBe(2);
    const threshold = run('evaluate', '--campaign', 'renewal-2024', '--threshold', 'abc');
    expect(threshold.code).toBe(2);
    expect(threshold.stderr).toMatch(/--threshold/);
    const asOf = run('evaluate', '--campaign', 'renewal-2024', '--as-of', '2024-01-01T00:00:00', '--dry-run');
    expect(asOf.code).toBe(2);
    expect(asOf.stderr).toMatch(/--as-of/);
    const campaign = run('report', '--campaign', 'renewal-1999', '--json');
    expect(campaign.code).toBe(2);
    expect(campaign.stderr).toMatch(/--campaign/);
  });

  it('every command that takes --campaign refuses an unknown id, listing the known ones; with several campaigns it names none by guess', () => {
    for (const args of [['aggregate'], ['evaluate'], ['notify'], ['report'], ['publish'], ['notice'], ['demo'], ['rehearse'], ['bench']]) {
      const r = run(...args, '--campaign', 'renewal-1999');
      expect(r.code, args[0]).toBe(2);
      expect(r.stderr, args[0]).toMatch(/unknown campaign "renewal-1999" \(known: renewal-2024, renewal-2027\)/);
    }
    const none = run('notice', '--json');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--campaign: required, there are 2 campaigns \(renewal-2024, renewal-2027\)/);
  });

  it('the npm scripts name commands that exist (npm start runs the demo, npm run bench the bench)', () => {
    const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { scripts: Record<string, string> };
    const [, command] = pkg.scripts.start!.match(/^node bin\/renewal\.js (\S+)$/) ?? [];
    expect(command).toBe('demo');
    expect(run(command!, '--help').code).toBe(0);
    const [, entry] = pkg.scripts.bench!.match(/^node tools\/run\.js (\S+)$/) ?? [];
    expect(entry).toBe('tools/bench/main.ts');
    const bench = spawnSync(process.execPath, [resolve(import.meta.dirname, '../../tools/run.js'), entry!, '--help'], { encoding: 'utf8' });
    expect(bench.status, bench.stderr).toBe(0);
    expect(bench.stdout).toMatch(/--scale/);
  });

  it('--help exits 0', () => {
    const r = run('import', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/NDJSON/);
  });
});

describe('renewal notice (before anything is published)', () => {
  it('prints version 0 and no providers, as OPS.md says', () => {
    const r = run('notice', '--campaign', 'renewal-2024', '--json');
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ campaignId: 'renewal-2024', version: 0, providers: [] });
    expect(run('notice', '--campaign', 'renewal-2024').stdout).toMatch(/not published yet[\s\S]*renewal-notice\/renewal-2024\/latest\/index.html/);
  });
});

describe('renewal evaluate / report', () => {
  it('evaluates finally and reports in the OPS.md shape', () => {
    const e = run('evaluate', '--campaign', 'renewal-2024', '--threshold', '1', '--json');
    expect(e.code).toBe(0);
    expect(e.json()).toMatchObject({ mode: 'final', counts: { retained: 1, revoked: 0, not_assessed: 0 } });
    const r = run('report', '--campaign', 'renewal-2024', '--json').json();
    expect(r).toMatchObject({
      campaignId: 'renewal-2024',
      final: true,
      assessments: [{ providerId: 'P1', outcome: 'retained', reasons: [], paidOrders: 1, thresholdOrders: 1, depositBalanceFen: 10_000_000 }],
    });
    expect(r.assessments[0]).not.toHaveProperty('noticeDate');
    // The outcome mail went out with the evaluation; the report shows it per provider, the table too.
    expect(r.assessments[0].mail).toMatchObject({ status: 'sent', notice: 1, at: expect.stringMatching(/^20\d\d-/) });
    const tableView = run('report', '--campaign', 'renewal-2024');
    expect(tableView.stdout).toMatch(/\bmail\b/);
    expect(tableView.stdout).toMatch(/P1 .* sent 20\d\d-/);
    const again = run('notify', '--campaign', 'renewal-2024');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/sent before/);
    const csv = run('report', '--campaign', 'renewal-2024', '--csv').stdout.split('\r\n');
    expect(csv[0]).toMatch(/^providerId,providerName,outcome/);
    expect(csv[1]).toMatch(/^P1,测试服务商,retained,/);
  });

  it('a revocation publishes the notice; a correction that reinstates publishes version 2 saying so; the same list publishes nothing', async () => {
    const status = run('local', 'status', '--json').json() as { notice: string };
    // Nobody revoked: the evaluation had no list to hand over (the notice date's schedule publishes it).
    expect(run('notice', '--campaign', 'renewal-2024', '--json').json()).toMatchObject({ version: 0, providers: [] });
    // 5 against the decided 1: refused with what it would change, until the change is stated.
    const refused = run('evaluate', '--campaign', 'renewal-2024', '--threshold', '5');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^renewal: --change-threshold: is required: the current final decisions of renewal-2024 used thresholdOrders 1; this run's is 5 \(the run's thresholdOrders\)\. It would change 1 outcome\(s\) \(1 revoked, 0 reinstated\)/,
    );
    expect(refused.stdout).toMatch(/a change of the decided threshold of renewal-2024: 1 → 5 \(from the run's thresholdOrders\); NOT made/);
    expect(refused.stdout).toMatch(/P1\s+测试服务商\s+retained\s+revoked\s+orders_below_threshold\s+1$/m);
    const wrongFrom = run('evaluate', '--campaign', 'renewal-2024', '--threshold', '5', '--change-threshold', '2:5', '--reason', 'typo', '--json');
    expect(wrongFrom.code).toBe(2);
    expect(wrongFrom.stderr).toMatch(/^renewal: --change-threshold FROM: must be 1, the threshold of the current final decisions of renewal-2024, got 2/);
    expect(wrongFrom.json()).toMatchObject({ wouldChange: { decided: [1], to: 5, outcomes: 1, revocations: 1, noticeEntries: 1 } });
    expect(run('evaluate', '--campaign', 'renewal-2024', '--change-threshold', '1:5').stderr).toMatch(/^renewal: --reason: required with --change-threshold/);
    const revoke = run('evaluate', '--campaign', 'renewal-2024', '--threshold', '5', '--change-threshold', '1:5', '--reason', 'ops decided 5', '--json');
    expect(revoke.code).toBe(0);
    expect(revoke.json()).toMatchObject({
      thresholdSource: 'run',
      thresholdChange: { from: 1, to: 5, reason: 'ops decided 5' },
      publicationRequested: true,
      publication: { status: 'published', version: 1 },
    });
    const v1 = run('notice', '--campaign', 'renewal-2024', '--json').json();
    expect(v1).toMatchObject({
      version: 1,
      url: status.notice,
      providers: [{ providerId: 'P1', name: '测试服务商', reasons: ['orders_below_threshold'], noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' }],
      corrections: [],
    });
    // TO stands in for --threshold.
    const reinstate = run('evaluate', '--campaign', 'renewal-2024', '--change-threshold', '5:1', '--reason', 'back to 1', '--json');
    expect(reinstate.json()).toMatchObject({ publicationRequested: true, publication: { status: 'published', version: 2 } });
    const v2 = run('notice', '--campaign', 'renewal-2024', '--json').json();
    expect(v2).toMatchObject({ version: 2, providers: [], corrections: [{ version: 2, providerId: 'P1', name: '测试服务商', change: 'reinstated' }] });
    const page = await (await fetch(status.notice)).text();
    expect(page).toContain('更正');
    expect(page).toContain('测试服务商');
    // Version 1 stays readable at its own address.
    const old = await fetch(status.notice.replace('/latest/', '/v1/'));
    expect(old.status).toBe(200);
    expect(await old.text()).toContain('第 1 版');
    expect(run('publish', '--campaign', 'renewal-2024', '--json').json()).toMatchObject({ status: 'unchanged', version: 2, written: [] });
    const text = run('notice', '--campaign', 'renewal-2024');
    expect(text.stdout).toContain('version 2');
    expect(text.stdout).toContain('reinstated');
    expect(text.stdout).toContain(status.notice);
    const report = run('report', '--campaign', 'renewal-2024');
    expect(report.stdout).toMatch(/threshold changed 5→1 by person:\S+ at 20\d\d-\S+: back to 1/);
  }, 360_000); // thirteen CLI processes, each loading the SDK: slow on a busy 2-core machine

  it('an unknown --provider exits 2 naming it', () => {
    const r = run('evaluate', '--campaign', 'renewal-2024', '--provider', 'P1', '--provider', 'NOPE');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^renewal: --provider: unknown provider\(s\) "NOPE"/);
  });

  it('notice warns about a version claimed but never written, and publish completes it', async () => {
    const status = run('local', 'status', '--json').json() as { dynamodb: string };
    // A publication that died after claiming version 3 in the ledger, before writing its files.
    const db = createDocumentClient({ endpoint: status.dynamodb, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const ledger = new DecisionStore(db, localTables());
    const v2 = (await ledger.latestNotice('renewal-2024'))!;
    expect(v2.version).toBe(2);
    expect(await ledger.addNoticeVersion({ campaignId: 'renewal-2024', version: 3, publishedAt: '2024-03-05T02:00:00.000Z', providers: v2.providers, corrections: [] })).toBe(true);
    db.destroy();
    const warned = run('notice', '--json');
    expect(warned.code).toBe(0);
    expect(warned.json()).toMatchObject({ version: 2, pending: { version: 3, claimedAt: '2024-03-05T02:00:00.000Z', providers: 0, corrections: 0 } });
    expect(warned.stderr).toMatch(/version 3 of the notice was claimed at 2024-03-05T02:00:00\.000Z .*`renewal publish --campaign renewal-2024` completes it/);
    expect(run('publish', '--json').json()).toMatchObject({ status: 'completed', version: 3 });
    const done = run('notice', '--json');
    expect(done.json()).toMatchObject({ version: 3 });
    expect(done.json()).not.toHaveProperty('pending');
    expect(done.stderr).not.toMatch(/claimed/);
  });

  it('report --html writes a self-contained page of the decisions', () => {
    const file = join(dir, 'out', 'report.html');
    const r = run('report', '--campaign', 'renewal-2024', '--html', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(file);
    const page = readFileSync(file, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('data-provider-id="P1"');
    expect(page).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1)/);
    expect(run('report', '--campaign', 'renewal-2024', '--html', file, '--json').code).toBe(2);
  });
});

describe('renewal local down', () => {
  it('stops the stack', () => {
    expect(run('local', 'down').code).toBe(0);
    expect(run('local', 'status', '--json').json()).toEqual({ running: false });
  });
});

describe('renewal campaign', () => {
  it('list: every campaign file, where it stands, and its schedule (notice versions from the running embedded stack)', () => {
    const r = run('campaign', 'list', '--json');
    expect(r.code).toBe(0);
    const rows = r.json() as { campaignId: string; state: string; periodStart: string; periodEnd: string; schedule: boolean }[];
    expect(rows.map(({ campaignId, periodStart, periodEnd, schedule }) => ({ campaignId, periodStart, periodEnd, schedule }))).toEqual([
      { campaignId: 'renewal-2024', periodStart: '2023-12-01', periodEnd: '2024-02-29', schedule: false },
      { campaignId: 'renewal-2027', periodStart: '2026-12-01', periodEnd: '2027-02-28', schedule: true },
    ]);
    // renewal-2024 ended long ago: closed, or published once its notice has a version.
    expect(['closed', 'published']).toContain(rows[0]!.state);
    expect(run('campaign', 'list').stdout).toMatch(/renewal-2024\s+(closed|published)\s+2023-12-01 \.\. 2024-02-29\s+no/);
  });

  it('show: the instants in UTC and China time, the schedules, the threshold and its source', () => {
    const v = run('campaign', 'show', 'renewal-2027', '--json').json();
    expect(v.instants).toEqual({
      periodStart: { utc: '2026-11-30T16:00:00.000Z', china: '2026-12-01T00:00:00+08:00' },
      periodEnd: { utc: '2027-02-28T16:00:00.000Z', china: '2027-03-01T00:00:00+08:00' },
      evaluation: { utc: '2027-02-28T16:30:00.000Z', china: '2027-03-01T00:30:00+08:00' },
      noticePublication: { utc: '2027-03-01T02:00:00.000Z', china: '2027-03-01T10:00:00+08:00' },
      reapplyFrom: { date: '2027-05-30', utc: '2027-05-29T16:00:00.000Z', china: '2027-05-30T00:00:00+08:00' },
    });
    expect(v.schedules.map((s: { expression: string }) => s.expression)).toEqual(['rate(15 minutes)', 'at(2027-03-01T00:30:00)', 'cron(0 10 ? * MON *)', 'at(2027-03-01T10:00:00)']);
    expect(v.threshold).toMatchObject({ thresholdOrders: 10000, source: 'campaign' });
    const old = run('campaign', 'show', 'renewal-2024', '--json').json();
    expect(old.schedules).toEqual([]);
    expect(old.threshold).toMatchObject({ thresholdOrders: null, source: 'none' });
    expect(run('campaign', 'show', 'renewal-1999').code).toBe(2);
  });

  it('check: a good file prints what show prints; a bad one exits 2 with every bad field', () => {
    const good = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../campaigns/renewal-2027.json'), 'utf8'));
    const goodFile = join(dir, 'renewal-2030.json');
    writeFileSync(
      goodFile,
      JSON.stringify({
        ...good,
        campaignId: 'renewal-2030',
        periodStartDate: '2029-12-01',
        periodEndDate: '2030-02-28',
        certifiedBeforeDate: '2029-12-01',
        regularizedBeforeDate: '2029-12-01',
        noticeDate: '2030-03-01',
      }),
    );
    const ok = run('campaign', 'check', goodFile, '--json');
    expect(ok.code).toBe(0);
    expect(ok.json()).toMatchObject({ campaignId: 'renewal-2030', instants: { periodStart: { utc: '2029-11-30T16:00:00.000Z' } } });
    const badFile = join(dir, 'renewal-2031.json');
    writeFileSync(badFile, JSON.stringify({ ...good, campaignId: 'renewal-2031', periodEndDate: '2031-02-29', noticeDate: '2026-12-05', thresholdOrders: 0, colour: 'red' }));
    const bad = run('campaign', 'check', badFile, '--json');
    expect(bad.code).toBe(2);
    const errors = (bad.json() as { errors: { field: string; message: string }[] }).errors;
    expect(errors.map((e) => e.field).sort()).toEqual(['colour', 'periodEndDate', 'thresholdOrders']);
    const human = run('campaign', 'check', badFile);
    expect(human.code).toBe(2);
    expect(human.stdout).toMatch(/periodEndDate\s+"2031-02-29" is not a day that exists/);
  });

  it('evaluate on a campaign with only the placeholder threshold, no --threshold and no THRESHOLD_ORDERS: says so, exits 2 naming thresholdOrders', () => {
    const r = run('evaluate', '--campaign', 'renewal-2024', '--dry-run', '--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/thresholdOrders: campaign renewal-2024 has no threshold/);
    expect(r.stdout).toBe('');
  });

  it('RENEWAL_CAMPAIGNS_DIR points at other files; a bad one is refused naming the file and field', () => {
    const other = join(dir, 'campaigns');
    const good = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../campaigns/renewal-2024.json'), 'utf8'));
    spawnSync('mkdir', ['-p', other]);
    writeFileSync(join(other, 'renewal-2024.json'), JSON.stringify({ ...good, noticeDate: '2024-02-01' }));
    const r = spawnSync(process.execPath, [BIN, 'campaign', 'list'], { env: { ...env, RENEWAL_CAMPAIGNS_DIR: other }, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/renewal-2024\.json: noticeDate: 2024-02-01 is not after the period/);
  });
});
