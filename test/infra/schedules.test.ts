import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCampaigns } from '#shared/campaigns.ts';
import { seasonSchedule, wallClock } from '../../cdk/schedules.ts';
import { OUTPUTS } from '../../cdk/names.ts';
import { REPO_CAMPAIGNS } from '../support/campaigns.ts';
import { actionsOf, logicalId, roleStatements, synth } from './synth.ts';

/**
 * The seasons' schedules, pinned to literal values: for each campaign whose file says
 * `"schedule": true`, the expression, its time zone, start and end, the payload, the retry policy,
 * the dead-letter queue and a role that may invoke only its own function. Two scheduled campaigns
 * (test/fixtures/campaigns/two-seasons: renewal-2024 with a null threshold that the deployment's
 * THRESHOLD_ORDERS fills, and renewal-2027 with its own) share one stack.
 */
const TWO_SEASONS = loadCampaigns(join(import.meta.dirname, '..', 'fixtures', 'campaigns', 'two-seasons'));
const s = synth({ thresholdOrders: '300' }, { campaigns: TWO_SEASONS });
type ScheduleProps = {
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  StartDate?: string;
  EndDate?: string;
  State: string;
  GroupName: unknown;
  FlexibleTimeWindow: { Mode: string };
  Target: {
    Arn: unknown;
    Input: string;
    RoleArn: { 'Fn::GetAtt': [string, string] };
    DeadLetterConfig: { Arn: unknown };
    RetryPolicy: { MaximumRetryAttempts: number; MaximumEventAgeInSeconds: number };
  };
};
const schedules = s.appTemplate.findResources('AWS::Scheduler::Schedule') as Record<string, { Properties: ScheduleProps }>;
const SCHEDULE_IDS = ['AggregationSchedule', 'EvaluationSchedule', 'ProgressMailSchedule', 'NoticeSchedule'] as const;
/** The schedule `id` of campaign `campaignId` (its construct is named by the campaign id). */
const scheduleOf = (campaignId: string, id: (typeof SCHEDULE_IDS)[number]) => {
  const found = schedules[logicalId(s.stack.node.findChild(campaignId).node.findChild(id))];
  expect(found, `${campaignId}/${id}`).toBeDefined();
  return found!.Properties;
};
type Fn = 'aggregate' | 'evaluate' | 'notify' | 'publish';
type Job = 'aggregation' | 'evaluation';
const fnArn = (name: Fn) => ({ 'Fn::GetAtt': [logicalId(s.stack.functions[name]), 'Arn'] });
/** A state machine's Ref is its ARN. */
const machineArn = (job: Job) => ({ Ref: logicalId(s.stack.stateMachines[job].stateMachine) });
const dlqArn = () => ({ 'Fn::GetAtt': [logicalId(s.stack.seasonJobs.deadLetterQueue), 'Arn'] });
const iso = (d: string | undefined) => new Date(d!).toISOString();

/** The instant an `at(...)` expression in a fixed-offset zone stands for. */
function atInstant(expression: string, zone: string | undefined): string {
  const wall = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression)?.[1];
  const offsets: Record<string, string> = { 'Asia/Shanghai': '+08:00', UTC: 'Z', 'Etc/UTC': 'Z' };
  if (!wall || !zone || !offsets[zone]) throw new Error(`cannot read ${expression} in ${zone}`);
  return new Date(`${wall}${offsets[zone]}`).toISOString();
}

const RETRY_FOR_A_DAY = { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 };

/** A recurring schedule: its expression in its zone, between a start and an end. */
function expectRecurring(p: ScheduleProps, want: { expression: string; zone: string; start: string; end: string }) {
  expect(p.ScheduleExpression).toBe(want.expression);
  expect(p.ScheduleExpressionTimezone).toBe(want.zone);
  expect(iso(p.StartDate)).toBe(want.start);
  expect(iso(p.EndDate)).toBe(want.end);
}

/** A one-time `at(...)` schedule in China time. Scheduler ignores start and end for these: none are set. */
function expectOnce(p: ScheduleProps, want: { expression: string; instant: string }) {
  expect(p.ScheduleExpression).toBe(want.expression);
  expect(p.ScheduleExpressionTimezone).toBe('Asia/Shanghai');
  expect(atInstant(p.ScheduleExpression, p.ScheduleExpressionTimezone)).toBe(want.instant);
  expect(p.StartDate).toBeUndefined();
  expect(p.EndDate).toBeUndefined();
}

/** What a schedule invokes: its function with exactly this payload, failures to the schedule dead-letter queue. */
function expectTarget(p: ScheduleProps, want: ({ fn: Fn } | { job: Job }) & { input: string; retry: ScheduleProps['Target']['RetryPolicy'] }) {
  expect(p.Target.Input).toBe(want.input);
  expect(p.Target.Arn).toEqual('fn' in want ? fnArn(want.fn) : machineArn(want.job));
  expect(p.Target.DeadLetterConfig).toEqual({ Arn: dlqArn() });
  expect(p.Target.RetryPolicy).toEqual(want.retry);
}

