/**
 * The Lambda service of the rehearsal: each `AWS::Lambda::Function` of the template run from its bundle
 * in the assembly, in execution environments (child processes running `lambda-runtime.mjs`) that get
 * the template's environment with every reference resolved, the function's own credentials, and the
 * Lambda runtime's variables. An environment handles one invocation at a time and is kept warm; a
 * timed-out or crashed one is discarded, as Lambda does.
 *
 * What the functions print is read as CloudWatch Logs would take it: Powertools' JSON log lines and
 * embedded-metric-format (EMF) documents, from which the metrics each function emitted are collected.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { assetDir, REGION, type Deployment, type Resource } from './assembly.ts';
import type { GatewayResponse } from './gateway-answers.ts';
import type { GatewayRequest } from './gateway-requests.ts';
import type { Principal } from './iam.ts';

const RUNTIME = join(import.meta.dirname, 'lambda-runtime.mjs');

export interface FunctionSpec {
  /** Short name: `intake`, `aggregate`, … (the logical id without `Function` and CDK's hash). */
  name: string;
  logicalId: string;
  physicalName: string;
  arn: string;
  handler: string;
  runtime: string;
  memoryMb: number;
  timeoutMs: number;
  environment: Record<string, string>;
  codeDir: string;
  logGroup?: { name: string; arn: string };
  principal: Principal;
  /** From `AWS::Lambda::EventInvokeConfig`; Lambda's defaults otherwise (2 retries, 6 hours). */
  async: { maxRetries: number; maxEventAgeMs: number; onFailure?: string; onSuccess?: string };
}

export interface InvokeResult {
  ok: boolean;
  value?: unknown;
  error?: { errorType: string; errorMessage: string; trace?: string[] };
  timedOut?: boolean;
  virtualStartMs: number;
  virtualEndMs: number;
  durationMs: number;
}

export interface FunctionStats {
  invocations: number;
  errors: number;
  timeouts: number;
  retries: number;
  coldStarts: number;
  /** Asynchronous invocations that ended in the on-failure destination. */
  deadLettered: number;
  maxDurationMs: number;
  peakRssMb: number;
}

export interface EmittedMetric {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  count: number;
  sum: number;
}

/** `IntakeFunction9DC22725` → `intake`; `MailEventsFunctionAB12CD34` → `mailEvents`. */
export function shortName(logicalId: string): string {
  const base = logicalId.replace(/[0-9A-F]{8}$/, '').replace(/Function$/, '');
  return base.charAt(0).toLowerCase() + base.slice(1);
}

/** Reads every function of the deployment into a spec; `principalOf` gives each its role's principal. */
export function functionSpecs(d: Deployment, principalOf: (role: Resource, name: string) => Principal): FunctionSpec[] {
  const invokeConfigs = d.resourcesOfType('AWS::Lambda::EventInvokeConfig');
  return d.resourcesOfType('AWS::Lambda::Function').map((fn) => {
    const p = d.props<{
      Handler: string;
      Runtime: string;
      MemorySize?: number;
      Timeout?: number;
      Environment?: { Variables?: Record<string, string> };
      LoggingConfig?: { LogGroup?: string };
    }>(fn);
    const name = shortName(fn.logicalId);
    const roleRef = fn.properties.Role as { 'Fn::GetAtt': [string, string] } | undefined;
    if (!roleRef?.['Fn::GetAtt']) throw new Error(`${fn.logicalId}: the rehearsal needs the role as Fn::GetAtt of a role in the template`);
    const role = d.resource(roleRef['Fn::GetAtt'][0], fn.stack);
    const physicalName = d.physicalName(fn);
    const config = invokeConfigs.find((c) => JSON.stringify(c.properties.FunctionName) === JSON.stringify({ Ref: fn.logicalId }));
    const cp = config
      ? d.props<{ MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number; DestinationConfig?: { OnFailure?: { Destination: string }; OnSuccess?: { Destination: string } } }>(config)
      : {};
    const logGroupRef = fn.properties.LoggingConfig && (fn.properties.LoggingConfig as { LogGroup?: { Ref: string } }).LogGroup;
    const logGroup = logGroupRef && typeof logGroupRef === 'object' && 'Ref' in logGroupRef ? d.resource(logGroupRef.Ref, fn.stack) : undefined;
    return {
      name,
      logicalId: fn.logicalId,
      physicalName,
      arn: d.getAtt(fn, 'Arn'),
      handler: p.Handler,
      runtime: p.Runtime,
      memoryMb: p.MemorySize ?? 128,
      timeoutMs: (p.Timeout ?? 3) * 1000,
      environment: p.Environment?.Variables ?? {},
      codeDir: assetDir(d, fn),
      ...(logGroup ? { logGroup: { name: d.physicalName(logGroup), arn: d.getAtt(logGroup, 'Arn') } } : {}),
      principal: principalOf(role, name),
      async: {
        maxRetries: cp.MaximumRetryAttempts ?? 2,
        maxEventAgeMs: (cp.MaximumEventAgeInSeconds ?? 21_600) * 1000,
        ...(cp.DestinationConfig?.OnFailure ? { onFailure: cp.DestinationConfig.OnFailure.Destination } : {}),
        ...(cp.DestinationConfig?.OnSuccess ? { onSuccess: cp.DestinationConfig.OnSuccess.Destination } : {}),
      },
    };
  });
}

