/**
 * `renewal rehearse` on the real cloud assembly: `npx cdk synth` with bundling, as a fresh clone makes
 * it, then a small season played through it offline. And the two changes a rehearsal exists to catch,
 * each made to a copy of the synthesized templates (never to the code): a grant removed from a
 * function's policy, and a table's index changed in the Data template behind shared/tables.ts's back.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rehearse, type RehearsalResult } from '#tools/rehearsal/rehearse.ts';
import { REHEARSAL_MAIL_FROM, rehearsalCampaigns } from '#tools/rehearsal/command.ts';
import { synthesize } from '#tools/rehearsal/synth.ts';
import { demoThreshold, generateSeason } from '#tools/demo-season/season.ts';
import { reference, renewal2024 } from '../support/reference.ts';
import { PROJECT_ROOT } from '../../cdk/function.ts';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'renewal-rehearsal-test-'));
const assembly = join(work, 'cdk.out');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A few providers, every rule case the generator has room for, every schedule kind firing. */
const SEASON = { providers: 8, orders: 240, seed: 20240301 };
const parameters = { MailFrom: REHEARSAL_MAIL_FROM };

beforeAll(async () => {
  // As ops deploy for the season played: its file scheduled, its threshold in the deployment's configuration.
  await synthesize(assembly, { thresholdOrders: String(demoThreshold(SEASON)) }, () => {}, rehearsalCampaigns(join(work, 'campaigns'), 'renewal-2024'));
}, 300_000);

/** A copy of the assembly with one template changed. */
function variant(name: string, template: 'App' | 'Data', change: (t: Template) => void): string {
  const dir = join(work, name);
  cpSync(assembly, dir, { recursive: true });
  const file = join(dir, `${template}.template.json`);
  const t = JSON.parse(readFileSync(file, 'utf8')) as Template;
  change(t);
  writeFileSync(file, JSON.stringify(t));
  return dir;
}

type Statement = { Action: string | string[]; Resource: unknown };
type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

