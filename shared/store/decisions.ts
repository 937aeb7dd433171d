import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../config.ts';
import type { StoredDecision, ThresholdChange, ThresholdSource } from '../model.ts';
import type { NoticeVersion } from '../notice/versions.ts';
import { batchGet, batchWrite, queryAll } from './batch.ts';
import { declareAccess } from './access.ts';
import type { FencingToken } from './aggregates.ts';
import { conditionHeld } from './conditional.ts';
import { currentKey, currentPk, noticeKey, noticesPk, previewKey, previewPk, revisionKey, revisionsPk, runKey, runsPk } from './layout/decisions.ts';

/**
 * The decisions table: each provider's current decision, every revision, the latest preview, the
 * run log and the notice versions (keys: `layout/decisions.ts`).
 *
 * Notice versions are the ledger of the public delisting notice: each published version with its list
 * and corrections, numbered by a conditional put (a number is taken once, even by two publications at
 * once), and `writtenAt` once its files are in the bucket, so a publication that died in between is
 * finished by the next one.
 * Revisions are written with conditional puts: a revision number is taken once, and the current
 * pointer only moves forward, so two evaluations at once cannot record the same change twice.
 *
 * Fenced against a late evaluation: each revision carries the fencing token of the run that wrote
 * it (`fence`: the token of the evaluation's catch-up aggregation, so a higher token decided from
 * newer aggregates). A revision is written only on top of one whose token is not higher than its own
 * (`addRevision` reads the revision it follows, then puts the next number conditionally): revisions
 * never change once written and each number is taken once, so the read and the put together cannot
 * be overtaken. An evaluation that stalled while a newer one recorded a decision finds that out as
 * `superseded`, and writes nothing over it. It costs one GetItem per revision written (a decision that
 * changed, a few a season), none for an unchanged one. What it does not guard: a newer evaluation
 * that found a decision unchanged writes nothing, so it leaves no token that would refuse an older
 * one's later revision of it; previews (the latest preview, overwritten by each preview run) are not
 * fenced.
 */

/**
 * What recording a revision came to: `added`; `taken` (that number exists: another run recorded it
 * first, or a run died before moving the pointer; re-read and decide again); `superseded` (the
 * revision it would follow was written by a newer evaluation, a higher token: nothing written).
 */
export type RevisionWrite = 'added' | 'taken' | 'superseded';

export interface EvaluationRun {
  runId: string;
  campaignId: string;
  startedAt: string;
  asOf: string;
  by: StoredDecision['decidedBy'];
  mode: 'final' | 'preview' | 'dry-run';
  thresholdOrders: number;
  /** Where the threshold came from (absent on runs logged before it was recorded). */
  thresholdSource?: ThresholdSource;
  /** The change of the decided threshold this run made: who, why. */
  thresholdChange?: ThresholdChange;
  providerIds?: string[];
  counts: Record<string, number>;
  revisionsCreated: number;
  /** Of them, revisions that changed only figures (no mail). */
  figuresOnly?: number;
}

/** A notice version as the ledger keeps it. */
export interface StoredNoticeVersion extends NoticeVersion {
  /** Set once the version's files (and `latest/`) were written to the bucket. */
  writtenAt?: string;
}

