/**
 * The DynamoDB tables, defined once: the CDK stack (`cdk/`) and the local bootstrap
 * (`tools/local/stack.ts`) both build their tables from these definitions, so the tables
 * run locally are the tables deployed.
 *
 * Key layouts of the items inside each table are owned by one module per table in `shared/store/layout/`.
 */
export type AttributeType = 'S' | 'N';

export interface IndexDef {
  name: string;
  partitionKey: string;
  sortKey?: string;
  /** Non-key attributes projected into the index (INCLUDE; none: KEYS_ONLY); `'ALL'` projects the whole item. */
  project: string[] | 'ALL';
}

/** How an index projects, as both the CDK stack and the local bootstrap create it. */
export type Projection = { type: 'ALL' } | { type: 'KEYS_ONLY' } | { type: 'INCLUDE'; nonKeyAttributes: string[] };

export function projectionOf(index: IndexDef): Projection {
  if (index.project === 'ALL') return { type: 'ALL' };
  return index.project.length === 0 ? { type: 'KEYS_ONLY' } : { type: 'INCLUDE', nonKeyAttributes: index.project };
}

export interface TableDef {
  /** Logical id: the CDK construct id, the env var suffix and the local table name suffix. */
  id: TableId;
  partitionKey: string;
  sortKey?: string;
  attributes: Record<string, AttributeType>;
  indexes: IndexDef[];
  /** Attribute holding an epoch-seconds expiry, for tables whose records expire. */
  ttlAttribute?: string;
  /** What lives here, for the README and the CDK description. */
  purpose: string;
}

export type TableId = 'orders' | 'events' | 'changes' | 'rejected' | 'aggregates' | 'decisions' | 'outbox';

export const TABLES: Record<TableId, TableDef> = {
  orders: {
    id: 'orders',
    purpose: 'Accepted order.paid events, one item per orderId (exactly once).',
    partitionKey: 'orderId',
    attributes: { orderId: 'S', storeId: 'S', storePaid: 'S' },
    indexes: [
      // Orders of one store in paid-time order: the aggregation recounts one store-day with one Query.
      // The only index on orders: each entry costs a write unit per order, as much as the item itself.
      { name: 'byStore', partitionKey: 'storeId', sortKey: 'storePaid', project: ['gift'] },
    ],
  },
  events: {
    id: 'events',
    purpose: 'Accepted provider, binding and deposit events.',
    partitionKey: 'pk',
    sortKey: 'sk',
    attributes: { pk: 'S', sk: 'S', gpk: 'S', gsk: 'S', listKey: 'S' },
    indexes: [
      // Bindings and deposits of one provider.
      { name: 'byProvider', partitionKey: 'gpk', sortKey: 'gsk', project: 'ALL' },
      // Every provider profile (sparse: only profiles carry listKey).
      { name: 'providers', partitionKey: 'listKey', sortKey: 'pk', project: 'ALL' },
    ],
  },
  changes: {
    id: 'changes',
    purpose: 'Change records: one per intake batch, naming the stores, paid instants and providers it touched (and found as duplicates), for the aggregation to read what changed since its watermark.',
    partitionKey: 'pk',
    sortKey: 'sk',
    attributes: { pk: 'S', sk: 'S' },
    indexes: [],
    // The aggregation reads them within minutes; they expire after CHANGE_RETENTION_DAYS (shared/store/changes.ts).
    ttlAttribute: 'expiresAt',
  },
  rejected: {
    id: 'rejected',
    purpose: 'Rejected input events with the reason, kept for ops to read and replay.',
    partitionKey: 'rejectId',
    attributes: { rejectId: 'S' },
    indexes: [],
    ttlAttribute: 'expiresAt',
  },
  aggregates: {
    id: 'aggregates',
    purpose: 'Per store-day and per provider paid-order counts, aggregation watermark and lock.',
    partitionKey: 'pk',
    sortKey: 'sk',
    attributes: { pk: 'S', sk: 'S' },
    indexes: [],
    ttlAttribute: 'expiresAt',
  },
  decisions: {
    id: 'decisions',
    purpose: 'Evaluation decisions per provider with their evidence, as numbered revisions.',
    partitionKey: 'pk',
    sortKey: 'sk',
    attributes: { pk: 'S', sk: 'S' },
    indexes: [],
  },
  outbox: {
    id: 'outbox',
    purpose: 'Mail ledger: one entry per provider x campaign x kind x revision (or week).',
    partitionKey: 'pk',
    sortKey: 'sk',
    attributes: { pk: 'S', sk: 'S' },
    indexes: [],
  },
};

/** Environment variable that carries the physical name of a table into a function. */
export function tableEnvVar(id: TableId): string {
  return `TABLE_${id.toUpperCase()}`;
}
