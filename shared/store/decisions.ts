import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../config.ts';
import type { StoredDecision } from '../model.ts';
import { batchGet, batchWrite, queryAll } from './batch.ts';
import { declareAccess } from './access.ts';

/**
 * The decisions table. Layout (one module owns it):
 *
 * | item              | pk                            | sk                   |
 * |-------------------|-------------------------------|----------------------|
 * | current decision  | `CUR#<campaign>`              | `<providerId>`       |
 * | every revision    | `REV#<campaign>#<providerId>` | `<revision, 6 digits>` |
 * | latest preview    | `PRE#<campaign>`              | `<providerId>`       |
 * | run log           | `RUNS#<campaign>`             | `<startedAt>#<runId>` |
 *
 * Revisions are written with conditional puts: a revision number is taken once, and the current
 * pointer only moves forward, so two evaluations at once cannot record the same change twice.
 */

export interface EvaluationRun {
  runId: string;
  campaignId: string;
  startedAt: string;
  asOf: string;
  by: StoredDecision['decidedBy'];
  mode: 'final' | 'preview' | 'dry-run';
  thresholdOrders: number;
  providerIds?: string[];
  counts: Record<string, number>;
  revisionsCreated: number;
}

const rev = (n: number) => String(n).padStart(6, '0');

export class DecisionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, 'decisions'>,
  ) {}

  private get table() {
    return this.tables.decisions;
  }

  /** Every provider's current decision (one Query). */
  async current(campaignId: string): Promise<StoredDecision[]> {
    return this.list(`CUR#${campaignId}`);
  }

  /** The current decisions of the given providers (BatchGetItem): a run for chosen providers. */
  async currentOf(campaignId: string, providerIds: readonly string[]): Promise<StoredDecision[]> {
    return this.get(`CUR#${campaignId}`, providerIds);
  }

  /** The latest preview of every provider (one Query). */
  async previews(campaignId: string): Promise<StoredDecision[]> {
    return this.list(`PRE#${campaignId}`);
  }

  async revisions(campaignId: string, providerId: string): Promise<StoredDecision[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `REV#${campaignId}#${providerId}` },
      ConsistentRead: true,
    });
    return items.map(strip);
  }

  /**
   * Records `d` as revision `d.revision`. Returns false when that revision already exists (another
   * run recorded it first); the caller re-reads and decides again.
   */
  async addRevision(d: StoredDecision): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...d, pk: `REV#${d.campaignId}#${d.providerId}`, sk: rev(d.revision) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
    await this.makeCurrent(d);
    return true;
  }

  /**
   * Points the current decision at revision `d` unless a newer one is current. Also how a run repairs
   * a pointer that an earlier run died before writing (the revision stored, the pointer not).
   */
  async makeCurrent(d: StoredDecision): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...d, pk: `CUR#${d.campaignId}`, sk: d.providerId },
          ConditionExpression: 'attribute_not_exists(pk) OR revision < :r',
          ExpressionAttributeValues: { ':r': d.revision },
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err; // a newer one is current already
    }
  }

  async putPreviews(decisions: StoredDecision[]): Promise<void> {
    await batchWrite(this.db, { [this.table]: decisions.map((d) => ({ ...d, pk: `PRE#${d.campaignId}`, sk: d.providerId })) });
  }

  async logRun(run: EvaluationRun): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...run, pk: `RUNS#${run.campaignId}`, sk: `${run.startedAt}#${run.runId}` } }));
  }

  async runs(campaignId: string): Promise<EvaluationRun[]> {
    const items = await queryAll(this.db, { TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `RUNS#${campaignId}` } });
    return items.map(({ pk: _pk, sk: _sk, ...rest }) => rest as unknown as EvaluationRun);
  }

  private async list(pk: string): Promise<StoredDecision[]> {
    const items = await queryAll(this.db, { TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true });
    return items.map(strip).sort((a, b) => a.providerId.localeCompare(b.providerId));
  }

  private async get(pk: string, providerIds: readonly string[]): Promise<StoredDecision[]> {
    const items = (await batchGet(this.db, { [this.table]: [...new Set(providerIds)].map((sk) => ({ pk, sk })) }))[this.table]!;
    return items.map(strip).sort((a, b) => a.providerId.localeCompare(b.providerId));
  }
}

function strip(item: Record<string, unknown>): StoredDecision {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as StoredDecision;
}

/** What each method sends (shared/store/access.ts). */
export const DECISIONS_ACCESS = declareAccess<DecisionStore>()('decisions', {
  current: [{ table: 'decisions', actions: ['Query'] }],
  currentOf: [{ table: 'decisions', actions: ['BatchGetItem'] }],
  previews: [{ table: 'decisions', actions: ['Query'] }],
  revisions: [{ table: 'decisions', actions: ['Query'] }],
  addRevision: [{ table: 'decisions', actions: ['PutItem'] }],
  makeCurrent: [{ table: 'decisions', actions: ['PutItem'] }],
  putPreviews: [{ table: 'decisions', actions: ['BatchWriteItem'] }],
  logRun: [{ table: 'decisions', actions: ['PutItem'] }],
  runs: [{ table: 'decisions', actions: ['Query'] }],
});
