/**
 * The rehearsal's state-machine runner (tools/rehearsal/state-machines.ts) on a tiny definition of the
 * plan / Map / finish shape: every Lambda task overridden into a stub of the function, each invocation
 * checked against the state machine role's policy by the IAM library.
 */
import { describe, expect, it } from 'vitest';
import type { Deployment } from '#tools/rehearsal/assembly.ts';
import { Iam, type Principal } from '#tools/rehearsal/iam.ts';
import { runExecution, StateMachines, taskStates, type InvokeOutcome, type StateMachineSpec } from '#tools/rehearsal/state-machines.ts';

const FN = 'arn:aws:lambda:ap-southeast-1:123456789012:function:job';
const OTHER = 'arn:aws:lambda:ap-southeast-1:123456789012:function:other';
const SERVICE = { ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException'], IntervalSeconds: 2, MaxAttempts: 2, BackoffRate: 2 };
const invokeTask = (payload: Record<string, unknown>, retry: unknown[], next: object) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke',
  Parameters: { FunctionName: FN, ...payload },
  ResultSelector: { 'value.$': '$.Payload' },
  OutputPath: '$.value',
  Retry: retry,
  ...next,
});
const DEFINITION = {
  StartAt: 'Plan',
  States: {
    Plan: invokeTask({ 'Payload.$': 'States.JsonMerge($, States.StringToJson(\'{"step":"plan"}\'), false)' }, [SERVICE], { Next: 'Busy' }),
    Busy: { Type: 'Choice', Choices: [{ Variable: '$.status', StringEquals: 'busy', Next: 'Skipped' }], Default: 'Shards' },
    Skipped: { Type: 'Succeed' },
    Shards: {
      Type: 'Map',
      ItemsPath: '$.shards',
      MaxConcurrency: 2,
      ResultPath: '$.results',
      ItemSelector: { 'campaignId.$': '$.campaignId', step: 'shard', 'fence.$': '$.fence', 'shard.$': '$$.Map.Item.Value.shard' },
      ItemProcessor: {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: 'Shard',
        States: {
          Shard: invokeTask(
            { 'Payload.$': '$' },
            [{ ErrorEquals: ['LockLostError'], MaxAttempts: 0 }, SERVICE, { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 10, MaxAttempts: 3, BackoffRate: 2 }],
            { End: true },
          ),
        },
      },
      Next: 'Finish',
    },
    Finish: invokeTask({ Payload: { 'campaignId.$': '$.campaignId', step: 'finish', 'fence.$': '$.fence', 'results.$': '$.results' } }, [SERVICE], { End: true }),
  },
};

const principal = (resource: string): Principal => ({
  name: 'JobStateMachine',
  roleArn: 'arn:aws:iam::123456789012:role/JobStateMachineRole',
  sessionArn: 'arn:aws:sts::123456789012:assumed-role/JobStateMachineRole/JobStateMachine',
  policies: [{ name: 'p', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: resource }] } }],
  acknowledged: [],
});
const spec = (resource = FN): StateMachineSpec => ({
  logicalId: 'JobStateMachineABCDEF12',
  name: 'JobStateMachine',
  arn: 'arn:aws:states:ap-southeast-1:123456789012:stateMachine:job',
  definition: DEFINITION as never,
  principal: principal(resource),
  tasks: taskStates(DEFINITION as never),
  startFunctionArn: FN,
});
const iam = () => new Iam({} as Deployment);

/** A stand-in for the job's function: answers each step as the contract says, records every payload. */
function job(opts: { busy?: boolean; failShard?: Record<number, string[]> } = {}) {
  const calls: Record<string, unknown>[] = [];
  const failures = new Map(Object.entries(opts.failShard ?? {}).map(([k, v]) => [Number(k), [...v]]));
  const invoke = async (arn: string, payload: unknown): Promise<InvokeOutcome> => {
    const p = payload as Record<string, unknown>;
    calls.push({ arn, ...p });
    if (p.step === 'plan')
      return {
        ok: true,
        value: opts.busy
          ? { status: 'busy', holder: { runId: 'r0' } }
          : { status: 'planned', campaignId: p.campaignId, runId: 'r1', fence: 7, shards: [{ shard: { lo: 0, hi: 8 } }, { shard: { lo: 8, hi: 16 } }, { shard: { lo: 16, hi: 24 } }] },
      };
    if (p.step === 'shard') {
      const lo = (p.shard as { lo: number }).lo;
      const next = failures.get(lo)?.shift();
      if (next) return { ok: false, error: { errorType: next, errorMessage: `shard ${lo}: ${next}` } };
      return { ok: true, value: { status: 'done', shard: p.shard, counted: { orders: lo + 1 } } };
    }
    return { ok: true, value: { campaignId: p.campaignId, shards: (p.results as unknown[]).length } };
  };
  return { calls, invoke };
}

