/**
 * SQS queues as the template defines them, on the simulated clock: FIFO ordering per message group
 * (a group with a message in flight gives out nothing else), deduplication by id over five minutes,
 * the visibility timeout, and redrive to the dead-letter queue once a message has been received
 * `maxReceiveCount` times. Standard queues keep arrival order and have no groups.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { PolicyDocument, Principal } from './iam.ts';

export interface QueueSpec {
  logicalId: string;
  arn: string;
  url: string;
  name: string;
  fifo: boolean;
  visibilityTimeoutMs: number;
  contentBasedDeduplication: boolean;
  redrive?: { deadLetterArn: string; maxReceiveCount: number };
}

export interface Message {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  groupId?: string;
  deduplicationId?: string;
  sequenceNumber: string;
  attributes: Record<string, { DataType: string; StringValue: string }>;
  sentAtMs: number;
  firstReceivedAtMs?: number;
  receiveCount: number;
  /** While in flight: when it becomes visible again. */
  invisibleUntil?: number;
}

const DEDUP_WINDOW_MS = 5 * 60_000;

export class Queue {
  private readonly messages: Message[] = [];
  private readonly dedup = new Map<string, number>();
  private seq = 0;
  readonly stats = { sent: 0, deduplicated: 0, received: 0, deleted: 0, redelivered: 0, deadLettered: 0 };

  constructor(
    readonly spec: QueueSpec,
    private readonly deadLetter?: Queue,
  ) {}

  send(m: { body: string; groupId?: string; deduplicationId?: string; attributes?: Message['attributes'] }, atMs: number): { messageId: string; duplicate: boolean } {
    if (this.spec.fifo && !m.groupId) throw new Error(`${this.spec.name}: a FIFO queue needs MessageGroupId`);
    const dedupId = this.spec.fifo ? (m.deduplicationId ?? (this.spec.contentBasedDeduplication ? sha256(m.body) : undefined)) : undefined;
    if (this.spec.fifo && !dedupId) throw new Error(`${this.spec.name}: MessageDeduplicationId is required (ContentBasedDeduplication is off)`);
    if (dedupId) {
      const key = `${m.groupId}\u0000${dedupId}`;
      const seen = this.dedup.get(key);
      if (seen !== undefined && atMs - seen < DEDUP_WINDOW_MS) {
        this.stats.deduplicated++;
        return { messageId: '', duplicate: true };
      }
      this.dedup.set(key, atMs);
    }
    const messageId = randomUUID();
    this.messages.push({
      messageId,
      receiptHandle: '',
      body: m.body,
      md5OfBody: createHash('md5').update(m.body).digest('hex'),
      ...(m.groupId ? { groupId: m.groupId } : {}),
      ...(dedupId ? { deduplicationId: dedupId } : {}),
      sequenceNumber: String(++this.seq).padStart(20, '0'),
      attributes: m.attributes ?? {},
      sentAtMs: atMs,
      receiveCount: 0,
    });
    this.stats.sent++;
    return { messageId, duplicate: false };
  }

  /**
   * Up to `max` messages visible at `atMs`, in order. FIFO: a group with a message in flight is
   * skipped whole, and a group's messages come in their order. A message received for the
   * `maxReceiveCount`+1-th time goes to the dead-letter queue instead.
   */
  receive(max: number, atMs: number): Message[] {
    const out: Message[] = [];
    const blocked = new Set<string>();
    if (this.spec.fifo) for (const m of this.messages) if (m.invisibleUntil !== undefined && m.invisibleUntil > atMs) blocked.add(m.groupId!);
    for (let i = 0; i < this.messages.length && out.length < max; i++) {
      const m = this.messages[i]!;
      if (m.invisibleUntil !== undefined && m.invisibleUntil > atMs) continue;
      if (this.spec.fifo && blocked.has(m.groupId!)) continue;
      if (this.spec.redrive && this.deadLetter && m.receiveCount >= this.spec.redrive.maxReceiveCount) {
        this.messages.splice(i--, 1);
        this.deadLetter.send({ body: m.body, ...(m.groupId ? { groupId: m.groupId } : {}), deduplicationId: m.deduplicationId ?? m.messageId, attributes: m.attributes }, atMs);
        this.stats.deadLettered++;
        continue;
      }
      if (m.receiveCount > 0) this.stats.redelivered++;
      m.receiveCount++;
      m.firstReceivedAtMs ??= atMs;
      m.invisibleUntil = atMs + this.spec.visibilityTimeoutMs;
      m.receiptHandle = randomUUID();
      out.push(m);
      this.stats.received++;
    }
    return out;
  }

  delete(receiptHandle: string): void {
    const i = this.messages.findIndex((m) => m.receiptHandle === receiptHandle);
    if (i >= 0) {
      this.messages.splice(i, 1);
      this.stats.deleted++;
    }
  }

  /** Messages that could be received at `atMs`. */
  visible(atMs: number): number {
    return this.messages.filter((m) => m.invisibleUntil === undefined || m.invisibleUntil <= atMs).length;
  }

  /** When the earliest message in flight becomes visible again. */
  nextVisibleAt(atMs: number): number | undefined {
    let next: number | undefined;
    for (const m of this.messages) if (m.invisibleUntil !== undefined && m.invisibleUntil > atMs && (next === undefined || m.invisibleUntil < next)) next = m.invisibleUntil;
    return next;
  }

  get depth(): number {
    return this.messages.length;
  }

  /** The message bodies waiting (for a dead-letter queue's report). */
  bodies(): string[] {
    return this.messages.map((m) => m.body);
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** What the queues ask of IAM: its verdict on one call. */
export type Authorize = (principal: Principal, action: string, resource: string, o: { context: Record<string, string>; resourcePolicy?: PolicyDocument }) => Promise<boolean>;

/** The deployment's queues, their policies, and which of them hold what failed. */
export class Queues {
  constructor(
    readonly byArn: Map<string, Queue>,
    /** By the logical id without CDK's hash (`IntakeQueue`). */
    readonly byName: Map<string, Queue>,
    readonly policies: Map<string, PolicyDocument>,
    private readonly deadLetterArns: Set<string>,
  ) {}

  /** A dead-letter queue, a schedule's dead-letter queue or an on-failure destination. */
  isDeadLetter(q: Queue): boolean {
    return this.deadLetterArns.has(q.spec.arn);
  }

  /** Messages that ended in a dead-letter queue by redrive. */
  deadLettered(): number {
    return [...this.byArn.values()].reduce((n, q) => n + q.stats.deadLettered, 0);
  }

  nameOf(queueArn: string): string {
    return this.byArn.get(queueArn)?.spec.name ?? queueArn;
  }

  /** IAM's verdict on a principal's call to a queue: the queue's policy applies, and the SDK uses TLS. */
  authorize(authorize: Authorize, principal: Principal, action: string, queueArn: string): Promise<boolean> {
    const resourcePolicy = this.policies.get(queueArn);
    return authorize(principal, action, queueArn, { context: { 'aws:SecureTransport': 'true' }, ...(resourcePolicy ? { resourcePolicy } : {}) });
  }

  /** A principal sends to a queue (a destination, a dead-letter queue), as AWS would check it. */
  async sendAs(authorize: Authorize, principal: Principal, queueArn: string, body: string, atMs: number): Promise<boolean> {
    if (!(await this.authorize(authorize, principal, 'sqs:SendMessage', queueArn))) return false;
    const q = this.byArn.get(queueArn);
    q?.send({ body, ...(q.spec.fifo ? { groupId: 'failures', deduplicationId: sha256(body) } : {}) }, atMs);
    return true;
  }
}