describe('season schedules, two scheduled campaigns on one stack', () => {
  it('there are exactly four schedules per scheduled campaign, enabled, in the stage group, without a flexible window', () => {
    expect(Object.keys(schedules).sort()).toEqual(['renewal-2024', 'renewal-2027'].flatMap((c) => SCHEDULE_IDS.map((id) => logicalId(s.stack.node.findChild(c).node.findChild(id)))).sort());
    const groupId = logicalId(s.stack.node.findChild('ScheduleGroup'));
    for (const r of Object.values(schedules) as { Properties: ScheduleProps; DependsOn?: string[] }[]) {
      expect(r.Properties.State).toBe('ENABLED');
      expect(r.Properties.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
      expect(r.Properties.GroupName).toBe('provider-renewal-dev');
      expect(r.DependsOn).toContain(groupId);
    }
    s.appTemplate.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    s.appTemplate.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'provider-renewal-dev' });
  });

  describe.each([
    {
      campaignId: 'renewal-2024',
      aggregation: { start: '2023-11-30T16:00:00.000Z', end: '2024-02-29T17:00:00.000Z' },
      evaluation: { expression: 'at(2024-03-01T00:30:00)', instant: '2024-02-29T16:30:00.000Z' },
      progress: { start: '2023-11-30T16:00:00.000Z', end: '2024-02-29T16:00:00.000Z' },
      notice: { expression: 'at(2024-03-01T10:00:00)', instant: '2024-03-01T02:00:00.000Z' },
    },
    {
      // 2026-12-01 .. 2027-02-28: 90 days, no 29 February.
      campaignId: 'renewal-2027',
      aggregation: { start: '2026-11-30T16:00:00.000Z', end: '2027-02-28T17:00:00.000Z' },
      evaluation: { expression: 'at(2027-03-01T00:30:00)', instant: '2027-02-28T16:30:00.000Z' },
      progress: { start: '2026-11-30T16:00:00.000Z', end: '2027-02-28T16:00:00.000Z' },
      notice: { expression: 'at(2027-03-01T10:00:00)', instant: '2027-03-01T02:00:00.000Z' },
    },
  ])('$campaignId', (want) => {
    const input = JSON.stringify({ campaignId: want.campaignId });
    it('(a) aggregation: rate(15 minutes) from the period start to one hour after its end', () => {
      const p = scheduleOf(want.campaignId, 'AggregationSchedule');
      // The zone is irrelevant to a rate, but stated.
      expectRecurring(p, { expression: 'rate(15 minutes)', zone: 'Etc/UTC', ...want.aggregation });
      // It starts an execution of the aggregation's state machine (issue 21), which invokes the function.
      expectTarget(p, { job: 'aggregation', input, retry: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 } });
    });

    it('(b) evaluation: once, 00:30 China time the day after the period, exactly its campaign id', () => {
      const p = scheduleOf(want.campaignId, 'EvaluationSchedule');
      expectOnce(p, want.evaluation);
      expectTarget(p, { job: 'evaluation', input, retry: RETRY_FOR_A_DAY });
      expect(JSON.parse(p.Target.Input)).toEqual({ campaignId: want.campaignId });
    });

    it('(c) progress mail: cron(0 10 ? * MON *) Asia/Shanghai (Monday 10:00 China = 02:00Z) within the period', () => {
      const p = scheduleOf(want.campaignId, 'ProgressMailSchedule');
      expectRecurring(p, { expression: 'cron(0 10 ? * MON *)', zone: 'Asia/Shanghai', ...want.progress });
      expectTarget(p, { fn: 'notify', input: JSON.stringify({ campaignId: want.campaignId, kind: 'progress' }), retry: RETRY_FOR_A_DAY });
    });

    it('(d) delisting notice: once, on the notice date at 10:00 China time, after the evaluation', () => {
      const p = scheduleOf(want.campaignId, 'NoticeSchedule');
      expectOnce(p, want.notice);
      const evaluation = scheduleOf(want.campaignId, 'EvaluationSchedule');
      expect(Date.parse(atInstant(p.ScheduleExpression, p.ScheduleExpressionTimezone))).toBeGreaterThan(Date.parse(atInstant(evaluation.ScheduleExpression, evaluation.ScheduleExpressionTimezone)));
      expectTarget(p, { fn: 'publish', input, retry: RETRY_FOR_A_DAY });
    });

    it.each([
      ['AggregationSchedule', 'states:StartExecution', 'aggregation'],
      ['EvaluationSchedule', 'states:StartExecution', 'evaluation'],
      ['ProgressMailSchedule', 'lambda:InvokeFunction', 'notify'],
      ['NoticeSchedule', 'lambda:InvokeFunction', 'publish'],
    ] as const)('%s: its own role may %s of %s only, and write to the schedule dead-letter queue', (id, action, what) => {
      const roleId = scheduleOf(want.campaignId, id).Target.RoleArn['Fn::GetAtt'][0];
      expect(roleId).toBe(logicalId(s.stack.node.findChild(want.campaignId).node.findChild(`${id}Role`)));
      const statements = roleStatements(s.appTemplate, roleId);
      expect(statements.map((st) => [actionsOf(st), st.Resource])).toEqual([
        [[action], action === 'states:StartExecution' ? machineArn(what) : fnArn(what as Fn)],
        [['sqs:SendMessage'], dlqArn()],
      ]);
      const role = s.appTemplate.findResources('AWS::IAM::Role')[roleId] as { Properties: { AssumeRolePolicyDocument: { Statement: { Principal: unknown; Condition: unknown }[] } } };
      const trust = role.Properties.AssumeRolePolicyDocument.Statement;
      expect(trust).toHaveLength(1);
      expect(trust[0]!.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
      expect(JSON.stringify(trust[0]!.Condition)).toContain('aws:SourceAccount');
      expect(JSON.stringify(trust[0]!.Condition)).toContain('aws:SourceArn');
    });

    it('has its NoticeUrl output and its own dashboard', () => {
      const outputs = s.appTemplate.findOutputs('*');
      expect(JSON.stringify(outputs[OUTPUTS.noticeUrl(want.campaignId)]?.Value)).toContain(`/${want.campaignId}/latest/index.html`);
      s.appTemplate.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `provider-renewal-dev-${want.campaignId}` });
    });
  });

  it('the times derive from the campaign (RULES.md 2.1) and read as the brief states them', () => {
    const season = seasonSchedule(TWO_SEASONS.require('renewal-2024'));
    expect(season.evaluation.at.toISOString()).toBe('2024-02-29T16:30:00.000Z');
    expect(season.evaluation.wallClock).toBe('2024-03-01T00:30:00');
    expect(wallClock(Date.UTC(2024, 1, 29, 16, 30), 0)).toBe('2024-02-29T16:30:00');
  });

  it('a failed scheduled run that Lambda gave up on lands in the same dead-letter queue', () => {
    for (const fn of ['aggregate', 'evaluate', 'notify', 'publish'] as const) {
      s.appTemplate.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(s.stack.functions[fn]) },
        DestinationConfig: { OnFailure: { Destination: dlqArn() } },
      });
    }
  });

  it('seasonSchedules=false leaves the schedules (and their roles) out, and keeps one dashboard and every NoticeUrl', () => {
    const off = synth({ seasonSchedules: 'false' }, { campaigns: TWO_SEASONS });
    off.appTemplate.resourceCountIs('AWS::Scheduler::Schedule', 0);
    off.appTemplate.resourceCountIs('AWS::Scheduler::ScheduleGroup', 0);
    off.appTemplate.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const outputs = off.appTemplate.findOutputs('*');
    expect(
      Object.keys(outputs)
        .filter((k) => k.startsWith('NoticeUrl'))
        .sort(),
    ).toEqual(['NoticeUrlRenewal2024', 'NoticeUrlRenewal2027']);
  });
});

