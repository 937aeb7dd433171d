import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../config.ts';
import { ID } from '../events.ts';
import { queryAll } from './batch.ts';
import { declareAccess } from './access.ts';
import { ifConditionHolds } from './conditional.ts';
import { outboxKey, outboxPk } from './layout/outbox.ts';

/**
 * The mail ledger: one entry per provider × campaign × kind × decision revision (outcome) or season
 * week (progress); its keys are `layout/outbox.ts`.
 *
 * A notice is claimed with a conditional write before it is sent and marked sent after, so a notice
 * is sent once however many runs race for it. A sender that dies between SES accepting the mail and
 * the mark leaves the entry `sending`; SES's own evidence settles it: every mail carries its notice id
 * as a message tag (`noticeTag`), and the Send, Delivery, Bounce, Complaint, Reject and DeliveryDelay
 * events SES publishes for it are recorded here (`recordEvent`, from the mail-events function). A
 * claim whose lease ran out is taken over only while no such evidence exists, and only once the caller
 * has either positive evidence that SES never took the mail or has waited out SES's publishing delay.
 */

export type NoticeKind = 'outcome' | 'progress';

export interface NoticeRef {
  campaignId: string;
  kind: NoticeKind;
  providerId: string;
  /** Decision revision (outcome) or season week (progress). */
  seq: number;
}

export interface OutboxEntry extends NoticeRef {
  status: 'sending' | 'sent' | 'failed';
  to: string;
  subject?: string;
  attempts: number;
  owner?: string;
  /** When the current (or last) claim was taken: a mail sent under it went out after this. */
  claimedAt?: string;
  leaseUntil?: string;
  messageId?: string;
  sentAt?: string;
  /** `ses-event` when SES's evidence, not the sender, marked it sent (the sender died first). */
  settledBy?: 'sender' | 'ses-event';
  /** Why it failed: a permanent failure is not retried by later runs. */
  error?: string;
  permanent?: boolean;
  /** The last sender could not tell whether SES took the mail (a timeout, a reset connection, a 5xx). */
  uncertain?: string;
  // SES's evidence, recorded from its published events (see `recordEvent`).
  /** Every SES message id seen for this notice: more than one means it went out more than once. */
  messageIds?: string[];
  /** When the first SES event about this notice was recorded. */
  evidenceAt?: string;
  sendAt?: string;
  deliveredAt?: string;
  bounce?: { type: string; subType: string; at: string; diagnostic?: string };
  complaint?: { type?: string; at: string };
  rejected?: { reason: string; at: string };
  delay?: { type: string; at: string; until?: string };
  updatedAt: string;
}

/** What SES said about one mail, as the mail-events use case hands it over. */
export type MailEvidenceEvent = {
  messageId: string;
  /** When SES accepted the mail (`mail.timestamp`). */
  acceptedAt: string;
} & (
  | { type: 'Send' }
  | { type: 'Delivery'; at: string }
  | { type: 'Bounce'; at: string; bounceType: string; bounceSubType: string; diagnostic?: string }
  | { type: 'Complaint'; at: string; feedbackType?: string }
  | { type: 'Reject'; reason: string }
  | { type: 'DeliveryDelay'; at: string; delayType: string; expiresAt?: string }
);

/*
 * The notice id as an SES message tag value. SES allows only ASCII letters, digits, `_`, `-`, `.` and
 * `@` there, at most 256 characters. Provider ids may hold `:`, which SES refuses, and every other id
 * character is taken; `@` is the one tag character no id uses. So: `<campaign>@<kind>@<seq>@<provider>`
 * with the provider's `:` written as `@`. Campaign, kind and seq never hold `@`, so the first three
 * `@` split it and the rest is the provider id.
 */
export const NOTICE_TAG = 'notice';
const TAG_VALUE = /^[A-Za-z0-9_.@-]{1,256}$/;
const CAMPAIGN = /^[A-Za-z0-9_.-]{1,64}$/;

