/**
 * The rehearsal's Lambda service: the deployment's functions by name and ARN, one invocation on the
 * simulated clock (its logs written with the function's role, as Lambda does; the clock moves to the
 * invocation's end), and the Invoke API as a function calls it through the gateway: `Event` is queued
 * for the asynchronous invoker, `RequestResponse` runs at once, `DryRun` only answers.
 */
import type { SimClock } from './clock.ts';
import { iso } from './clock.ts';
import type { InvokeResult, LambdaFunction } from './functions.ts';
import type { Iam, Principal } from './iam.ts';
import type { AsyncEvent } from './invoker.ts';

export class LambdaService {
  readonly byName = new Map<string, LambdaFunction>();
  readonly byArn = new Map<string, LambdaFunction>();

  constructor(
    private readonly o: {
      iam: Iam;
      clock: SimClock<{ at: number }>;
      /** An asynchronous invocation accepted (`InvocationType: Event`). */
      enqueue: (e: AsyncEvent<LambdaFunction>) => void;
      trace?: (line: string) => void;
    },
  ) {}

  add(fn: LambdaFunction): void {
    this.byName.set(fn.spec.name, fn);
    this.byArn.set(fn.spec.arn, fn);
  }

  get functions(): LambdaFunction[] {
    return [...this.byName.values()];
  }

  /** The ARN of a function named by name, partial or full ARN; undefined when none. */
  resolve(name: string): string | undefined {
    return [...this.byArn.keys()].find((a) => a === name || a.endsWith(`:function:${name}`));
  }

  /** One invocation at `atMs`. */
  async run(fn: LambdaFunction, event: unknown, atMs: number): Promise<InvokeResult> {
    const { iam, clock, trace } = this.o;
    if (fn.spec.logGroup) {
      const stream = `${fn.spec.logGroup.arn.replace(/:\*$/, '')}:log-stream:rehearsal`;
      await iam.authorize(fn.spec.principal, 'logs:CreateLogStream', stream);
      await iam.authorize(fn.spec.principal, 'logs:PutLogEvents', stream);
    }
    trace?.(`${iso(atMs)} ${fn.spec.name} ← ${JSON.stringify(event).slice(0, 160)}`);
    const r = await fn.invoke(event, atMs);
    clock.advanceTo(r.virtualEndMs);
    trace?.(
      `${iso(r.virtualEndMs)} ${fn.spec.name} → ${r.ok ? 'ok' : `${r.error?.errorType}: ${r.error?.errorMessage}`} (${r.durationMs} ms simulated)${r.ok ? ` ${JSON.stringify(r.value ?? null).slice(0, 200)}` : ''}`,
    );
    return r;
  }

  /** The Invoke API, as a function calls it through the gateway (IAM has allowed the call). */
  async invokeApi(caller: Principal, arn: string, type: string, payload: string, atMs: number): Promise<{ status: number; payload: string; functionError?: string }> {
    const fn = this.byArn.get(arn)!;
    const at = Math.max(atMs, this.o.clock.now);
    if (type === 'Event') {
      this.o.enqueue({ at, fn, payload: JSON.parse(payload || '{}'), attempt: 0, firstAt: atMs, source: caller.name });
      return { status: 202, payload: '' };
    }
    if (type === 'DryRun') return { status: 204, payload: '' };
    const r = await this.run(fn, JSON.parse(payload || '{}'), at);
    return r.ok ? { status: 200, payload: JSON.stringify(r.value ?? null) } : { status: 200, payload: JSON.stringify(r.error), functionError: 'Unhandled' };
  }
}
