import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { localTableNames } from '#shared/config.ts';
import { TABLES, type TableId } from '#shared/tables.ts';
import { ensureTables } from '#tools/local/tables.ts';
import { logicalId, synth } from '../infra/synth.ts';
import { testClients } from '../support/stack.ts';

/**
 * The embedded stack's tables are the deployed tables (STYLE.md habit 5): what the local bootstrap
 * creates on the run's dynalite, read back with DescribeTable, equals the synthesized Data template's
 * `AWS::DynamoDB::Table` resources — keys, attribute types, indexes and their projections — and the
 * TTL it asks for equals the template's. (dynalite keeps no TTL, so the TTL is compared as the
 * bootstrap's UpdateTimeToLive requests, seen on the wire.)
 */

type Key = { AttributeName?: string; KeyType?: string };
type Shape = {
  keys: Key[];
  attributes: { AttributeName?: string; AttributeType?: string }[];
  indexes: { name?: string; keys: Key[]; projection: { ProjectionType?: string; NonKeyAttributes?: string[] } }[];
  ttl?: { AttributeName?: string; Enabled?: boolean };
};

const byName = <T extends { AttributeName?: string }>(xs: T[] = []) => [...xs].sort((a, b) => String(a.AttributeName).localeCompare(String(b.AttributeName)));
const projection = (p: { ProjectionType?: string; NonKeyAttributes?: string[] } = {}) => ({
  ProjectionType: p.ProjectionType,
  ...(p.NonKeyAttributes ? { NonKeyAttributes: [...p.NonKeyAttributes].sort() } : {}),
});

describe('local tables equal deployed tables', () => {
  it('the bootstrap creates every table of the Data template with its keys, indexes, projections and TTL', async () => {
    const template = synth().dataTemplate.findResources('AWS::DynamoDB::Table');
    const built = synth();
    const names = localTableNames(`lt-${Date.now().toString(36)}`);
    const client = new DynamoDBClient(testClients().dynamodb);
    const ttlAsked = new Map<string, { AttributeName?: string; Enabled?: boolean }>();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { TableName?: string; TimeToLiveSpecification?: { AttributeName?: string; Enabled?: boolean } };
        if (context.commandName === 'UpdateTimeToLiveCommand' && input.TableName) ttlAsked.set(input.TableName, input.TimeToLiveSpecification ?? {});
        return next(args);
      },
      { step: 'initialize', name: 'recordTtl' },
    );
    try {
      await ensureTables(client, names);
      for (const id of Object.keys(TABLES) as TableId[]) {
        const deployed = (template[logicalId(built.data.tables[id])] as { Properties: unknown }).Properties as {
          KeySchema: Key[];
          AttributeDefinitions: Shape['attributes'];
          GlobalSecondaryIndexes?: { IndexName: string; KeySchema: Key[]; Projection: Shape['indexes'][number]['projection'] }[];
          TimeToLiveSpecification?: Shape['ttl'];
        };
        const local = (await client.send(new DescribeTableCommand({ TableName: names[id] }))).Table!;
        const want: Shape = {
          keys: deployed.KeySchema,
          attributes: byName(deployed.AttributeDefinitions),
          indexes: (deployed.GlobalSecondaryIndexes ?? []).map((i) => ({ name: i.IndexName, keys: i.KeySchema, projection: projection(i.Projection) })).sort((a, b) => a.name.localeCompare(b.name)),
          ...(deployed.TimeToLiveSpecification ? { ttl: deployed.TimeToLiveSpecification } : {}),
        };
        const got: Shape = {
          keys: (local.KeySchema ?? []).map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType })),
          attributes: byName(local.AttributeDefinitions?.map(({ AttributeName, AttributeType }) => ({ AttributeName, AttributeType }))),
          indexes: (local.GlobalSecondaryIndexes ?? [])
            .map((i) => ({ name: i.IndexName, keys: (i.KeySchema ?? []).map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType })), projection: projection(i.Projection) }))
            .sort((a, b) => String(a.name).localeCompare(String(b.name))),
          ...(ttlAsked.has(names[id]) ? { ttl: ttlAsked.get(names[id]) } : {}),
        };
        expect(got, id).toEqual(want);
      }
      // The comparison has something to compare: indexes with each kind of projection, and TTLs.
      expect(Object.values(TABLES).some((t) => t.ttlAttribute)).toBe(true);
      expect(Object.values(TABLES).flatMap((t) => t.indexes.map((i) => (i.project === 'ALL' ? 'ALL' : 'INCLUDE')))).toEqual(expect.arrayContaining(['ALL', 'INCLUDE']));
    } finally {
      client.destroy();
    }
  });
});
