/**
 * Lambda's event source mapping of an SQS queue, as `AWS::Lambda::EventSourceMapping` defines it: a
 * poll receives up to `concurrency` batches of at most `batchSize` messages (a FIFO queue gives a
 * message group with a message in flight nothing more, so batches in flight never share a group),
 * runs them side by side, deletes what succeeded (with `ReportBatchItemFailures`, all but the items
 * the function names), and leaves the rest to come back when their visibility timeout ends. The queue
 * itself moves a message received `maxReceiveCount` times to its dead-letter queue.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { REGION } from './assembly.ts';
import type { Now } from './clock.ts';
import type { Message, Queue, QueueSpec } from './sqs.ts';

/** How an invocation ended, as far as the mapping reads it. */
export interface BatchResult {
  ok: boolean;
  value?: unknown;
}

export interface EventSourceMappingOptions {
  queue: Queue;
  batchSize: number;
  /** `FunctionResponseTypes` includes `ReportBatchItemFailures`. */
  partial: boolean;
  enabled: boolean;
  /** Batches in flight at once (the function's environments). */
  concurrency: number;
  clock: Now;
  /** IAM's verdict on the function's role calling the queue (`sqs:ReceiveMessage`, `sqs:DeleteMessage`). */
  authorize: (action: string) => Promise<boolean>;
  /** Runs the function on one batch at `atMs`. */
  invoke: (event: SQSEvent, atMs: number) => Promise<BatchResult>;
  /** A message that failed comes back at `atMs`: poll again then. */
  wakeAt: (atMs: number) => void;
  /** Messages handed to the function. */
  onReceived?: (count: number) => void;
  /** Asked after a refusal and after each round of batches: true stops the polling (fail-fast). */
  shouldStop?: () => boolean;
}

export class EventSourceMapping {
  batches = 0;
  maxBatch = 0;

  constructor(private readonly o: EventSourceMappingOptions) {}

  get queue(): Queue {
    return this.o.queue;
  }

  get batchSize(): number {
    return this.o.batchSize;
  }

  /** Receives what the queue holds, round after round, until nothing is receivable. */
  async poll(): Promise<void> {
    const { queue: q, clock } = this.o;
    if (!this.o.enabled || this.o.shouldStop?.()) return;
    for (;;) {
      if (q.visible(clock.now) === 0) return;
      // Lambda's poller cannot read the queue: the messages wait (and the denial is reported).
      if (!(await this.o.authorize('sqs:ReceiveMessage'))) {
        this.o.shouldStop?.();
        return;
      }
      const batches: Message[][] = [];
      for (let k = 0; k < this.o.concurrency; k++) {
        const b = q.receive(this.o.batchSize, clock.now);
        if (!b.length) break;
        batches.push(b);
      }
      if (!batches.length) return;
      this.o.onReceived?.(batches.reduce((n, b) => n + b.length, 0));
      const at = clock.now;
      const results = await Promise.all(batches.map((b) => this.o.invoke(sqsEvent(b, q.spec), at)));
      for (let i = 0; i < batches.length; i++) await this.settle(batches[i]!, results[i]!);
      if (this.o.shouldStop?.()) return;
    }
  }

  /** Deletes what the batch got through; what failed becomes visible again after the timeout. */
  private async settle(batch: Message[], r: BatchResult): Promise<void> {
    this.batches++;
    this.maxBatch = Math.max(this.maxBatch, batch.length);
    const failed = new Set(!r.ok ? batch.map((m) => m.messageId) : this.o.partial ? ((r.value as SQSBatchResponse | null)?.batchItemFailures ?? []).map((f) => f.itemIdentifier) : []);
    const done = batch.filter((m) => !failed.has(m.messageId));
    if (done.length) {
      await this.o.authorize('sqs:DeleteMessage');
      for (const m of done) this.o.queue.delete(m.receiptHandle);
    }
    for (const m of batch) if (failed.has(m.messageId)) this.o.wakeAt(m.invisibleUntil!);
  }
}

/** The SQS event Lambda's poller hands the function for a batch. */
export function sqsEvent(batch: Message[], q: QueueSpec): SQSEvent {
  return {
    Records: batch.map((m) => ({
      messageId: m.messageId,
      receiptHandle: m.receiptHandle,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentAtMs),
        SenderId: 'AROAREHEARSAL:platform',
        ApproximateFirstReceiveTimestamp: String(m.firstReceivedAtMs ?? m.sentAtMs),
        ...(m.groupId ? { MessageGroupId: m.groupId, SequenceNumber: m.sequenceNumber } : {}),
        ...(m.deduplicationId ? { MessageDeduplicationId: m.deduplicationId } : {}),
      },
      messageAttributes: Object.fromEntries(Object.entries(m.attributes).map(([k, v]) => [k, { stringValue: v.StringValue, dataType: v.DataType, stringListValues: [], binaryListValues: [] }])),
      md5OfBody: m.md5OfBody,
      eventSource: 'aws:sqs',
      eventSourceARN: q.arn,
      awsRegion: REGION,
    })),
  };
}