describe('the rehearsal runs a state machine definition with its tasks overridden into the functions', () => {
  it('plan with the input and step "plan"; one shard per planned item with the fence; finish with every result', async () => {
    const fn = job();
    const r = await runExecution(spec(), { campaignId: 'c-1', full: true, step: 'sneaked-in' }, { iam: iam(), invoke: fn.invoke });
    expect(r).toMatchObject({ status: 'SUCCEEDED', output: { campaignId: 'c-1', shards: 3 }, attempts: { Plan: 1, Shard: 3, Finish: 1 }, denied: 0 });
    expect(fn.calls[0]).toEqual({ arn: FN, campaignId: 'c-1', full: true, step: 'plan' });
    expect(
      fn.calls
        .filter((c) => c.step === 'shard')
        .map((c) => c.shard)
        .sort((a, b) => (a as { lo: number }).lo - (b as { lo: number }).lo),
    ).toEqual([
      { lo: 0, hi: 8 },
      { lo: 8, hi: 16 },
      { lo: 16, hi: 24 },
    ]);
    for (const c of fn.calls.filter((x) => x.step === 'shard')) expect(c).toMatchObject({ campaignId: 'c-1', fence: 7 });
    expect(fn.calls.at(-1)).toEqual({
      arn: FN,
      campaignId: 'c-1',
      step: 'finish',
      fence: 7,
      results: [
        { status: 'done', shard: { lo: 0, hi: 8 }, counted: { orders: 1 } },
        { status: 'done', shard: { lo: 8, hi: 16 }, counted: { orders: 9 } },
        { status: 'done', shard: { lo: 16, hi: 24 }, counted: { orders: 17 } },
      ],
    });
  });

  it('a busy campaign ends the execution after plan: no shard, no finish', async () => {
    const fn = job({ busy: true });
    const r = await runExecution(spec(), { campaignId: 'c-1' }, { iam: iam(), invoke: fn.invoke });
    expect(r).toMatchObject({ status: 'SUCCEEDED', output: { status: 'busy' }, attempts: { Plan: 1 } });
    expect(fn.calls.map((c) => c.step)).toEqual(['plan']);
  });

  it('a failed shard is retried by the definition; a lost lock is not, and fails the execution before finish', async () => {
    const retried = job({ failShard: { 8: ['Error', 'Error'] } });
    const ok = await runExecution(spec(), { campaignId: 'c-1' }, { iam: iam(), invoke: retried.invoke });
    expect(ok).toMatchObject({ status: 'SUCCEEDED', attempts: { Plan: 1, Shard: 5, Finish: 1 } });

    const lost = job({ failShard: { 16: ['LockLostError', 'LockLostError'] } });
    const failed = await runExecution(spec(), { campaignId: 'c-1' }, { iam: iam(), invoke: lost.invoke });
    expect(failed).toMatchObject({ status: 'FAILED', error: 'LockLostError', cause: 'shard 16: LockLostError' });
    expect(lost.calls.filter((c) => c.step === 'shard' && (c.shard as { lo: number }).lo === 16)).toHaveLength(1);
    expect(lost.calls.some((c) => c.step === 'finish')).toBe(false);
  });

  it('a role that may not invoke the function: every attempt is denied as AWS words it, and the execution fails', async () => {
    const fn = job();
    const checks = iam();
    const r = await runExecution(spec(OTHER), { campaignId: 'c-1' }, { iam: checks, invoke: fn.invoke });
    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('Lambda.AWSLambdaException');
    expect(r.cause).toBe(
      `User: arn:aws:sts::123456789012:assumed-role/JobStateMachineRole/JobStateMachine is not authorized to perform: lambda:InvokeFunction on resource: ${FN} because no identity-based policy allows the lambda:InvokeFunction action`,
    );
    // The first attempt and the two retries of the service-error retrier; the function never ran.
    expect(r.denied).toBe(3);
    expect(fn.calls).toEqual([]);
    expect(checks.denials()).toEqual([{ principal: 'JobStateMachine', action: 'lambda:InvokeFunction', resource: FN, count: 3, allowed: false }]);
  });

  it('an override replaces a task and may still make the real, IAM-checked invocation', async () => {
    const fn = job();
    const machines = new StateMachines([spec()]);
    const r = await machines.start(
      spec(),
      { campaignId: 'c-1' },
      {
        iam: iam(),
        invoke: fn.invoke,
        override: async (call, invoke) => (call.state === 'Plan' ? { status: 'planned', campaignId: 'c-1', runId: 'r9', fence: 9, shards: [] } : invoke(call.payload)),
      },
    );
    expect(r).toMatchObject({ status: 'SUCCEEDED', output: { campaignId: 'c-1', shards: 0 } });
    expect(fn.calls.map((c) => c.step)).toEqual(['finish']);
    expect(fn.calls[0]).toMatchObject({ fence: 9, results: [] });
    expect(machines.stats.JobStateMachine).toMatchObject({ executions: 1, succeeded: 1, failed: 0, busy: 0, taskAttempts: 2 });
  });

  it('refuses a Task that is not a Lambda invocation, naming it', () => {
    expect(() => taskStates({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'arn:aws:states:::dynamodb:putItem', End: true } } })).toThrow(/Task A \(arn:aws:states:::dynamodb:putItem\)/);
  });
});
