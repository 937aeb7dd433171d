/**
 * Step Functions in the rehearsal: each `AWS::StepFunctions::StateMachine` of the template, its
 * definition with every reference resolved, run by a kept States Language interpreter
 * (`aws-local-stepfunctions`), never by one of our own. Each Task state that invokes a Lambda function
 * (`arn:aws:states:::lambda:invoke` or the function's ARN as the resource) is overridden into the
 * rehearsal's Lambda runtime of that function (`functions.ts`), after the IAM evaluation (`iam.ts`) has
 * decided whether the state machine's role may `lambda:InvokeFunction` it, as Step Functions would
 * invoke it with that role. A refused invocation fails the task with `Lambda.AWSLambdaException` and
 * AWS's message, and the definition's own Retry and Catch decide what follows.
 *
 * Retries wait no real time (the pause of every retrier is overridden to 0 ms); the invocations run on
 * the rehearsal's simulated clock, like every other.
 *
 * A distributed Map (`ProcessorConfig.Mode` DISTRIBUTED): the interpreter runs its item processor
 * in-process like an inline one (it reads no ProcessorConfig, no ItemReader, no ResultWriter, no
 * tolerated failure) and starts no child executions. What AWS's Map Run would do with the role is
 * checked instead where each child would start (`childStartStates`): states:StartExecution on the state
 * machine, states:DescribeExecution and states:StopExecution on its execution, each by the IAM
 * evaluation; a denial fails that child with `States.Runtime` and AWS's message, so a grant cut
 * from the role fails the execution.
 */
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { Deployment, Json, Resource } from './assembly.ts';
import { Iam, type Principal } from './iam.ts';

export interface StateMachineSpec {
  logicalId: string;
  /** `AggregationStateMachine` (the logical id without CDK's hash). */
  name: string;
  arn: string;
  definition: Record<string, Json>;
  principal: Principal;
  /** Every Task state (nested ones too, by name) and the function it invokes. */
  tasks: Map<string, { functionArn: string; integration: boolean }>;
  /** The function of the state the definition starts at: the job a schedule's firing stands for. */
  startFunctionArn?: string;
}

/** One Task state's call, as an override sees it. */
export interface TaskCall {
  machine: string;
  state: string;
  functionArn: string;
  payload: unknown;
}

/**
 * Replaces what a Task does, for tests: `invoke` is the real, IAM-checked invocation of the task's
 * function (call it with any payload, or not at all); what the override returns is the function's answer.
 */
export type TaskOverride = (call: TaskCall, invoke: (payload: unknown) => Promise<unknown>) => Promise<unknown>;

export interface InvokeOutcome {
  ok: boolean;
  value?: unknown;
  error?: { errorType: string; errorMessage: string };
}

export interface ExecutionDeps {
  iam: Iam;
  /** A synchronous (RequestResponse) invocation on the simulated clock. */
  invoke: (functionArn: string, payload: unknown) => Promise<InvokeOutcome>;
  override?: TaskOverride;
  /** The simulated instant the execution starts (its context object's StartTime). */
  startMs?: number;
  /** One line per task: when, which state, how it ended. */
  trace?: (line: string) => void;
}

export interface ExecutionResult {
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  output?: unknown;
  error?: string;
  cause?: string;
  /** Task attempts, by state name (a retried task counts each attempt). */
  attempts: Record<string, number>;
  /** Invocations the state machine's role was refused. */
  denied: number;
}

export interface StateMachineStats {
  executions: number;
  succeeded: number;
  failed: number;
  /** Executions whose output says the campaign was busy (another run held its lock). */
  busy: number;
  taskAttempts: number;
  lastError?: string;
}

export class StateMachineError extends Error {
  override name = 'StateMachineError';
}