interface Pending {
  resolve: (r: InvokeResult) => void;
  virtualStartMs: number;
}

/** One execution environment: a child process that loads the bundle on its first invocation. */
class Environment {
  readonly child: ChildProcess;
  busy = false;
  dead = false;
  private pending?: Pending;
  private readonly ready: Promise<void>;

  constructor(
    private readonly fn: LambdaFunction,
    env: Record<string, string>,
  ) {
    // Structured clone over the channel: a request's body crosses as bytes, not as JSON of a Buffer.
    this.child = fork(RUNTIME, [], { env, cwd: fn.spec.codeDir, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [], serialization: 'advanced' });
    this.ready = new Promise((resolve, reject) => {
      this.child.once('message', (m: { type: string }) => (m.type === 'ready' ? resolve() : reject(new Error(`unexpected first message ${m.type}`))));
      this.child.once('exit', (code) => reject(new Error(`the execution environment of ${fn.spec.name} exited (${code}) before it was ready`)));
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => fn.onOutput(line, 'stdout'));
    createInterface({ input: this.child.stderr! }).on('line', (line) => fn.onOutput(line, 'stderr'));
    this.child.on(
      'message',
      (m: {
        type: string;
        ok: boolean;
        value?: unknown;
        error?: InvokeResult['error'];
        timedOut?: boolean;
        virtualDurationMs: number;
        virtualEndMs?: number;
        maxRssKb: number;
        id?: number;
        request?: GatewayRequest;
      }) => {
        if (m.type === 'aws') return this.answer(m.id!, m.request!);
        if (m.type !== 'result' || !this.pending) return;
        const p = this.pending;
        this.pending = undefined;
        this.busy = false;
        fn.stats.peakRssMb = Math.max(fn.stats.peakRssMb, Math.round(m.maxRssKb / 1024));
        if (m.timedOut) this.dead = true;
        p.resolve({
          ok: m.ok,
          ...(m.ok ? { value: m.value } : { error: m.error! }),
          ...(m.timedOut ? { timedOut: true } : {}),
          virtualStartMs: p.virtualStartMs,
          virtualEndMs: m.virtualEndMs ?? p.virtualStartMs + m.virtualDurationMs,
          durationMs: m.virtualDurationMs,
        });
      },
    );
    this.child.on('exit', (code, signal) => {
      this.dead = true;
      if (this.pending) {
        const p = this.pending;
        this.pending = undefined;
        p.resolve({
          ok: false,
          error: { errorType: 'Runtime.ExitError', errorMessage: `RequestId: exited with ${signal ?? `code ${code}`} during the invocation` },
          virtualStartMs: p.virtualStartMs,
          virtualEndMs: p.virtualStartMs,
          durationMs: 0,
        });
      }
    });
  }

  /** An AWS call the function's SDK handed over the channel: the gateway answers it, as over HTTP. */
  private answer(id: number, request: GatewayRequest): void {
    void this.fn.gateway({ ...request, body: Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength) }).then((response) => {
      if (this.child.connected) this.child.send({ type: 'aws-response', id, response });
    });
  }

  async invoke(event: unknown, virtualStartMs: number): Promise<InvokeResult> {
    await this.ready;
    this.busy = true;
    return new Promise((resolve) => {
      this.pending = { resolve, virtualStartMs };
      this.child.send({
        type: 'invoke',
        id: randomUUID(),
        requestId: randomUUID(),
        event,
        virtualStartMs,
        timeoutMs: this.fn.spec.timeoutMs,
        invokedFunctionArn: this.fn.spec.arn,
      });
    });
  }

  kill(): void {
    this.dead = true;
    this.child.kill('SIGKILL');
  }
}

/** A function of the deployment: its environments, its statistics, and what it printed. */
export class LambdaFunction {
  readonly stats: FunctionStats = { invocations: 0, errors: 0, timeouts: 0, retries: 0, coldStarts: 0, deadLettered: 0, maxDurationMs: 0, peakRssMb: 0 };
  readonly metrics = new Map<string, EmittedMetric>();
  /** The last lines it printed, for the report of a failure. */
  readonly tail: string[] = [];
  /** The error of its last failed invocation, as Lambda reports it. */
  lastError?: string;
  private readonly environments: Environment[] = [];
  private readonly waiters: (() => void)[] = [];

