/**
 * EventBridge Scheduler as the template's `AWS::Scheduler::Schedule` resources define it: each firing
 * (schedules.ts computes the instants) invokes its target function asynchronously with the schedule's
 * role and input. Scheduler's retry policy covers an invoke that fails for a reason that can pass
 * (throttling, a service error), which the rehearsal never meets; an invoke IAM refuses is not
 * retried, and the event goes to the schedule's dead-letter queue. What the function then does with
 * the event is Lambda's asynchronous invocation (invoker.ts), its retries counted for the schedule.
 *
 * Two habits of the deployment are the rehearsal's, not Scheduler's:
 * - a function in `idleWithoutArrivals` (the aggregation) has nothing to do when no message arrived
 *   since its last good run: such a firing is counted as idle and not invoked;
 * - a function in `besideIntake` runs while the intake goes on; the next firing, of any schedule,
 *   waits for it (`settle`).
 */
import type { Principal } from './iam.ts';
import type { AsyncCounters, AsyncEvent, AsyncInvoker, AsyncTarget } from './invoker.ts';
import type { ScheduleSpec } from './schedules.ts';

export interface ScheduleStats extends AsyncCounters {
  expression: string;
  firings: number;
  invoked: number;
  idle: number;
}

export interface SchedulerOptions<F extends AsyncTarget> {
  schedules: { spec: ScheduleSpec; principal: Principal }[];
  functionOf: (arn: string) => F | undefined;
  invoker: Pick<AsyncInvoker<F>, 'attempt' | 'lastOk'>;
  /** IAM's verdict on the schedule's role invoking its target. */
  authorize: (principal: Principal, action: string, resource: string) => Promise<boolean>;
  sendToQueue: (principal: Principal, queueArn: string, body: string) => Promise<boolean>;
  onDeadLetter?: (queueArn: string, body: string) => void;
  onFailed?: () => void;
  idleWithoutArrivals?: ReadonlySet<string>;
  besideIntake?: ReadonlySet<string>;
  /**
   * Targets that are state machines (state-machines.ts): the function a machine's definition starts
   * with (whose idle and beside-intake habits the firing keeps), and starting an execution, which
   * resolves to whether it succeeded. Scheduler's own call is then `states:StartExecution`.
   */
  stateMachines?: { startFunctionOf(arn: string): string | undefined; start(arn: string, input: unknown, at: number): Promise<boolean> };
}

export class Scheduler<F extends AsyncTarget> {
  readonly stats: Record<string, ScheduleStats> = {};
  private readonly inFlight = new Set<Promise<void>>();
  /** Messages handed to the intake since the last invoked run of an idle-without-arrivals function. */
  private arrivals = 0;

  constructor(private readonly o: SchedulerOptions<F>) {
    for (const { spec: s } of o.schedules) {
      this.stats[s.logicalId] = { expression: `${s.expression}${s.timeZone !== 'Etc/UTC' ? ` ${s.timeZone}` : ''}`, firings: 0, invoked: 0, idle: 0, failed: 0, retries: 0, deadLettered: 0 };
    }
  }

  /** The intake received `count` messages. */
  arrived(count: number): void {
    this.arrivals += count;
  }

  /** One firing of `s` at `at`. */
  async fire(s: ScheduleSpec, at: number): Promise<void> {
    const stats = this.stats[s.logicalId]!;
    stats.firings++;
    const machineFn = this.o.stateMachines?.startFunctionOf(s.target.arn);
    const fn = this.o.functionOf(machineFn ?? s.target.arn);
    if (!fn) throw new Error(`${s.logicalId}: its target ${s.target.arn} is not a function or state machine of the template`);
    const idleKind = this.o.idleWithoutArrivals?.has(fn.spec.name) === true;
    if (idleKind && this.o.invoker.lastOk.get(fn.spec.name) === true && this.arrivals === 0) {
      stats.idle++;
      return;
    }
    const principal = this.o.schedules.find((x) => x.spec === s)!.principal;
    const input = s.target.input ?? '{}';
    if (!(await this.o.authorize(principal, machineFn ? 'states:StartExecution' : 'lambda:InvokeFunction', s.target.arn))) {
      stats.failed++;
      if (s.target.deadLetterArn && (await this.o.sendToQueue(principal, s.target.deadLetterArn, input))) {
        stats.deadLettered++;
        this.o.onDeadLetter?.(s.target.deadLetterArn, input);
      }
      this.o.onFailed?.();
      return;
    }
    stats.invoked++;
    if (idleKind) this.arrivals = 0;
    const event: AsyncEvent<F> = { at, fn, payload: JSON.parse(input), attempt: 0, firstAt: at, source: s.logicalId, counters: stats };
    const invocation = machineFn
      ? // Scheduler started the execution; what becomes of it is the execution's own (no Scheduler retry, no dead letter).
        this.o.stateMachines!.start(s.target.arn, event.payload, at).then((ok) => {
          this.o.invoker.lastOk.set(fn.spec.name, ok);
          if (!ok) {
            stats.failed++;
            this.o.onFailed?.();
          }
        })
      : this.o.invoker.attempt(event);
    if (!this.o.besideIntake?.has(fn.spec.name)) return invocation;
    const tracked: Promise<void> = invocation.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** Waits for the runs that work beside the intake. */
  async settle(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }
}