/** The notice id carried by its mail as the `notice` SES message tag (and the `X-Renewal-Notice` header). */
export function noticeTag(n: NoticeRef): string {
  if (!CAMPAIGN.test(n.campaignId)) throw new RangeError(`campaign id ${JSON.stringify(n.campaignId)} cannot be part of an SES tag value`);
  if (!ID.test(n.providerId)) throw new RangeError(`provider id ${JSON.stringify(n.providerId)} is not an id`);
  if (!Number.isSafeInteger(n.seq) || n.seq < 0) throw new RangeError(`notice seq ${n.seq} is not a whole number`);
  const tag = `${n.campaignId}@${n.kind}@${n.seq}@${n.providerId.replaceAll(':', '@')}`;
  if (!TAG_VALUE.test(tag)) throw new RangeError(`notice id ${tag} does not fit an SES tag value`);
  return tag;
}

/** The notice a tag value names, or undefined for a value this system did not write. */
export function parseNoticeTag(tag: string): NoticeRef | undefined {
  if (!TAG_VALUE.test(tag)) return undefined;
  const m = /^([A-Za-z0-9_.-]+)@(outcome|progress)@(0|[1-9]\d{0,8})@([A-Za-z0-9_.@-]{1,128})$/.exec(tag);
  if (!m) return undefined;
  return { campaignId: m[1]!, kind: m[2] as NoticeKind, seq: Number(m[3]), providerId: m[4]!.replaceAll('@', ':') };
}

export type ClaimResult = { claimed: true; attempts: number } | { claimed: false; entry: OutboxEntry };

/**
 * What a write that only the claim's holder may make found: made, or the claim is no longer ours
 * (`lease-lost`: our lease ran out and another run took the notice, or SES's evidence settled it).
 * Trying again cannot make it ours; the notice is the new holder's (or the evidence's) to settle.
 */
export type HolderWrite = { ok: true } | { ok: false; reason: 'lease-lost' };

const asHolderWrite = async (write: Promise<object>): Promise<HolderWrite> => ((await ifConditionHolds(write)) ? { ok: true } : { ok: false, reason: 'lease-lost' });

