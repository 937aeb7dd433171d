import { describe, expect, it } from 'vitest';
import { actionsOf, logicalId, resourcesOf, roleStatements, synth } from './synth.ts';

/**
 * The season jobs as state machines (issue 21): one per job, shared by the campaigns, with the
 * plan / Map of shards / finish shape, the literal retry policy and concurrency, logging, a timeout,
 * and a role that may invoke its own function and nothing else.
 */
const s = synth();
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Machine = {
  Properties: { DefinitionString: { 'Fn::Join': [string, Json[]] }; RoleArn: { 'Fn::GetAtt': [string, string] }; StateMachineType?: string; LoggingConfiguration: Json; TracingConfiguration?: Json };
};
const machines = s.appTemplate.findResources('AWS::StepFunctions::StateMachine') as Record<string, Machine>;
const fnArnToken = (fn: 'aggregate' | 'evaluate') => `<${logicalId(s.stack.functions[fn])}.Arn>`;

/** The definition with each intrinsic written as `<LogicalId.Attribute>` (`<AWS::Partition>` for a Ref), parsed. */
function definitionOf(job: 'aggregation' | 'evaluation'): Record<string, Json> {
  const m = machines[logicalId(s.stack.stateMachines[job].stateMachine)]!;
  const [sep, parts] = m.Properties.DefinitionString['Fn::Join'];
  const text = parts
    .map((p) => {
      if (typeof p === 'string') return p;
      const o = p as Record<string, Json>;
      if ('Ref' in o) return `<${String(o.Ref)}>`;
      const [id, attribute] = o['Fn::GetAtt'] as [string, string];
      return `<${id}.${attribute}>`;
    })
    .join(sep);
  return JSON.parse(text) as Record<string, Json>;
}

const SERVICE_ERRORS = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException', 'Lambda.ClientExecutionTimeoutException'];
const SERVICE_RETRY = { ErrorEquals: SERVICE_ERRORS, IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2 };
const task = (fn: string, parameters: Record<string, Json>, retry: Json[], next: { Next: string } | { End: true }) => ({
  Type: 'Task',
  Comment: expect.any(String),
  Resource: 'arn:<AWS::Partition>:states:::lambda:invoke',
  Parameters: { FunctionName: fn, ...parameters },
  ResultSelector: { 'value.$': '$.Payload' },
  OutputPath: '$.value',
  TimeoutSeconds: 960,
  Retry: retry,
  ...next,
});