describe("which campaigns get schedules is the files' decision", () => {
  it('the repository: renewal-2024 (its period over) has none, renewal-2027 has its four; the clock of the synth changes nothing', () => {
    const a = synth();
    const ids = Object.keys(a.appTemplate.findResources('AWS::Scheduler::Schedule')).sort();
    expect(ids).toHaveLength(4);
    expect(ids.every((id) => id.startsWith('renewal2027'))).toBe(true);
    expect(REPO_CAMPAIGNS.scheduled().map((c) => c.campaignId)).toEqual(['renewal-2027']);
    // Every campaign keeps its notice page, scheduled or not.
    expect(
      Object.keys(a.appTemplate.findOutputs('*'))
        .filter((k) => k.startsWith('NoticeUrl'))
        .sort(),
    ).toEqual(['NoticeUrlRenewal2024', 'NoticeUrlRenewal2027']);
    // Synthesized years later: the same template (the clock only adds a warning).
    const later = synth({}, { now: new Date('2031-06-01T00:00:00Z') });
    expect(later.appTemplate.toJSON()).toEqual(a.appTemplate.toJSON());
  });

  it('a scheduled campaign with no threshold (its file null, no THRESHOLD_ORDERS) fails the synth, naming it and thresholdOrders', () => {
    expect(() => synth({}, { campaigns: TWO_SEASONS })).toThrow(/thresholdOrders: the scheduled campaign renewal-2024 has no threshold/);
  });
});