/** Every state machine of the deployment; `principalOf` gives each its role's principal. */
export function stateMachineSpecs(d: Deployment, principalOf: (role: Resource, name: string) => Principal): StateMachineSpec[] {
  return d.resourcesOfType('AWS::StepFunctions::StateMachine').map((sm) => {
    const p = d.props<{ DefinitionString?: string; Definition?: Record<string, Json>; RoleArn: string }>(sm);
    const definition = (p.Definition ?? (p.DefinitionString !== undefined ? JSON.parse(p.DefinitionString) : undefined)) as Record<string, Json> | undefined;
    if (!definition) throw new StateMachineError(`${sm.logicalId}: no definition in the template (DefinitionS3Location is not read by the rehearsal)`);
    const role = d.resourcesOfType('AWS::IAM::Role').find((r) => d.getAtt(r, 'Arn') === p.RoleArn);
    if (!role) throw new StateMachineError(`${sm.logicalId}: its role ${p.RoleArn} is not in the template`);
    const name = sm.logicalId.replace(/[0-9A-F]{8}$/, '');
    const tasks = taskStates(definition, sm.logicalId);
    const start = tasks.get(String(definition.StartAt));
    return { logicalId: sm.logicalId, name, arn: d.ref(sm), definition, principal: principalOf(role, name), tasks, ...(start ? { startFunctionArn: start.functionArn } : {}) };
  });
}

/** The Task states of a definition, nested Map and Parallel states included, with the function each invokes. */
export function taskStates(definition: Record<string, Json>, where = 'definition'): Map<string, { functionArn: string; integration: boolean }> {
  const out = new Map<string, { functionArn: string; integration: boolean }>();
  const walk = (states: Record<string, Record<string, Json>>) => {
    for (const [name, st] of Object.entries(states)) {
      if (st.Type === 'Task') {
        const resource = String(st.Resource);
        const integration = /^arn:[^:]+:states:::lambda:invoke$/.test(resource);
        const fnArn = integration ? (st.Parameters as Record<string, Json> | undefined)?.FunctionName : /^arn:[^:]+:lambda:/.test(resource) ? resource : undefined;
        if (typeof fnArn !== 'string') throw new StateMachineError(`${where}: Task ${name} (${resource}) is not a Lambda invocation with a literal FunctionName: the rehearsal runs no other`);
        if (out.has(name)) throw new StateMachineError(`${where}: two Task states are named ${name}; the interpreter's overrides go by name`);
        out.set(name, { functionArn: fnArn, integration });
      }
      const nested = (st.ItemProcessor ?? st.Iterator) as { States?: Record<string, Record<string, Json>> } | undefined;
      if (nested?.States) walk(nested.States);
      for (const b of (st.Branches ?? []) as { States: Record<string, Record<string, Json>> }[]) walk(b.States);
    }
  };
  walk(definition.States as Record<string, Record<string, Json>>);
  return out;
}

/** Every state with a Retry field, by name (for the 0 ms retry pauses). */
function retryingStates(definition: Record<string, Json>): string[] {
  const out: string[] = [];
  const walk = (states: Record<string, Record<string, Json>>) => {
    for (const [name, st] of Object.entries(states)) {
      if (Array.isArray(st.Retry)) out.push(name);
      const nested = (st.ItemProcessor ?? st.Iterator) as { States?: Record<string, Record<string, Json>> } | undefined;
      if (nested?.States) walk(nested.States);
      for (const b of (st.Branches ?? []) as { States: Record<string, Record<string, Json>> }[]) walk(b.States);
    }
  };
  walk(definition.States as Record<string, Record<string, Json>>);
  return out;
}

/** What a distributed Map's Map Run does with the role before each child execution runs (see the module comment). */
const CHILD_START_ACTIONS = ['states:StartExecution', 'states:DescribeExecution', 'states:StopExecution'] as const;

/**
 * The definition as the interpreter runs it: each distributed Map's item processor starts with one
 * more Task state, `<Map>ChildStart`, which passes its input through once the child's grants are
 * checked. Returns the copy and the name of each such state, by the Map it stands for.
 */
