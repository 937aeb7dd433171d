/**
 * The event source mapping of the rehearsal (tools/rehearsal/event-source-mapping.ts) over a FIFO queue
 * (tools/rehearsal/sqs.ts): batches in flight never share a message group, what fails comes back after
 * the visibility timeout, and the queue redrives a message after maxReceiveCount receives.
 */
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { SimClock } from '#tools/rehearsal/clock.ts';
import { EventSourceMapping, type BatchResult } from '#tools/rehearsal/event-source-mapping.ts';
import { Queue, type QueueSpec } from '#tools/rehearsal/sqs.ts';

const T0 = Date.UTC(2024, 0, 10, 0, 0, 0);
const spec = (name: string, o: Partial<QueueSpec> = {}): QueueSpec => ({
  logicalId: name,
  arn: `arn:aws:sqs:ap-southeast-1:123456789012:${name}`,
  url: `https://sqs/${name}`,
  name,
  fifo: true,
  visibilityTimeoutMs: 30_000,
  contentBasedDeduplication: false,
  ...o,
});

function harness(o: { groups: string[]; batchSize: number; concurrency: number; partial?: boolean; outcome?: (e: SQSEvent) => BatchResult; maxReceiveCount?: number; refuse?: string }) {
  const clock = new SimClock<{ at: number }>(T0);
  const dlq = new Queue(spec('dlq.fifo'));
  const queue = new Queue(spec('intake.fifo', o.maxReceiveCount ? { redrive: { deadLetterArn: 'dlq', maxReceiveCount: o.maxReceiveCount } } : {}), dlq);
  o.groups.forEach((g, i) => queue.send({ body: `${g}-${i}`, groupId: g, deduplicationId: `d${i}` }, T0));
  const rounds: string[][][] = [];
  let round: string[][] = [];
  const actions: string[] = [];
  const esm = new EventSourceMapping({
    queue,
    batchSize: o.batchSize,
    partial: o.partial ?? false,
    enabled: true,
    concurrency: o.concurrency,
    clock,
    authorize: async (action) => {
      actions.push(action);
      return action !== o.refuse;
    },
    invoke: async (event) => {
      round.push(event.Records.map((r) => r.body));
      return o.outcome ? o.outcome(event) : { ok: true };
    },
    wakeAt: (at) => clock.schedule({ at }),
    shouldStop: () => {
      if (round.length) rounds.push(round);
      round = [];
      return false;
    },
  });
  return { clock, queue, dlq, esm, rounds, actions };
}

describe('EventSourceMapping', () => {
  it('delivers one batch per message group in flight: a group is never in two batches at once', async () => {
    const h = harness({ groups: ['p1', 'p1', 'p1', 'p2', 'p2', 'p3'], batchSize: 2, concurrency: 4 });
    await h.esm.poll();
    // Round 1: p1's first two (the queue gives a group's messages in order), then p2's two, then p3.
    // p1's third waits for its group's batch to be deleted: it comes in round 2.
    expect(h.rounds).toEqual([[['p1-0', 'p1-1'], ['p2-3', 'p2-4'], ['p3-5']], [['p1-2']]]);
    expect(h.queue.depth).toBe(0);
    expect(h.esm.batches).toBe(4);
    expect(h.esm.maxBatch).toBe(2);
  });

  it('one batch may carry several messages of a group, in their order; the next batch waits for the round', async () => {
    const h = harness({ groups: ['a', 'b', 'a', 'c'], batchSize: 3, concurrency: 1 });
    await h.esm.poll();
    expect(h.rounds).toEqual([[['a-0', 'b-1', 'a-2']], [['c-3']]]);
  });

  it('with ReportBatchItemFailures, only the named items stay; they come back after the visibility timeout', async () => {
    const h = harness({
      groups: ['a', 'b'],
      batchSize: 10,
      concurrency: 1,
      partial: true,
      outcome: (e) => ({ ok: true, value: { batchItemFailures: e.Records.filter((r) => r.body === 'b-1').map((r) => ({ itemIdentifier: r.messageId })) } }),
    });
    await h.esm.poll();
    expect(h.rounds).toEqual([[['a-0', 'b-1']]]);
    expect(h.queue.depth).toBe(1);
    expect(h.clock.nextAt()).toBe(T0 + 30_000);
    expect(h.actions).toEqual(['sqs:ReceiveMessage', 'sqs:DeleteMessage']);
  });

  it('a batch that keeps failing is received maxReceiveCount times, then redriven to the dead-letter queue', async () => {
    const h = harness({ groups: ['a'], batchSize: 10, concurrency: 1, maxReceiveCount: 3, outcome: () => ({ ok: false }) });
    await h.esm.poll();
    for (let wake = h.clock.pop(); wake; wake = h.clock.pop()) await h.esm.poll();
    expect(h.rounds).toEqual([[['a-0']], [['a-0']], [['a-0']]]);
    expect(h.queue.depth).toBe(0);
    expect(h.queue.stats).toMatchObject({ received: 3, redelivered: 2, deadLettered: 1, deleted: 0 });
    expect(h.dlq.bodies()).toEqual(['a-0']);
    expect(h.clock.now).toBe(T0 + 90_000);
  });

  it('a role that may not receive leaves the messages where they are', async () => {
    const h = harness({ groups: ['a'], batchSize: 10, concurrency: 1, refuse: 'sqs:ReceiveMessage' });
    await h.esm.poll();
    expect(h.rounds).toEqual([]);
    expect(h.queue.depth).toBe(1);
  });
});
