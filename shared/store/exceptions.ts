import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../config.ts';
import type { ExceptionRecord } from '../rules/reapply.ts';
import { declareAccess } from './access.ts';
import { queryAll } from './batch.ts';
import { conditionHeld } from './conditional.ts';
import { reapplyExceptionKey, reapplyExceptionsPk } from './layout/decisions.ts';

/**
 * The ledger of exceptions to the re-application bar (clause 3, "原则上"; RULES.md "re-application
 * (3)"), kept in the decisions table beside the decisions they answer (keys: `layout/decisions.ts`).
 * Records are only ever added: a grant says who, when and why; a withdrawal is a new record of its own.
 * There is no method that updates or deletes one, and the function policy derived from this
 * declaration grants neither.
 */

/** One record as stored: the rule's fields plus whose it is and its own id. */
export interface StoredExceptionRecord extends ExceptionRecord {
  providerId: string;
  recordId: string;
}

export class ReapplyExceptionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, 'decisions'>,
  ) {}

  private get table() {
    return this.tables.decisions;
  }

  /**
   * Adds a record (one conditional PutItem: a record is never overwritten). False when a record with
   * its key exists already, which only a repeated record id can cause.
   */
  async add(r: StoredExceptionRecord): Promise<boolean> {
    const item = { ...reapplyExceptionKey(r.providerId, r.at, r.recordId), providerId: r.providerId, recordId: r.recordId, kind: r.kind, by: r.by, at: r.at, reason: r.reason };
    return conditionHeld(this.db.send(new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' })));
  }

  /** Every record of one provider, oldest first (one Query, consistent). */
  async of(providerId: string): Promise<StoredExceptionRecord[]> {
    const items = await queryAll(this.db, { TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': reapplyExceptionsPk(providerId) }, ConsistentRead: true });
    return items.map(({ pk: _pk, sk: _sk, ...rest }) => rest as unknown as StoredExceptionRecord);
  }
}

/** What each method sends (shared/store/access.ts). */
export const EXCEPTIONS_ACCESS = declareAccess<ReapplyExceptionStore>()('exceptions', {
  add: [{ table: 'decisions', actions: ['PutItem'] }],
  of: [{ table: 'decisions', actions: ['Query'] }],
});
