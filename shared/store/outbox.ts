import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../config.ts';
import { queryAll } from './batch.ts';
import { declareAccess } from './access.ts';

/**
 * The mail ledger: one entry per provider × campaign × kind × decision revision (outcome) or season
 * week (progress). Layout: pk `OB#<campaign>#<kind>`, sk `<providerId>#<revision or week, 4 digits>`.
 *
 * A notice is claimed with a conditional write before it is sent and marked sent after, so a notice
 * is sent once however many runs race for it. Only a sender that dies between SES accepting the mail
 * and the mark can cause a second send, after its claim's lease has run out.
 */

export type NoticeKind = 'outcome' | 'progress';

export interface OutboxEntry {
  campaignId: string;
  kind: NoticeKind;
  providerId: string;
  /** Decision revision (outcome) or season week (progress). */
  seq: number;
  status: 'sending' | 'sent' | 'failed';
  to: string;
  subject?: string;
  attempts: number;
  owner?: string;
  leaseUntil?: string;
  messageId?: string;
  sentAt?: string;
  /** Why it failed: a permanent failure is not retried by later runs. */
  error?: string;
  permanent?: boolean;
  updatedAt: string;
}

const key = (campaignId: string, kind: NoticeKind, providerId: string, seq: number) => ({
  pk: `OB#${campaignId}#${kind}`,
  sk: `${providerId}#${String(seq).padStart(4, '0')}`,
});

export type ClaimResult = { claimed: true; attempts: number } | { claimed: false; entry: OutboxEntry };

export class OutboxStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, 'outbox'>,
  ) {}

  /**
   * Claims a notice for sending: succeeds when it was never claimed, or its last claim's lease ran
   * out without a result, or it failed transiently. A sent or permanently failed notice stays as it is.
   */
  async claim(n: { campaignId: string; kind: NoticeKind; providerId: string; seq: number; to: string }, owner: string, now: Date, leaseMs: number): Promise<ClaimResult> {
    const k = key(n.campaignId, n.kind, n.providerId, n.seq);
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tables.outbox,
          Key: k,
          UpdateExpression:
            'SET campaignId = :c, kind = :k, providerId = :p, seq = :s, #st = :sending, #to = :to, #o = :owner, leaseUntil = :lease, updatedAt = :now ADD attempts :one',
          ConditionExpression:
            'attribute_not_exists(pk) OR (#st = :sending AND leaseUntil < :now) OR (#st = :failed AND permanent = :false)',
          ExpressionAttributeNames: { '#st': 'status', '#to': 'to', '#o': 'owner' },
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
            ':now': now.toISOString(),
            ':one': 1,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { claimed: true, attempts: out.Attributes?.attempts as number };
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
      const got = await this.db.send(new GetCommand({ TableName: this.tables.outbox, Key: k, ConsistentRead: true }));
      return { claimed: false, entry: strip(got.Item!) };
    }
  }

  async markSent(n: { campaignId: string; kind: NoticeKind; providerId: string; seq: number }, owner: string, result: { messageId: string; subject: string }, now: Date): Promise<void> {
    await this.settle(n, owner, { status: 'sent', messageId: result.messageId, subject: result.subject, sentAt: now.toISOString(), updatedAt: now.toISOString() });
  }

  async markFailed(n: { campaignId: string; kind: NoticeKind; providerId: string; seq: number }, owner: string, error: string, permanent: boolean, now: Date): Promise<void> {
    await this.settle(n, owner, { status: 'failed', error, permanent, updatedAt: now.toISOString() });
  }

  private async settle(n: { campaignId: string; kind: NoticeKind; providerId: string; seq: number }, owner: string, fields: Record<string, unknown>): Promise<void> {
    const names = Object.keys(fields);
    await this.db.send(
      new UpdateCommand({
        TableName: this.tables.outbox,
        Key: key(n.campaignId, n.kind, n.providerId, n.seq),
        UpdateExpression: `SET ${names.map((_, i) => `#f${i} = :v${i}`).join(', ')} REMOVE leaseUntil`,
        // Only the claim's owner settles it: a sender whose lease ran out must not overwrite the next.
        ConditionExpression: '#o = :owner',
        ExpressionAttributeNames: { '#o': 'owner', ...Object.fromEntries(names.map((f, i) => [`#f${i}`, f])) },
        ExpressionAttributeValues: { ':owner': owner, ...Object.fromEntries(names.map((f, i) => [`:v${i}`, fields[f]])) },
      }),
    );
  }

  async entries(campaignId: string, kind: NoticeKind): Promise<OutboxEntry[]> {
    const items = await queryAll(this.db, {
      TableName: this.tables.outbox,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `OB#${campaignId}#${kind}` },
      ConsistentRead: true,
    });
    return items.map(strip);
  }
}

function strip(item: Record<string, unknown>): OutboxEntry {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as OutboxEntry;
}

/** What each method sends (shared/store/access.ts). */
export const OUTBOX_ACCESS = declareAccess<OutboxStore>()('outbox', {
  claim: [{ table: 'outbox', actions: ['UpdateItem', 'GetItem'] }],
  markSent: [{ table: 'outbox', actions: ['UpdateItem'] }],
  markFailed: [{ table: 'outbox', actions: ['UpdateItem'] }],
  entries: [{ table: 'outbox', actions: ['Query'] }],
});
