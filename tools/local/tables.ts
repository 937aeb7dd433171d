import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { systemClock } from '#shared/clock.ts';
import { retry, type RetryPolicy } from '#shared/retry.ts';
import { TABLES, type TableDef } from '#shared/tables.ts';
import type { TableNames } from '#shared/config.ts';

/** CreateTable input for a table definition: on-demand, the same keys and indexes CDK deploys. */
export function createTableInput(def: TableDef, tableName: string): CreateTableCommandInput {
  const keySchema = (pk: string, sk?: string) => [
    { AttributeName: pk, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk, KeyType: 'RANGE' as const }] : []),
  ];
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
            Projection:
              ix.project === 'ALL'
                ? { ProjectionType: 'ALL' as const }
                : { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: ix.project },
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
    }),
  );
}