export class OutboxStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, 'outbox'>,
  ) {}

  /**
   * Claims a notice for sending (UpdateItem, conditional): succeeds when it was never claimed, or it
   * failed transiently, or its last claim's lease ended at or before `staleBefore` — and in the last
   * two cases only while SES has published nothing about it. A sent or permanently failed notice
   * stays as it is. `staleBefore` is `now` when the caller has positive evidence that SES never took
   * the mail, else `now` minus SES's event-publishing delay.
   */
  async claim(n: NoticeRef & { to: string }, owner: string, now: Date, leaseMs: number, staleBefore: Date = now): Promise<ClaimResult> {
    const k = outboxKey(n);
    const out = await ifConditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.outbox,
          Key: k,
          UpdateExpression:
            'SET campaignId = :c, kind = :k, providerId = :p, seq = :s, #st = :sending, #to = :to, #o = :owner, claimedAt = :now, leaseUntil = :lease, updatedAt = :now ADD attempts :one REMOVE #err, permanent, uncertain',
          ConditionExpression: 'attribute_not_exists(pk) OR (attribute_not_exists(evidenceAt) AND ((#st = :sending AND leaseUntil <= :stale) OR (#st = :failed AND permanent = :false)))',
          ExpressionAttributeNames: { '#st': 'status', '#to': 'to', '#o': 'owner', '#err': 'error' },
          ExpressionAttributeValues: {
            ':c': n.campaignId,
            ':k': n.kind,
            ':p': n.providerId,
            ':s': n.seq,
            ':sending': 'sending',
            ':failed': 'failed',
            ':false': false,
            ':to': n.to,
            ':owner': owner,
            ':lease': new Date(now.getTime() + leaseMs).toISOString(),
            ':stale': staleBefore.toISOString(),
            ':now': now.toISOString(),
            ':one': 1,
          },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return out ? { claimed: true, attempts: out.Attributes?.attempts as number } : { claimed: false, entry: (await this.get(n))! };
  }

  /** One entry (GetItem, consistent), or undefined. */
  async get(n: NoticeRef): Promise<OutboxEntry | undefined> {
    const got = await this.db.send(new GetCommand({ TableName: this.tables.outbox, Key: outboxKey(n), ConsistentRead: true }));
    return got.Item ? strip(got.Item) : undefined;
  }

  /** Extends our claim's lease (UpdateItem, conditional on owner and `sending`). */
  async renewClaim(n: NoticeRef, owner: string, now: Date, leaseMs: number): Promise<HolderWrite> {
    return this.whileSending(n, owner, 'leaseUntil = :lease, updatedAt = :now', { ':lease': new Date(now.getTime() + leaseMs).toISOString(), ':now': now.toISOString() });
  }

  /** Sender's own mark after SES accepted the mail (UpdateItem, conditional on owner). */
  async markSent(n: NoticeRef, owner: string, result: { messageId: string; subject: string }, now: Date): Promise<HolderWrite> {
    return this.settle(n, owner, { status: 'sent', messageId: result.messageId, subject: result.subject, sentAt: now.toISOString(), settledBy: 'sender', updatedAt: now.toISOString() });
  }

  /** Sender's mark after SES refused the mail or retries ran out (UpdateItem, conditional on owner). */
  async markFailed(n: NoticeRef, owner: string, error: string, permanent: boolean, now: Date): Promise<HolderWrite> {
    return this.settle(n, owner, { status: 'failed', error, permanent, updatedAt: now.toISOString() });
  }

  /**
   * The sender gives up without knowing whether SES took the mail (UpdateItem, conditional on owner):
   * the entry stays `sending` with its lease ended now, so the next run reconciles it against SES's
   * evidence instead of waiting for the lease.
   */
  async markUncertain(n: NoticeRef, owner: string, reason: string, now: Date): Promise<HolderWrite> {
    return this.whileSending(n, owner, 'uncertain = :why, leaseUntil = :now, updatedAt = :now', { ':why': reason, ':now': now.toISOString() });
  }

  /** Sets `set` on the entry only while `owner` holds it `sending` (UpdateItem, conditional). */
  private whileSending(n: NoticeRef, owner: string, set: string, values: Record<string, unknown>): Promise<HolderWrite> {
    return asHolderWrite(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.outbox,
          Key: outboxKey(n),
          UpdateExpression: `SET ${set}`,
          ConditionExpression: '#o = :owner AND #st = :sending',
          ExpressionAttributeNames: { '#o': 'owner', '#st': 'status' },
          ExpressionAttributeValues: { ':owner': owner, ':sending': 'sending', ...values },
        }),
      ),
    );
  }

  private async settle(n: NoticeRef, owner: string, fields: Record<string, unknown>): Promise<HolderWrite> {
    const names = Object.keys(fields);
    return asHolderWrite(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.outbox,
          Key: outboxKey(n),
          UpdateExpression: `SET ${names.map((_, i) => `#f${i} = :v${i}`).join(', ')} REMOVE leaseUntil, uncertain`,
          // Only the claim's owner settles it: a sender whose lease ran out must not overwrite the next.
          ConditionExpression: '#o = :owner',
          ExpressionAttributeNames: { '#o': 'owner', ...Object.fromEntries(names.map((f, i) => [`#f${i}`, f])) },
          ExpressionAttributeValues: { ':owner': owner, ...Object.fromEntries(names.map((f, i) => [`:v${i}`, fields[f]])) },
        }),
      ),
    );
  }

  /**
   * Records one SES event on the notice's entry (UpdateItem, twice): first the evidence itself
   * (idempotent: a redelivered event writes the same values), then, when the entry is not yet
   * `sent`, marks it sent with SES's message id — the sender died or gave up after SES took it.
   * Returns false when no entry exists for the notice (an event about a mail this ledger never sent).
   */
  async recordEvent(n: NoticeRef, e: MailEvidenceEvent, now: Date): Promise<boolean> {
    const k = outboxKey(n);
    const set: Record<string, unknown> = {};
    let expr = 'SET updatedAt = :now, evidenceAt = if_not_exists(evidenceAt, :now)';
    if (e.type === 'Send') {
      expr += ', sendAt = if_not_exists(sendAt, :v)';
      set[':v'] = e.acceptedAt;
    }
    if (e.type === 'Delivery') {
      expr += ', deliveredAt = :v';
      set[':v'] = e.at;
    }
    if (e.type === 'Bounce') {
      expr += ', bounce = :v';
      set[':v'] = { type: e.bounceType, subType: e.bounceSubType, at: e.at, ...(e.diagnostic ? { diagnostic: e.diagnostic } : {}) };
    }
    if (e.type === 'Complaint') {
      expr += ', complaint = :v';
      set[':v'] = { at: e.at, ...(e.feedbackType ? { type: e.feedbackType } : {}) };
    }
    if (e.type === 'Reject') {
      expr += ', rejected = :v';
      set[':v'] = { reason: e.reason, at: e.acceptedAt };
    }
    if (e.type === 'DeliveryDelay') {
      expr += ', delay = :v';
      set[':v'] = { type: e.delayType, at: e.at, ...(e.expiresAt ? { until: e.expiresAt } : {}) };
    }
    const recorded = await ifConditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.outbox,
          Key: k,
          UpdateExpression: `${expr} ADD messageIds :ids`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': now.toISOString(), ':ids': new Set([e.messageId]), ...set },
        }),
      ),
    );
    if (!recorded) return false;
    // Already `sent` (by its sender or an earlier event): the condition fails and the mark stays as it is.
    await ifConditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.outbox,
          Key: k,
          UpdateExpression: 'SET #st = :sent, messageId = :m, sentAt = :at, settledBy = :by, updatedAt = :now REMOVE leaseUntil, uncertain, #err, permanent',
          ConditionExpression: '#st <> :sent',
          ExpressionAttributeNames: { '#st': 'status', '#err': 'error' },
          ExpressionAttributeValues: { ':sent': 'sent', ':m': e.messageId, ':at': e.acceptedAt, ':by': 'ses-event', ':now': now.toISOString() },
        }),
      ),
    );
    return true;
  }

  /** Every entry of a campaign and kind (Query, consistent). */
  async entries(campaignId: string, kind: NoticeKind): Promise<OutboxEntry[]> {
    const items = await queryAll(this.db, {
      TableName: this.tables.outbox,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': outboxPk(campaignId, kind) },
      ConsistentRead: true,
    });
    return items.map(strip);
  }
}

function strip(item: Record<string, unknown>): OutboxEntry {
  const { pk: _pk, sk: _sk, messageIds, ...rest } = item;
  return { ...(rest as unknown as OutboxEntry), ...(messageIds instanceof Set ? { messageIds: [...(messageIds as Set<string>)].sort() } : {}) };
}

/** What each method sends (shared/store/access.ts). */
export const OUTBOX_ACCESS = declareAccess<OutboxStore>()('outbox', {
  claim: [{ table: 'outbox', actions: ['UpdateItem', 'GetItem'] }],
  get: [{ table: 'outbox', actions: ['GetItem'] }],
  renewClaim: [{ table: 'outbox', actions: ['UpdateItem'] }],
  markSent: [{ table: 'outbox', actions: ['UpdateItem'] }],
  markFailed: [{ table: 'outbox', actions: ['UpdateItem'] }],
  markUncertain: [{ table: 'outbox', actions: ['UpdateItem'] }],
  recordEvent: [{ table: 'outbox', actions: ['UpdateItem'] }],
  entries: [{ table: 'outbox', actions: ['Query'] }],
});