describe('a small season through the synthesized assembly', () => {
  let result: RehearsalResult;
  let exitCode: number;
  beforeAll(async () => {
    // Through the CLI as ops run it: the exit status and one JSON document on stdout.
    const args = ['rehearse', '--assembly', assembly, '--providers', String(SEASON.providers), '--orders', String(SEASON.orders), '--seed', String(SEASON.seed), '--json'];
    const cli = await run(process.execPath, [join(PROJECT_ROOT, 'bin/renewal.js'), ...args], { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 580_000 }).then(
      (out) => ({ ...out, code: 0 }),
      (e: { stdout: string; code: number }) => e,
    );
    exitCode = cli.code;
    result = JSON.parse(cli.stdout) as RehearsalResult;
  }, 600_000);

  it('passes: no denied call, every decision as the season planned it, nothing dead-lettered', () => {
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(exitCode).toBe(0);
    expect(result.iam.deniedCalls).toBe(0);
    expect(result.decisions.mismatches).toBe(0);
    expect(result.decisions.total).toBe(SEASON.providers);
    expect(result.deadLettered).toBe(0);
  });

  it('the deployed report decides every provider as the reference evaluator does from the same lines (and as the season planned)', () => {
    const lines = generateSeason(SEASON).lines;
    const want = reference(renewal2024(demoThreshold(SEASON)), lines).decisions.map((d) => [d.providerId, d.outcome, d.reasons.join('+'), d.paidOrders, d.depositBalanceFen]);
    const got = [...result.report!.assessments].sort((a, b) => (a.providerId < b.providerId ? -1 : 1)).map((a) => [a.providerId, a.outcome, a.reasons.join('+'), a.paidOrders, a.depositBalanceFen]);
    expect(got).toEqual(want);
    expect(new Set(want.map((d) => d[1]))).toEqual(new Set(['retained', 'revoked', 'not_assessed']));
  });

  it('runs both season jobs on their state machines, every execution through', () => {
    expect(Object.keys(result.stateMachines).sort()).toEqual(['AggregationStateMachine', 'EvaluationStateMachine']);
    for (const m of Object.values(result.stateMachines)) expect(m).toMatchObject({ failed: 0 });
    // The period-end schedule fires once: one execution of the evaluation (plan, its shards, finish).
    expect(result.stateMachines.EvaluationStateMachine).toMatchObject({ executions: 1, succeeded: 1, busy: 0 });
    expect(result.stateMachines.EvaluationStateMachine!.taskAttempts).toBeGreaterThanOrEqual(3);
  });

  it('fires every kind of schedule the template has: rate, at (the evaluation, the notice) and cron', () => {
    const byExpression = Object.values(result.schedules).map((s) => [s.expression.split('(')[0], s.invoked]);
    expect(byExpression).toEqual(
      expect.arrayContaining([
        ['rate', expect.any(Number)],
        ['at', 1],
        ['at', 1],
        ['cron', 13],
      ]),
    );
    for (const s of Object.values(result.schedules)) expect(s.invoked, s.expression).toBeGreaterThan(0);
    // Every firing the template implies is accounted for: the season's aggregation runs every 15 minutes.
    const rate = Object.values(result.schedules).find((s) => s.expression.startsWith('rate'))!;
    expect(rate.firings).toBe(rate.invoked + rate.idle + rate.failed);
    expect(rate.firings).toBe(91 * 96 + 4); // 2023-11-30T16:00Z .. 2024-02-29T17:00Z
  });

  it('sends each assessed provider exactly one outcome mail, through the configuration set', () => {
    const assessed = result.report!.assessments.filter((a) => a.outcome !== 'not_assessed').length;
    expect(assessed).toBeGreaterThan(0);
    expect(result.mail.outcome).toEqual({ sent: assessed, duplicates: 0, missing: [] });
    expect(result.mail.configurationSets).toHaveLength(1);
    expect(result.mail.configurationSets[0]).toMatch(/MailConfigurationSet/);
    // SES's events went through SNS to mail-events, and the deployed report shows each delivered.
    expect(result.mail.status).toEqual({ delivered: assessed });
  });

  it('publishes the notice on its date: exactly the revoked providers', () => {
    expect(result.notice).toMatchObject({ version: 1, matchesDecisions: true });
    expect(result.notice!.providers).toBe(result.report!.assessments.filter((a) => a.outcome === 'revoked').length);
  });

  it('shows each metric the dashboard reads emitted under that name and namespace', () => {
    expect(result.metrics.dashboard.length).toBeGreaterThan(5);
    expect(result.metrics.dashboard.filter((m) => !m.emitted)).toEqual([]);
  });

  it('shows the rare paths in use: the runs by hand after the season change nothing', () => {
    expect(result.drill.length).toBeGreaterThanOrEqual(4);
    expect(result.drill.every((d) => d.ok)).toBe(true);
    expect(result.iam.unusedGrants.filter((g) => !g.acknowledged)).toEqual([]);
  });

  it('prints the OPS.md shape', () => {
    expect(result).toMatchObject({
      ok: true,
      iam: { deniedCalls: 0, denied: [], unusedGrants: expect.any(Array) },
      deadLettered: 0,
      decisions: { total: SEASON.providers, mismatches: 0 },
      mail: { outcome: { sent: expect.any(Number), duplicates: 0 }, progress: { sent: expect.any(Number) } },
      report: { campaignId: 'renewal-2024', final: true },
    });
    for (const s of Object.values(result.schedules)) expect(s).toMatchObject({ firings: expect.any(Number), failed: 0 });
    for (const f of Object.values(result.functions))
      expect(f).toMatchObject({ invocations: expect.any(Number), errors: 0, retries: 0, maxDurationMs: expect.any(Number), timeoutMs: expect.any(Number) });
  });
});

