import { CreateTableCommand, DescribeTableCommand, ResourceNotFoundException, UpdateTimeToLiveCommand, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { systemClock } from '#shared/clock.ts';
import { retry, type RetryPolicy } from '#shared/retry.ts';
import { projectionOf, TABLES, type TableDef } from '#shared/tables.ts';
import type { TableNames } from '#shared/config.ts';

/** CreateTable input for a table definition: on-demand, the same keys, indexes and projections CDK deploys. */
export function createTableInput(def: TableDef, tableName: string): CreateTableCommandInput {
  const keySchema = (pk: string, sk?: string) => [{ AttributeName: pk, KeyType: 'HASH' as const }, ...(sk ? [{ AttributeName: sk, KeyType: 'RANGE' as const }] : [])];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: Object.entries(def.attributes).map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: keySchema(def.partitionKey, def.sortKey),
    ...(def.indexes.length
      ? {
          GlobalSecondaryIndexes: def.indexes.map((ix) => ({
            IndexName: ix.name,
            KeySchema: keySchema(ix.partitionKey, ix.sortKey),
            Projection: ((p) => (p.type === 'INCLUDE' ? { ProjectionType: p.type, NonKeyAttributes: p.nonKeyAttributes } : { ProjectionType: p.type }))(projectionOf(ix)),
          })),
        }
      : {}),
  };
}

/** A new table is asked about every 50 ms, for about ten seconds. */
const TABLE_ACTIVE_POLL: RetryPolicy = { attempts: 202, baseMs: 50, capMs: 50, jitter: 0 };

/** Creates every missing table and waits until all are ACTIVE. Safe to run again. */
export async function ensureTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    Object.values(TABLES).map(async (def) => {
      const TableName = names[def.id];
      try {
        await client.send(new DescribeTableCommand({ TableName }));
      } catch (err) {
        if (!(err instanceof ResourceNotFoundException)) throw err;
        try {
          await client.send(new CreateTableCommand(createTableInput(def, TableName)));
        } catch (createErr) {
          // A concurrent `local up` created it first: that is the state we want.
          if ((createErr as Error).name !== 'ResourceInUseException') throw createErr;
        }
      }
      const active = await retry(
        TABLE_ACTIVE_POLL,
        async () => ((await client.send(new DescribeTableCommand({ TableName }))).Table?.TableStatus === 'ACTIVE' ? { done: true } : { again: 'not ACTIVE' }),
        systemClock,
      );
      if (!active.ok) throw new Error(`table ${TableName} did not become ACTIVE`);
      if (def.ttlAttribute) await enableTtl(client, TableName, def.ttlAttribute);
    }),
  );
}

/**
 * Turns on the table's TTL as the Data stack does. dynalite implements no UpdateTimeToLive (it answers
 * UnknownOperationException, and its items never expire): the request is still made, so a store that
 * has TTL (DynamoDB Local, moto) gets the deployed setting.
 */
async function enableTtl(client: DynamoDBClient, TableName: string, AttributeName: string): Promise<void> {
  try {
    await client.send(new UpdateTimeToLiveCommand({ TableName, TimeToLiveSpecification: { AttributeName, Enabled: true } }));
  } catch (err) {
    const name = (err as Error).name;
    // Unknown to dynalite; already enabled (a second `local up`) is the state we want.
    if (name !== 'UnknownOperationException' && !(name === 'ValidationException' && /already enabled/i.test((err as Error).message))) throw err;
  }
}