export function childStartStates(definition: Record<string, Json>): { definition: Record<string, Json>; starts: Map<string, string> } {
  const copy = structuredClone(definition);
  const starts = new Map<string, string>();
  const walk = (states: Record<string, Record<string, Json>>) => {
    for (const [name, st] of Object.entries(states)) {
      const nested = (st.ItemProcessor ?? st.Iterator) as { ProcessorConfig?: { Mode?: string }; StartAt: string; States: Record<string, Record<string, Json>> } | undefined;
      if (nested?.States) walk(nested.States);
      for (const b of (st.Branches ?? []) as { States: Record<string, Record<string, Json>> }[]) walk(b.States);
      if (nested?.ProcessorConfig?.Mode !== 'DISTRIBUTED') continue;
      const start = `${name}ChildStart`;
      if (nested.States[start]) throw new StateMachineError(`a state is named ${start}: the rehearsal's check of ${name}'s child executions uses that name`);
      nested.States = { [start]: { Type: 'Task', Resource: 'arn:aws:states:::states:startExecution', Next: nested.StartAt }, ...nested.States };
      nested.StartAt = start;
      starts.set(start, name);
    }
  };
  walk(copy.States as Record<string, Record<string, Json>>);
  return { definition: copy, starts };
}

/** An error as Step Functions names it to Retry and Catch (`errorType` of a function error). */
class TaskError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * The interpreter of a spec's definition, validated (ARNs, paths) when first asked for and then run
 * for every execution: validation compiles asl-validator's schemas anew on each construction, which
 * cost more than the executions themselves, and a definition does not change between executions.
 */
const interpreters = new WeakMap<StateMachineSpec, { machine: StateMachine; starts: Map<string, string> }>();
export function machineOf(spec: StateMachineSpec): StateMachine {
  return interpreterOf(spec).machine;
}

/** The interpreter and the states where a distributed Map would start a child (childStartStates), made once per spec. */
function interpreterOf(spec: StateMachineSpec): { machine: StateMachine; starts: Map<string, string> } {
  let made = interpreters.get(spec);
  if (!made) {
    const { definition, starts } = childStartStates(spec.definition);
    made = { machine: new StateMachine(definition as unknown as StateMachineDefinition, { validationOptions: { checkArn: true, checkPaths: true } }), starts };
    interpreters.set(spec, made);
  }
  return made;
}

