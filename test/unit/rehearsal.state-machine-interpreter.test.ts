/**
 * The rehearsal validates a state machine's definition once and runs that interpreter for every
 * execution (tools/rehearsal/state-machines.ts `machineOf`): an invalid definition is still refused,
 * every time it is asked for, and executions of one interpreter do not share what they did.
 */
import { describe, expect, it } from 'vitest';
import type { Deployment } from '#tools/rehearsal/assembly.ts';
import { Iam } from '#tools/rehearsal/iam.ts';
import { machineOf, runExecution, taskStates, type StateMachineSpec } from '#tools/rehearsal/state-machines.ts';

const FN = 'arn:aws:lambda:ap-southeast-1:123456789012:function:job';
const definition = (next = 'Done') => ({
  StartAt: 'Count',
  States: {
    Count: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: FN, 'Payload.$': '$' }, OutputPath: '$.Payload', Next: next },
    Done: { Type: 'Succeed' },
  },
});
const spec = (def: object = definition()): StateMachineSpec => ({
  logicalId: 'JobStateMachineABCDEF12',
  name: 'JobStateMachine',
  arn: 'arn:aws:states:ap-southeast-1:123456789012:stateMachine:job',
  definition: def as never,
  principal: {
    name: 'JobStateMachine',
    roleArn: 'arn:aws:iam::123456789012:role/JobStateMachineRole',
    sessionArn: 'arn:aws:sts::123456789012:assumed-role/JobStateMachineRole/JobStateMachine',
    policies: [{ name: 'p', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: FN }] } }],
    acknowledged: [],
  },
  tasks: taskStates(def as never),
  startFunctionArn: FN,
});

describe('one validated interpreter per state machine', () => {
  it('is the same interpreter for every execution of a spec, and its own for another spec', () => {
    const a = spec();
    const b = spec();
    expect(machineOf(a)).toBe(machineOf(a));
    expect(machineOf(b)).not.toBe(machineOf(a));
  });

  it('refuses an invalid definition, each time it is asked for (nothing invalid is kept)', () => {
    const bad = spec(definition('Nowhere'));
    expect(() => machineOf(bad)).toThrow(/invalid/i);
    expect(() => machineOf(bad)).toThrow(/invalid/i);
  });

  it('runs executions one after another and side by side, each with its own input and output', async () => {
    const s = spec();
    const iam = new Iam({} as Deployment);
    const invoke = async (_arn: string, payload: unknown) => {
      await new Promise((r) => setTimeout(r, (payload as { n: number }).n % 3));
      return { ok: true, value: { counted: (payload as { n: number }).n * 10 } };
    };
    const first = await runExecution(s, { n: 1 }, { iam, invoke });
    const together = await Promise.all([2, 3, 4, 5].map((n) => runExecution(s, { n }, { iam, invoke })));
    expect([first, ...together].map((r) => [r.status, r.output, r.attempts])).toEqual([1, 2, 3, 4, 5].map((n) => ['SUCCEEDED', { counted: n * 10 }, { Count: 1 }]));
  });
});
