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

// Only the aggregation has the grouped branch: a full recount is the one plan that can outgrow an
// inline Map (an evaluation of 50,000 providers is 10 shards).
describe.each([
  ['aggregation', 'aggregate', 172_800, true],
  ['evaluation', 'evaluate', 21_600, false],
] as const)('the %s state machine', (job, fn, timeoutSeconds, grouped) => {
  const def = definitionOf(job);

  it('plans with the execution input and step "plan", then ends at once when the campaign is busy', () => {
    expect(def.StartAt).toBe('Plan');
    const states = def.States as Record<string, Json>;
    expect(states.Plan).toEqual(task(fnArnToken(fn), { 'Payload.$': 'States.JsonMerge($, States.StringToJson(\'{"step":"plan"}\'), false)' }, [SERVICE_RETRY], { Next: 'Busy' }));
    expect(states.Busy).toEqual({ Type: 'Choice', Comment: expect.any(String), Choices: [{ Variable: '$.status', StringEquals: 'busy', Next: 'Skipped' }], Default: grouped ? 'Grouped' : 'Shards' });
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
    expect(Object.keys(states).sort()).toEqual(grouped ? ['Busy', 'Finish', 'FinishGroups', 'Grouped', 'Groups', 'Plan', 'Shards', 'Skipped'] : ['Busy', 'Finish', 'Plan', 'Shards', 'Skipped']);
  });

  it.runIf(grouped)(
    'runs a grouped plan (mode "groups") as a distributed Map of Standard child executions, each an inline Map over States.ArrayRange of its group, and finishes without results',
    () => {
      const states = def.States as Record<string, Record<string, Json>>;
      // A plan without mode (an inline one) takes the inline Map: the Choice tests presence first, as a missing path fails a Choice.
      expect(states.Grouped).toEqual({
        Type: 'Choice',
        Comment: expect.any(String),
        Choices: [
          {
            And: [
              { Variable: '$.mode', IsPresent: true },
              { Variable: '$.mode', StringEquals: 'groups' },
            ],
            Next: 'Groups',
          },
        ],
        Default: 'Shards',
      });
      const run = { 'campaignId.$': '$.campaignId', 'runId.$': '$.runId', 'fence.$': '$.fence', 'context.$': '$.context', 'segments.$': '$.segments' };
      expect(states.Groups).toEqual({
        Type: 'Map',
        Comment: expect.any(String),
        Label: 'Groups',
        ItemsPath: '$.groups',
        MaxConcurrency: 10,
        // Nothing of the children comes back: finish reads the shards' figures from the store.
        ResultPath: null,
        ItemSelector: { ...run, 'from.$': '$$.Map.Item.Value.from', 'to.$': '$$.Map.Item.Value.to' },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'GroupRange',
          States: {
            GroupRange: { Type: 'Pass', Comment: expect.any(String), Parameters: { ...run, 'indices.$': 'States.ArrayRange($.from, $.to, 1)' }, Next: 'GroupShards' },
            GroupShards: {
              Type: 'Map',
              Comment: expect.any(String),
              ItemsPath: '$.indices',
              MaxConcurrency: 10,
              ItemSelector: {
                'campaignId.$': '$.campaignId',
                step: 'shard',
                'runId.$': '$.runId',
                'fence.$': '$.fence',
                'context.$': '$.context',
                shard: { kind: 'segment', 'segment.$': '$$.Map.Item.Value', 'segments.$': '$.segments' },
              },
              ResultSelector: { 'shards.$': 'States.ArrayLength($)' },
              ItemProcessor: {
                ProcessorConfig: { Mode: 'INLINE' },
                StartAt: 'GroupShard',
                States: {
                  GroupShard: {
                    ...task(
                      fnArnToken(fn),
                      { 'Payload.$': '$' },
                      [{ ErrorEquals: ['LockLostError'], MaxAttempts: 0 }, SERVICE_RETRY, { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 10, MaxAttempts: 3, BackoffRate: 2 }],
                      { End: true },
                    ),
                    // Each shard answers its status only: a group's result stays small whatever it holds.
                    ResultSelector: { 'status.$': '$.Payload.status' },
                    OutputPath: '$',
                  },
                },
              },
              End: true,
            },
          },
        },
        Next: 'FinishGroups',
      });
      expect(states.FinishGroups).toEqual(
        task(fnArnToken(fn), { Payload: { 'campaignId.$': '$.campaignId', step: 'finish', 'runId.$': '$.runId', 'fence.$': '$.fence', 'context.$': '$.context' } }, [SERVICE_RETRY], { End: true }),
      );
    },
  );

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

  it(`has a role that may invoke its own function (no versions, no aliases), set up its log delivery${grouped ? ', and start, describe, stop and redrive its own executions (the distributed Map)' : ''}, nothing else`, () => {
    const smId = logicalId(s.stack.stateMachines[job].stateMachine);
    const roleId = machines[smId]!.Properties.RoleArn['Fn::GetAtt'][0];
    const executionArn = (tail: string) => ({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':states:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':execution:', { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: smId }] }] }, tail],
      ],
    });
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
      // The distributed Map's (CDK's DistributedMapPolicy): this state machine, its executions, the Groups label's children.
      ...(grouped
        ? [
            [['states:StartExecution'], [{ Ref: smId }]],
            [['states:DescribeExecution', 'states:StopExecution'], [executionArn(':*')]],
            [['states:RedriveExecution'], [executionArn('/Groups:*')]],
          ]
        : []),
    ]);
    const role = s.appTemplate.findResources('AWS::IAM::Role')[roleId] as {
      Properties: { AssumeRolePolicyDocument: { Statement: { Principal: unknown }[] } };
      Metadata?: Record<string, { action: string; resource?: string }[]>;
    };
    expect(role.Properties.AssumeRolePolicyDocument.Statement.map((st) => st.Principal)).toEqual([{ Service: 'states.amazonaws.com' }]);
    // The log-delivery grants are used when the state machine is deployed, never by an execution: acknowledged for the rehearsal.
    // The distributed Map's, used only by a grouped full recount (test/integration/recount-groups.state-machine.test.ts plays one), on any resource.
    expect(role.Metadata?.['renewal:acknowledged-grants']?.map((a) => `${a.action} ${a.resource}`)).toEqual([
      ...actionsOf(statements[0]!).map((a) => `${a} *`),
      ...(grouped ? ['states:StartExecution', 'states:DescribeExecution', 'states:StopExecution', 'states:RedriveExecution'].map((a) => `${a} undefined`) : []),
    ]);
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

  it('groupConcurrency sets the distributed Map MaxConcurrency; more than 10,000 is refused, naming the key', () => {
    const wide = synth({ groupConcurrency: '250' });
    const m = Object.values(wide.appTemplate.findResources('AWS::StepFunctions::StateMachine'))[0] as Machine;
    expect(JSON.stringify(m.Properties.DefinitionString)).toContain('\\"MaxConcurrency\\":250,\\"Label\\":\\"Groups\\"');
    expect(() => synth({ groupConcurrency: '10001' })).toThrow(/groupConcurrency.*1 to 10000/);
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