/** Runs one execution of `spec` with `input` to its end, every Lambda task through `deps`. */
export async function runExecution(spec: StateMachineSpec, input: unknown, deps: ExecutionDeps): Promise<ExecutionResult> {
  const attempts: Record<string, number> = {};
  let denied = 0;
  const callLambda = async (state: string, functionArn: string, payload: unknown): Promise<unknown> => {
    if (!(await deps.iam.authorize(spec.principal, 'lambda:InvokeFunction', functionArn))) {
      denied++;
      // What Step Functions' Lambda integration reports for an AccessDeniedException from Lambda.
      throw new TaskError('Lambda.AWSLambdaException', Iam.deniedMessage(spec.principal, 'lambda:InvokeFunction', functionArn));
    }
    const r = await deps.invoke(functionArn, payload);
    deps.trace?.(`${spec.name}.${state} → ${r.ok ? 'ok' : `${r.error?.errorType}: ${r.error?.errorMessage}`}`);
    if (!r.ok) throw new TaskError(r.error?.errorType ?? 'Error', r.error?.errorMessage ?? 'the function failed');
    return r.value ?? null;
  };
  const handlers: Record<string, (input: Json) => Promise<Json>> = {};
  for (const [state, task] of spec.tasks) {
    handlers[state] = async (taskInput) => {
      attempts[state] = (attempts[state] ?? 0) + 1;
      // lambda:invoke hands Lambda the Payload of its parameters and answers an envelope around the function's answer.
      const payload = task.integration ? ((taskInput as Record<string, Json>).Payload ?? null) : taskInput;
      const value = deps.override
        ? await deps.override({ machine: spec.name, state, functionArn: task.functionArn, payload }, (p) => callLambda(state, task.functionArn, p))
        : await callLambda(state, task.functionArn, payload);
      return (task.integration ? { ExecutedVersion: '$LATEST', Payload: value, StatusCode: 200 } : value) as Json;
    };
  }
  const startTime = new Date(deps.startMs ?? Date.now()).toISOString();
  const executionName = `rehearsal-${startTime.replace(/[^0-9]/g, '').slice(0, 14)}`;
  const executionArn = `${spec.arn.replace(':stateMachine:', ':execution:')}:${executionName}`;
  const { machine, starts } = interpreterOf(spec);
  for (const [state, map] of starts) {
    handlers[state] = async (childInput) => {
      for (const action of CHILD_START_ACTIONS) {
        const resource = action === 'states:StartExecution' ? spec.arn : executionArn;
        if (await deps.iam.authorize(spec.principal, action, resource)) continue;
        denied++;
        deps.trace?.(`${spec.name}.${map} → a child execution denied ${action}`);
        throw new TaskError('States.Runtime', Iam.deniedMessage(spec.principal, action, resource));
      }
      return childInput;
    };
  }
  const execution = machine.run(input as Json, {
    overrides: {
      taskResourceLocalHandlers: handlers,
      retryIntervalOverrides: Object.fromEntries(retryingStates(spec.definition).map((s) => [s, 0])),
    },
    context: {
      Execution: { Id: executionArn, Name: executionName, RoleArn: spec.principal.roleArn, StartTime: startTime },
      StateMachine: { Id: spec.arn, Name: spec.arn.split(':').pop()! },
    },
  });
  try {
    const output = await execution.result;
    return { status: 'SUCCEEDED', output, attempts, denied };
  } catch (err) {
    const e = err as Error & { cause?: Error };
    const cause = e.cause instanceof Error ? e.cause : e;
    return { status: e.name === 'ExecutionTimeoutError' ? 'TIMED_OUT' : 'FAILED', error: cause.name, cause: cause.message, attempts, denied };
  }
}

/**
 * The state machines of a rehearsal: which schedule targets are state machines, the executions they
 * start, and their figures. What `rehearse.ts` calls from its scheduler's firing path.
 */
export class StateMachines {
  readonly byArn = new Map<string, StateMachineSpec>();
  readonly stats: Record<string, StateMachineStats> = {};

  constructor(specs: StateMachineSpec[]) {
    for (const s of specs) {
      this.byArn.set(s.arn, s);
      this.stats[s.name] = { executions: 0, succeeded: 0, failed: 0, busy: 0, taskAttempts: 0 };
    }
  }

  principals(): Principal[] {
    return [...this.byArn.values()].map((s) => s.principal);
  }

  /** Starts an execution and runs it to its end (an execution Scheduler started: its failure is the execution's own). */
  async start(spec: StateMachineSpec, input: unknown, deps: ExecutionDeps): Promise<ExecutionResult> {
    const stats = this.stats[spec.name]!;
    stats.executions++;
    const r = await runExecution(spec, input, deps);
    stats.taskAttempts += Object.values(r.attempts).reduce((a, b) => a + b, 0);
    if (r.status === 'SUCCEEDED') {
      stats.succeeded++;
      if ((r.output as { status?: string } | null)?.status === 'busy') stats.busy++;
    } else {
      stats.failed++;
      stats.lastError = `${r.error}: ${r.cause}`;
    }
    return r;
  }

  /** What went wrong, as the rehearsal's problems. */
  problems(): string[] {
    return Object.entries(this.stats)
      .filter(([, s]) => s.failed > 0)
      .map(([name, s]) => `${s.failed} execution(s) of ${name} failed (last: ${s.lastError})`);
  }
}