export class DecisionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, 'decisions'>,
  ) {}

  // Read when used, not when built: a function builds every store, and is named only the tables it uses.
  private get table() {
    return this.tables.decisions;
  }

  /** One conditional PutItem: false when the condition did not hold (the number was taken, a newer revision is current). */
  private putIf(Item: Record<string, unknown>, ConditionExpression: string, ExpressionAttributeValues?: Record<string, unknown>): Promise<boolean> {
    return conditionHeld(this.db.send(new PutCommand({ TableName: this.table, Item, ConditionExpression, ...(ExpressionAttributeValues ? { ExpressionAttributeValues } : {}) })));
  }

  /** Every provider's current decision (one Query). */
  async current(campaignId: string): Promise<StoredDecision[]> {
    return this.list(currentPk(campaignId));
  }

  /** The current decisions of the given providers (BatchGetItem): a run for chosen providers. */
  async currentOf(campaignId: string, providerIds: readonly string[]): Promise<StoredDecision[]> {
    return this.get(currentPk(campaignId), providerIds);
  }

  /** The latest preview of every provider (one Query). */
  async previews(campaignId: string): Promise<StoredDecision[]> {
    return this.list(previewPk(campaignId));
  }

  /** Every revision of a provider, oldest first, as stored: each with the token of the evaluation that wrote it. */
  async revisions(campaignId: string, providerId: string): Promise<(StoredDecision & { fence?: FencingToken })[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': revisionsPk(campaignId, providerId) },
      ConsistentRead: true,
    });
    return items.map(({ pk: _pk, sk: _sk, ...rest }) => rest as unknown as StoredDecision & { fence?: FencingToken });
  }

  /**
   * Records `d` as revision `d.revision` under the evaluation's fencing token, and makes it current
   * (see RevisionWrite for what else it can come to). Token 0 (the default) is for records made
   * outside an evaluation run: it is refused on top of any evaluation's revision.
   */
  async addRevision(d: StoredDecision, fence: FencingToken = 0): Promise<RevisionWrite> {
    if (d.revision > 1) {
      const before = await this.db.send(new GetCommand({ TableName: this.table, Key: revisionKey(d.campaignId, d.providerId, d.revision - 1), ConsistentRead: true, ProjectionExpression: 'fence' }));
      if (((before.Item?.fence as number | undefined) ?? 0) > fence) return 'superseded';
    }
    if (!(await this.putIf({ ...d, fence, ...revisionKey(d.campaignId, d.providerId, d.revision) }, 'attribute_not_exists(pk)'))) return 'taken';
    await this.makeCurrent(d, fence);
    return 'added';
  }

  /**
   * Points the current decision at revision `d` unless a newer one is current. Also how a run repairs
   * a pointer that an earlier run died before writing (the revision stored, the pointer not).
   */
  async makeCurrent(d: StoredDecision, fence?: FencingToken): Promise<void> {
    // A condition that does not hold means a newer revision is current already: nothing to do. The
    // pointer is a copy of the revision, with its token when given (the guard reads the revision's).
    await this.putIf({ ...d, ...(fence !== undefined ? { fence } : {}), ...currentKey(d.campaignId, d.providerId) }, 'attribute_not_exists(pk) OR revision < :r', { ':r': d.revision });
  }

  async putPreviews(decisions: StoredDecision[]): Promise<void> {
    await batchWrite(this.db, { [this.table]: decisions.map((d) => ({ ...d, ...previewKey(d.campaignId, d.providerId) })) });
  }

  async logRun(run: EvaluationRun): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...run, ...runKey(run.campaignId, run.startedAt, run.runId) } }));
  }

  async runs(campaignId: string): Promise<EvaluationRun[]> {
    const items = await queryAll(this.db, { TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': runsPk(campaignId) } });
    return items.map(({ pk: _pk, sk: _sk, ...rest }) => rest as unknown as EvaluationRun);
  }

  /** The newest notice version, strongly consistent; undefined before the first publication. */
  async latestNotice(campaignId: string): Promise<StoredNoticeVersion | undefined> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': noticesPk(campaignId) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = out.Items?.[0];
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ...rest } = item;
    return rest as unknown as StoredNoticeVersion;
  }

  /** Records notice version `v.version`. Returns false when that number is taken (another publication was first). */
  async addNoticeVersion(v: NoticeVersion): Promise<boolean> {
    return this.putIf({ ...v, ...noticeKey(v.campaignId, v.version) }, 'attribute_not_exists(pk)');
  }

  /** Marks a notice version's files as written to the bucket. */
  async markNoticeWritten(campaignId: string, version: number, writtenAt: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: noticeKey(campaignId, version),
        UpdateExpression: 'SET writtenAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': writtenAt },
      }),
    );
  }

  // The current decisions and the previews are read without the token: it is the revisions' evidence.
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
  const { pk: _pk, sk: _sk, fence: _fence, ...rest } = item;
  return rest as unknown as StoredDecision;
}

/** What each method sends (shared/store/access.ts). */
export const DECISIONS_ACCESS = declareAccess<DecisionStore>()('decisions', {
  current: [{ table: 'decisions', actions: ['Query'] }],
  currentOf: [{ table: 'decisions', actions: ['BatchGetItem'] }],
  previews: [{ table: 'decisions', actions: ['Query'] }],
  revisions: [{ table: 'decisions', actions: ['Query'] }],
  addRevision: [{ table: 'decisions', actions: ['GetItem', 'PutItem'] }],
  makeCurrent: [{ table: 'decisions', actions: ['PutItem'] }],
  putPreviews: [{ table: 'decisions', actions: ['BatchWriteItem'] }],
  logRun: [{ table: 'decisions', actions: ['PutItem'] }],
  runs: [{ table: 'decisions', actions: ['Query'] }],
  latestNotice: [{ table: 'decisions', actions: ['Query'] }],
  addNoticeVersion: [{ table: 'decisions', actions: ['PutItem'] }],
  markNoticeWritten: [{ table: 'decisions', actions: ['UpdateItem'] }],
});