describe('what the rehearsal catches', () => {
  it('a grant removed from a function policy: AccessDenied, naming the function, action and resource', async () => {
    const dir = variant('no-intake-write', 'App', (t) => {
      const [, policy] = Object.entries(t.Resources).find(([id, r]) => r.Type === 'AWS::IAM::Policy' && id.startsWith('IntakeFunctionRole'))!;
      const doc = policy.Properties.PolicyDocument as { Statement: Statement[] };
      const orders = doc.Statement.find((st) => JSON.stringify(st.Resource).includes('OrdersTable'))!;
      orders.Action = (orders.Action as string[]).filter((a) => a !== 'dynamodb:BatchWriteItem');
    });
    const r = await rehearse({ assemblyDir: dir, demo: SEASON, parameters, failFast: true });
    expect(r.ok).toBe(false);
    expect(r.iam.denied).toContainEqual(
      expect.objectContaining({ function: 'intake', action: 'dynamodb:BatchWriteItem', resource: expect.stringMatching(/^arn:aws:dynamodb:[^:]+:\d{12}:table\/ProviderRenewal-dev-Data-OrdersTable/) }),
    );
    expect(r.problems.join('\n')).toMatch(/denied by IAM/);
  }, 300_000);

  it.each([
    ['aggregation', 'Aggregation', 'aggregate', 'AggregateFunction'],
    ['evaluation', 'Evaluation', 'evaluate', 'EvaluateFunction'],
  ] as const)(
    "lambda:InvokeFunction cut from the %s state machine's role: its plan is denied, the execution fails, and so does the rehearsal",
    async (job, Job, fn, fnId) => {
      const dir = variant(`no-${job}-machine-invoke`, 'App', (t) => {
        const [, policy] = Object.entries(t.Resources).find(([id, r]) => r.Type === 'AWS::IAM::Policy' && id.startsWith(`${Job}StateMachineRole`))!;
        const doc = policy.Properties.PolicyDocument as { Statement: Statement[] };
        doc.Statement = doc.Statement.filter((st) => JSON.stringify(st.Action) !== JSON.stringify('lambda:InvokeFunction'));
        // The evaluation's execution starts at the period's end: without the season's recurring schedules the
        // rehearsal reaches it at once (what it catches is the same; its catch-up would be a full recount).
        if (job === 'evaluation') {
          for (const [id, r] of Object.entries(t.Resources)) if (r.Type === 'AWS::Scheduler::Schedule' && /AggregationSchedule|ProgressMailSchedule/.test(id)) delete t.Resources[id];
        }
      });
      const r = await rehearse({ assemblyDir: dir, demo: SEASON, parameters, failFast: true });
      expect(r.ok).toBe(false);
      expect(r.iam.denied).toContainEqual(
        expect.objectContaining({
          function: `${Job}StateMachine`,
          action: 'lambda:InvokeFunction',
          resource: expect.stringMatching(new RegExp(`^arn:aws:lambda:[^:]+:\\d{12}:function:ProviderRenewal-dev-App-${fnId}`)),
        }),
      );
      // The scheduler's own call was allowed: it may start the execution, which then could not invoke the function.
      expect(r.iam.calls).toContainEqual(
        expect.objectContaining({
          function: expect.stringMatching(new RegExp(`${Job}Schedule$`)),
          action: 'states:StartExecution',
          resource: expect.stringMatching(new RegExp(`:stateMachine:[^:]*${Job}StateMachine`)),
        }),
      );
      // Every execution the schedule started (a firing already due when the first failed starts one more) failed.
      const executions = r.stateMachines[`${Job}StateMachine`]!;
      expect(executions.executions).toBeGreaterThan(0);
      expect(executions).toMatchObject({ failed: executions.executions, succeeded: 0 });
      expect(r.functions[fn]!.invocations).toBe(0);
      expect(r.problems.join('\n')).toMatch(/denied by IAM/);
      expect(r.problems.join('\n')).toMatch(
        new RegExp(`execution\\(s\\) of ${Job}StateMachine failed \\(last: Lambda\\.AWSLambdaException: User: .* is not authorized to perform: lambda:InvokeFunction`),
      );
    },
    300_000,
  );

  it('an index changed in the Data template (not in shared/tables.ts): the deployment fails the season', async () => {
    const dir = variant('gsi-drift', 'Data', (t) => {
      const [, orders] = Object.entries(t.Resources).find(([id, r]) => r.Type === 'AWS::DynamoDB::Table' && id.startsWith('OrdersTable'))!;
      const gsis = orders.Properties.GlobalSecondaryIndexes as { IndexName: string }[];
      // The index by store keeps its keys but is renamed, as a hand edit of the template would.
      gsis.find((g) => g.IndexName === 'byStore')!.IndexName = 'byStoreId';
    });
    const r = await rehearse({ assemblyDir: dir, demo: SEASON, parameters, failFast: true });
    expect(r.ok).toBe(false);
    expect(r.tables.find((t) => t.logicalId.startsWith('OrdersTable'))!.indexes).toContain('byStoreId');
    expect(r.functions.aggregate!.errors).toBeGreaterThan(0);
    expect(r.functions.aggregate!.lastError).toMatch(/index/i);
  }, 300_000);
});