describe.each([
  ['aggregation', 'aggregate', 172_800],
  ['evaluation', 'evaluate', 21_600],
] as const)('the %s state machine', (job, fn, timeoutSeconds) => {
  const def = definitionOf(job);

  it('plans with the execution input and step "plan", then ends at once when the campaign is busy', () => {
    expect(def.StartAt).toBe('Plan');
    const states = def.States as Record<string, Json>;
    expect(states.Plan).toEqual(task(fnArnToken(fn), { 'Payload.$': 'States.JsonMerge($, States.StringToJson(\'{"step":"plan"}\'), false)' }, [SERVICE_RETRY], { Next: 'Busy' }));
    expect(states.Busy).toEqual({ Type: 'Choice', Comment: expect.any(String), Choices: [{ Variable: '$.status', StringEquals: 'busy', Next: 'Skipped' }], Default: 'Shards' });
    expect(states.Skipped).toEqual({ Type: 'Succeed', Comment: expect.any(String) });
  });

  it('runs one shard per item of $.shards, 10 at a time, inline, retrying all but a lost lock', () => {
    const map = (def.States as Record<string, Record<string, Json>>).Shards!;
    expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.shards', MaxConcurrency: 10, ResultPath: '$.results', Next: 'Finish' });
    expect(map.ItemSelector).toEqual({ 'campaignId.$': '$.campaignId', step: 'shard', 'runId.$': '$.runId', 'fence.$': '$.fence', 'context.$': '$.context', 'shard.$': '$$.Map.Item.Value.shard' });
    expect(map.ItemProcessor).toEqual({
      ProcessorConfig: { Mode: 'INLINE' },
      StartAt: 'Shard',
      States: {
        Shard: task(
          fnArnToken(fn),
          { 'Payload.$': '$' },
          [{ ErrorEquals: ['LockLostError'], MaxAttempts: 0 }, SERVICE_RETRY, { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 10, MaxAttempts: 3, BackoffRate: 2 }],
          { End: true },
        ),
      },
    });
  });

  it("finishes with every shard result and the plan's run, fence and context", () => {
    const states = def.States as Record<string, Json>;
    expect(states.Finish).toEqual(
      task(
        fnArnToken(fn),
        { Payload: { 'campaignId.$': '$.campaignId', step: 'finish', 'runId.$': '$.runId', 'fence.$': '$.fence', 'context.$': '$.context', 'results.$': '$.results' } },
        [SERVICE_RETRY],
        { End: true },
      ),
    );
    expect(Object.keys(states).sort()).toEqual(['Busy', 'Finish', 'Plan', 'Shards', 'Skipped']);
  });

  it(`is a Standard workflow with a ${timeoutSeconds} s timeout that logs every event to its own log group`, () => {
    expect(def.TimeoutSeconds).toBe(timeoutSeconds);
    const m = machines[logicalId(s.stack.stateMachines[job].stateMachine)]!;
    expect(m.Properties.StateMachineType ?? 'STANDARD').toBe('STANDARD');
    expect(m.Properties.LoggingConfiguration).toEqual({
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logicalId(s.stack.stateMachines[job].logs), 'Arn'] } } }],
      IncludeExecutionData: true,
      Level: 'ALL',
    });
    s.appTemplate.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 180 });
  });

  it('has a role that may invoke its own function (no versions, no aliases) and set up its log delivery, nothing else', () => {
    const roleId = machines[logicalId(s.stack.stateMachines[job].stateMachine)]!.Properties.RoleArn['Fn::GetAtt'][0];
    const statements = roleStatements(s.appTemplate, roleId);
    expect(statements.map((st) => [actionsOf(st), resourcesOf(st)])).toEqual([
      // Log delivery accepts no resource but "*" (Step Functions developer guide, "IAM policies for logging to CloudWatch Logs").
      [
        [
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
          'logs:DescribeLogGroups',
        ],
        ['*'],
      ],
      [['lambda:InvokeFunction'], [{ 'Fn::GetAtt': [logicalId(s.stack.functions[fn]), 'Arn'] }]],
    ]);
    const role = s.appTemplate.findResources('AWS::IAM::Role')[roleId] as {
      Properties: { AssumeRolePolicyDocument: { Statement: { Principal: unknown }[] } };
      Metadata?: Record<string, { action: string; resource?: string }[]>;
    };
    expect(role.Properties.AssumeRolePolicyDocument.Statement.map((st) => st.Principal)).toEqual([{ Service: 'states.amazonaws.com' }]);
    // The log-delivery grants are used when the state machine is deployed, never by an execution: acknowledged for the rehearsal.
    expect(role.Metadata?.['renewal:acknowledged-grants']?.map((a) => `${a.action} ${a.resource}`)).toEqual(actionsOf(statements[0]!).map((a) => `${a} *`));
  });
});

describe('state machine configuration', () => {
  it('there is exactly one state machine per job, the aggregation and the evaluation, shared by the campaigns (the input names the campaign)', () => {
    expect(Object.keys(machines).sort()).toEqual([logicalId(s.stack.stateMachines.aggregation.stateMachine), logicalId(s.stack.stateMachines.evaluation.stateMachine)].sort());
    expect(JSON.stringify(machines)).not.toContain('renewal-2024');
  });

  it('mapConcurrency sets the Map MaxConcurrency of both; more than an inline Map runs is refused, naming the key', () => {
    const five = synth({ mapConcurrency: '5' });
    for (const m of Object.values(five.appTemplate.findResources('AWS::StepFunctions::StateMachine')) as Machine[]) {
      expect(JSON.stringify(m.Properties.DefinitionString)).toContain('\\"MaxConcurrency\\":5}');
    }
    expect(() => synth({ mapConcurrency: '41' })).toThrow(/mapConcurrency.*1 to 40/);
    expect(() => synth({ mapConcurrency: '0' })).toThrow(/mapConcurrency/);
  });

  it('tracing=true traces the executions too', () => {
    const traced = synth({ tracing: 'true' });
    for (const m of Object.values(traced.appTemplate.findResources('AWS::StepFunctions::StateMachine')) as Machine[]) expect(m.Properties.TracingConfiguration).toEqual({ Enabled: true });
    for (const m of Object.values(machines)) expect(m.Properties.TracingConfiguration ?? { Enabled: false }).toEqual({ Enabled: false });
  });

  it("the stack outputs both state machines' ARNs (an execution started by hand)", () => {
    const outputs = s.appTemplate.findOutputs('*');
    expect(outputs.AggregationStateMachineArn?.Value).toEqual({ Ref: logicalId(s.stack.stateMachines.aggregation.stateMachine) });
    expect(outputs.EvaluationStateMachineArn?.Value).toEqual({ Ref: logicalId(s.stack.stateMachines.evaluation.stateMachine) });
  });

  it('seasonSchedules=false keeps both state machines (ops start executions by hand)', () => {
    const off = synth({ seasonSchedules: 'false' });
    off.appTemplate.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
  });
});