  constructor(
    readonly spec: FunctionSpec,
    private readonly base: { gatewayUrl: string; gateway: (request: GatewayRequest) => Promise<GatewayResponse>; accessKeyId: string; homeDir: string; maxConcurrency: number },
  ) {}

  /** Where the calls its environments hand over go (the gateway's `answer`). */
  get gateway(): (request: GatewayRequest) => Promise<GatewayResponse> {
    return this.base.gateway;
  }

  /** Runs one invocation at the simulated instant `virtualStartMs`, in a free environment. */
  async invoke(event: unknown, virtualStartMs: number): Promise<InvokeResult> {
    const env = await this.environment();
    this.stats.invocations++;
    const r = await env.invoke(event, virtualStartMs);
    if (!r.ok) {
      this.stats.errors++;
      this.lastError = `${r.error?.errorType}: ${r.error?.errorMessage}`.slice(0, 500);
    }
    if (r.timedOut) this.stats.timeouts++;
    this.stats.maxDurationMs = Math.max(this.stats.maxDurationMs, r.durationMs);
    if (env.dead) this.environments.splice(this.environments.indexOf(env), 1);
    this.waiters.shift()?.();
    return r;
  }

  private async environment(): Promise<Environment> {
    for (;;) {
      const free = this.environments.find((e) => !e.busy && !e.dead);
      if (free) {
        free.busy = true;
        return free;
      }
      if (this.environments.length < this.base.maxConcurrency) {
        const e = new Environment(this, this.processEnv());
        e.busy = true;
        this.environments.push(e);
        this.stats.coldStarts++;
        return e;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /**
   * What Lambda puts in the environment: the template's variables, the runtime's own, and the role's
   * credentials (here an access key that names the function to the rehearsal's gateway). The one
   * difference from AWS: `AWS_ENDPOINT_URL` sends every AWS API call to that gateway (handed over the
   * IPC channel by the runtime, see `lambda-runtime.mjs`).
   */
  private processEnv(): Record<string, string> {
    const s = this.spec;
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: 'UTC',
      HOME: this.base.homeDir,
      ...s.environment,
      AWS_LAMBDA_FUNCTION_NAME: s.physicalName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(s.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: s.logGroup?.name ?? `/aws/lambda/${s.physicalName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `rehearsal/[$LATEST]${randomUUID().replace(/-/g, '')}`,
      AWS_EXECUTION_ENV: `AWS_Lambda_${s.runtime}`,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      LAMBDA_TASK_ROOT: s.codeDir,
      LAMBDA_RUNTIME_DIR: join(import.meta.dirname),
      _HANDLER: s.handler,
      AWS_ACCESS_KEY_ID: this.base.accessKeyId,
      AWS_SECRET_ACCESS_KEY: 'rehearsal',
      AWS_SESSION_TOKEN: 'rehearsal',
      AWS_CONFIG_FILE: join(this.base.homeDir, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(this.base.homeDir, 'no-credentials'),
      AWS_ENDPOINT_URL: this.base.gatewayUrl,
    };
  }

  /** A line the function printed: kept for failure reports; EMF documents become metrics. */
  onOutput(line: string, stream: 'stdout' | 'stderr'): void {
    this.tail.push(`${stream}: ${line}`);
    if (this.tail.length > 40) this.tail.shift();
    if (!line.startsWith('{') || !line.includes('"_aws"')) return;
    let doc: { _aws?: { CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } } & Record<string, unknown>;
    try {
      doc = JSON.parse(line);
    } catch {
      return;
    }
    for (const directive of doc._aws?.CloudWatchMetrics ?? []) {
      for (const dims of directive.Dimensions.length ? directive.Dimensions : [[]]) {
        const dimensions = Object.fromEntries(dims.map((d) => [d, String(doc[d])]));
        for (const m of directive.Metrics) {
          const key = JSON.stringify([directive.Namespace, m.Name, dimensions]);
          const rec = this.metrics.get(key) ?? { namespace: directive.Namespace, name: m.Name, dimensions, count: 0, sum: 0 };
          const v = doc[m.Name];
          for (const x of Array.isArray(v) ? v : [v]) {
            rec.count++;
            rec.sum += Number(x) || 0;
          }
          this.metrics.set(key, rec);
        }
      }
    }
  }

  close(): void {
    for (const e of this.environments) e.kill();
    this.environments.length = 0;
  }
}

export function makeHome(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
