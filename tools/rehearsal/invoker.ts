/**
 * Lambda's asynchronous invocation (`InvocationType: Event`, and what Scheduler and SNS hand a
 * function): an event that ends in a function error (a timeout included) is tried again after about a
 * minute, then two, up to `MaximumRetryAttempts` and while the event is younger than
 * `MaximumEventAgeInSeconds`; after that the invocation record goes to the on-failure destination,
 * with the condition Lambda gives it: `RetriesExhausted`, or `EventAgeExceeded` when the next retry
 * would come after the event's maximum age.
 */
import type { Now } from './clock.ts';
import { iso } from './clock.ts';
import type { Principal } from './iam.ts';

/** Lambda's asynchronous retries wait about a minute, then two. */
export const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000];

/** What the invoker needs of a function. */
export interface AsyncTarget {
  spec: { name: string; arn: string; principal: Principal; async: { maxRetries: number; maxEventAgeMs: number; onFailure?: string } };
  stats: { retries: number; deadLettered: number };
}

/** Counters of whoever sent the event (a schedule). */
export interface AsyncCounters {
  retries: number;
  failed: number;
  deadLettered: number;
}

/** One asynchronous event, waiting for its attempt. */
export interface AsyncEvent<F extends AsyncTarget = AsyncTarget> {
  at: number;
  fn: F;
  payload: unknown;
  /** 0 for the first attempt. */
  attempt: number;
  /** When Lambda accepted the event (its age counts from there). */
  firstAt: number;
  source: string;
  counters?: AsyncCounters;
}

export interface InvocationOutcome {
  ok: boolean;
  error?: { errorType: string; errorMessage: string };
}

/** The record Lambda sends to an on-failure destination (Lambda developer guide, "Invocation record"). */
export interface InvocationRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: 'RetriesExhausted' | 'EventAgeExceeded'; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext: { statusCode: number; executedVersion: string; functionError: 'Unhandled' };
  responsePayload: unknown;
}

export interface AsyncInvokerOptions<F extends AsyncTarget> {
  clock: Now;
  /** Runs one attempt at `atMs` (the clock moves to its end). */
  run: (fn: F, payload: unknown, atMs: number) => Promise<InvocationOutcome>;
  /** The next attempt, due at `e.at`. */
  later: (e: AsyncEvent<F>) => void;
  /** The function's role sends the record to its destination; false when IAM refuses. */
  sendToQueue: (principal: Principal, queueArn: string, body: string) => Promise<boolean>;
  /** A record that reached its destination. */
  onDeadLetter?: (queueArn: string, body: string) => void;
  /** After an event failed for good. */
  onFailed?: () => void;
}

export class AsyncInvoker<F extends AsyncTarget> {
  /** Whether each function's last attempt succeeded, by name. */
  readonly lastOk = new Map<string, boolean>();
  private requests = 0;

  constructor(private readonly o: AsyncInvokerOptions<F>) {}

  /** One attempt of `e`; a failure schedules the next attempt or ends in the destination. */
  async attempt(e: AsyncEvent<F>): Promise<void> {
    const r = await this.o.run(e.fn, e.payload, Math.max(e.at, this.o.clock.now));
    this.lastOk.set(e.fn.spec.name, r.ok);
    if (r.ok) return;
    const now = this.o.clock.now;
    const delay = ASYNC_RETRY_DELAYS_MS[Math.min(e.attempt, ASYNC_RETRY_DELAYS_MS.length - 1)]!;
    const { maxRetries, maxEventAgeMs, onFailure } = e.fn.spec.async;
    const retriesLeft = e.attempt < maxRetries;
    const young = now + delay - e.firstAt <= maxEventAgeMs;
    if (retriesLeft && young) {
      e.fn.stats.retries++;
      if (e.counters) e.counters.retries++;
      this.o.later({ ...e, at: now + delay, attempt: e.attempt + 1 });
      return;
    }
    if (e.counters) e.counters.failed++;
    if (onFailure) {
      const body = JSON.stringify(this.record(e, r, retriesLeft ? 'EventAgeExceeded' : 'RetriesExhausted'));
      if (await this.o.sendToQueue(e.fn.spec.principal, onFailure, body)) {
        e.fn.stats.deadLettered++;
        if (e.counters) e.counters.deadLettered++;
        this.o.onDeadLetter?.(onFailure, body);
      }
    }
    this.o.onFailed?.();
  }

  private record(e: AsyncEvent<F>, r: InvocationOutcome, condition: InvocationRecord['requestContext']['condition']): InvocationRecord {
    return {
      version: '1.0',
      timestamp: iso(this.o.clock.now),
      requestContext: { requestId: `rehearsal-${++this.requests}`, functionArn: `${e.fn.spec.arn}:$LATEST`, condition, approximateInvokeCount: e.attempt + 1 },
      requestPayload: e.payload,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: r.error,
    };
  }
}
