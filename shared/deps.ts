import type { TableNames } from './config.ts';
import { AggregateStore } from './store/aggregates.ts';
import { SourceStore } from './store/source.ts';
import { DecisionStore } from './store/decisions.ts';
import { OutboxStore } from './store/outbox.ts';
import { ReapplyExceptionStore } from './store/exceptions.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The stores over one DocumentClient: what the use cases are handed. */
export function stores(tables: TableNames, db: DynamoDBDocumentClient) {
  return {
    db,
    tables,
    source: new SourceStore(db, tables),
    aggregates: new AggregateStore(db, tables),
    decisions: new DecisionStore(db, tables),
    outbox: new OutboxStore(db, tables),
    exceptions: new ReapplyExceptionStore(db, tables),
  };
}
