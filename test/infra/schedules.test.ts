import { describe, expect, it } from 'vitest';
import { seasonSchedule, wallClock } from '../../cdk/season.ts';
import { actionsOf, logicalId, roleStatements, synth } from './synth.ts';

/**
 * The season's schedules, pinned to the literal values of issue #4: the expression, its time zone,
 * start and end, the payload, the retry policy, the dead-letter queue and a role that may invoke
 * only its own function.
 */
const s = synth();
type ScheduleProps = {
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  StartDate?: string;
  EndDate?: string;
  State: string;
  GroupName: unknown;
  FlexibleTimeWindow: { Mode: string };
  Target: { Arn: unknown; Input: string; RoleArn: { 'Fn::GetAtt': [string, string] }; DeadLetterConfig: { Arn: unknown }; RetryPolicy: { MaximumRetryAttempts: number; MaximumEventAgeInSeconds: number } };
};
const schedules = s.appTemplate.findResources('AWS::Scheduler::Schedule') as Record<string, { Properties: ScheduleProps }>;
const byId = (prefix: string) => {
  const found = Object.entries(schedules).filter(([id]) => id.startsWith(prefix));
  expect(found, prefix).toHaveLength(1);
  return found[0]![1].Properties;
};
type Fn = 'aggregate' | 'evaluate' | 'notify' | 'publish';
const fnArn = (name: Fn) => ({ 'Fn::GetAtt': [logicalId(s.stack.functions[name]), 'Arn'] });
const dlqArn = () => ({ 'Fn::GetAtt': [logicalId(s.stack.scheduleDeadLetterQueue), 'Arn'] });
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
function expectTarget(p: ScheduleProps, want: { fn: Fn; input: string; retry: ScheduleProps['Target']['RetryPolicy'] }) {
  expect(p.Target.Input).toBe(want.input);
  expect(p.Target.Arn).toEqual(fnArn(want.fn));
  expect(p.Target.DeadLetterConfig).toEqual({ Arn: dlqArn() });
  expect(p.Target.RetryPolicy).toEqual(want.retry);
}

describe('season schedules', () => {
  it('there are exactly the four season schedules, enabled, in the stage group, without a flexible window', () => {
    expect(Object.keys(schedules).sort()).toEqual(
      ['AggregationSchedule', 'EvaluationSchedule', 'ProgressMailSchedule', 'NoticeSchedule'].map((id) => logicalId(s.stack.node.findChild(id))).sort(),
    );
    const groupId = logicalId(s.stack.node.findChild('ScheduleGroup'));
    for (const r of Object.values(schedules) as { Properties: ScheduleProps; DependsOn?: string[] }[]) {
      expect(r.Properties.State).toBe('ENABLED');
      expect(r.Properties.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
      expect(r.Properties.GroupName).toBe('provider-renewal-dev');
      expect(r.DependsOn).toContain(groupId);
    }
    s.appTemplate.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'provider-renewal-dev' });
  });

  it('(a) aggregation: rate(15 minutes) from 2023-11-30T16:00Z to 2024-02-29T17:00Z with {"campaignId":"renewal-2024"}', () => {
    const p = byId('AggregationSchedule');
    // The zone is irrelevant to a rate, but stated.
    expectRecurring(p, { expression: 'rate(15 minutes)', zone: 'Etc/UTC', start: '2023-11-30T16:00:00.000Z', end: '2024-02-29T17:00:00.000Z' });
    expectTarget(p, { fn: 'aggregate', input: '{"campaignId":"renewal-2024"}', retry: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 } });
  });

  it('(b) evaluation: once, at(2024-03-01T00:30:00) Asia/Shanghai = 2024-02-29T16:30:00Z, exactly {"campaignId":"renewal-2024"}', () => {
    const p = byId('EvaluationSchedule');
    expectOnce(p, { expression: 'at(2024-03-01T00:30:00)', instant: '2024-02-29T16:30:00.000Z' });
    expectTarget(p, { fn: 'evaluate', input: '{"campaignId":"renewal-2024"}', retry: RETRY_FOR_A_DAY });
    expect(JSON.parse(p.Target.Input)).toEqual({ campaignId: 'renewal-2024' });
  });

  it('(c) progress mail: cron(0 10 ? * MON *) Asia/Shanghai (Monday 10:00 China = 02:00Z) within the period', () => {
    const p = byId('ProgressMailSchedule');
    expectRecurring(p, { expression: 'cron(0 10 ? * MON *)', zone: 'Asia/Shanghai', start: '2023-11-30T16:00:00.000Z', end: '2024-02-29T16:00:00.000Z' });
    expectTarget(p, { fn: 'notify', input: '{"campaignId":"renewal-2024","kind":"progress"}', retry: RETRY_FOR_A_DAY });
  });

  it('(d) delisting notice: once, at(2024-03-01T10:00:00) Asia/Shanghai = 2024-03-01T02:00:00Z, after the evaluation, exactly {"campaignId":"renewal-2024"}', () => {
    const p = byId('NoticeSchedule');
    expectOnce(p, { expression: 'at(2024-03-01T10:00:00)', instant: '2024-03-01T02:00:00.000Z' });
    const evaluation = byId('EvaluationSchedule');
    expect(Date.parse(atInstant(p.ScheduleExpression, p.ScheduleExpressionTimezone))).toBeGreaterThan(Date.parse(atInstant(evaluation.ScheduleExpression, evaluation.ScheduleExpressionTimezone)));
    expectTarget(p, { fn: 'publish', input: '{"campaignId":"renewal-2024"}', retry: RETRY_FOR_A_DAY });
  });

  it.each([
    ['AggregationSchedule', 'aggregate'],
    ['EvaluationSchedule', 'evaluate'],
    ['ProgressMailSchedule', 'notify'],
    ['NoticeSchedule', 'publish'],
  ] as const)('%s: its role may invoke %s only, and write to the schedule dead-letter queue', (id, fn) => {
    const roleId = byId(id).Target.RoleArn['Fn::GetAtt'][0];
    const statements = roleStatements(s.appTemplate, roleId);
    expect(statements.map((st) => [actionsOf(st), st.Resource])).toEqual([
      [['lambda:InvokeFunction'], fnArn(fn)],
      [['sqs:SendMessage'], dlqArn()],
    ]);
    const role = s.appTemplate.findResources('AWS::IAM::Role')[roleId] as { Properties: { AssumeRolePolicyDocument: { Statement: { Principal: unknown; Condition: unknown }[] } } };
    const trust = role.Properties.AssumeRolePolicyDocument.Statement;
    expect(trust).toHaveLength(1);
    expect(trust[0]!.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(JSON.stringify(trust[0]!.Condition)).toContain('aws:SourceAccount');
    expect(JSON.stringify(trust[0]!.Condition)).toContain('aws:SourceArn');
  });

  it('the times derive from the campaign (RULES.md 2.1) and read as the brief states them', () => {
    const season = seasonSchedule();
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

  it('seasonSchedules=false leaves the schedules (and their roles) out', () => {
    const off = synth({ seasonSchedules: 'false' });
    off.appTemplate.resourceCountIs('AWS::Scheduler::Schedule', 0);
    off.appTemplate.resourceCountIs('AWS::Scheduler::ScheduleGroup', 0);
  });
});
