import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { TABLES, type TableDef, type TableId } from '#shared/tables.ts';
import { appStackName, dataStackName } from '../../cdk/names.ts';
import { logicalId, synth } from './synth.ts';

/** The stateful stack: the tables of shared/tables.ts, and nothing redefined on the way. */
const s = synth();
const prod = synth({ stage: 'prod' });
type TableResource = {
  DeletionPolicy: string;
  UpdateReplacePolicy: string;
  Properties: {
    KeySchema: { AttributeName: string; KeyType: string }[];
    AttributeDefinitions: { AttributeName: string; AttributeType: string }[];
    BillingMode: string;
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: boolean };
    TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean };
    GlobalSecondaryIndexes?: { IndexName: string; KeySchema: { AttributeName: string; KeyType: string }[]; Projection: { ProjectionType: string; NonKeyAttributes?: string[] } }[];
    TableName?: string;
    DeletionProtectionEnabled?: boolean;
  };
};
const tableOf = (id: TableId, from = s) => from.dataTemplate.findResources('AWS::DynamoDB::Table')[logicalId(from.data.tables[id])] as TableResource;
const keySchema = (pk: string, sk?: string) => [{ AttributeName: pk, KeyType: 'HASH' }, ...(sk ? [{ AttributeName: sk, KeyType: 'RANGE' }] : [])];

describe('data stack', () => {
  it('names the stacks ProviderRenewal-<stage>-Data and ProviderRenewal-<stage>-App', () => {
    expect(s.data.stackName).toBe('ProviderRenewal-dev-Data');
    expect(s.stack.stackName).toBe('ProviderRenewal-dev-App');
    expect(dataStackName('prod')).toBe('ProviderRenewal-prod-Data');
    expect(appStackName('prod')).toBe('ProviderRenewal-prod-App');
  });

  it('holds exactly one table per definition in shared/tables.ts', () => {
    expect(Object.keys(s.dataTemplate.findResources('AWS::DynamoDB::Table')).sort()).toEqual((Object.keys(TABLES) as TableId[]).map((id) => logicalId(s.data.tables[id])).sort());
  });

  describe.each(Object.values<TableDef>(TABLES))('$id', (def) => {
    const t = tableOf(def.id);

    it('is on demand, with point-in-time recovery, RETAINed on delete and on replacement', () => {
      expect(t.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(t.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(t.DeletionPolicy).toBe('Retain');
      expect(t.UpdateReplacePolicy).toBe('Retain');
      // A generated name: two stages never collide, and the CLI reads it from the outputs.
      expect(t.Properties.TableName).toBeUndefined();
    });

    it('has the keys of its definition', () => {
      expect(t.Properties.KeySchema).toEqual(keySchema(def.partitionKey, def.sortKey));
      for (const a of t.Properties.AttributeDefinitions) expect(def.attributes[a.AttributeName]).toBe(a.AttributeType);
    });

    it(def.ttlAttribute ? `expires items by ${def.ttlAttribute}` : 'has no TTL', () => {
      if (def.ttlAttribute) expect(t.Properties.TimeToLiveSpecification).toEqual({ AttributeName: def.ttlAttribute, Enabled: true });
      else expect(t.Properties.TimeToLiveSpecification).toBeUndefined();
    });

    it('has the indexes of its definition, with their projections', () => {
      const indexes = t.Properties.GlobalSecondaryIndexes ?? [];
      expect(indexes.map((i) => i.IndexName).sort()).toEqual(def.indexes.map((i) => i.name).sort());
      for (const d of def.indexes) {
        const i = indexes.find((x) => x.IndexName === d.name)!;
        expect(i.KeySchema).toEqual(keySchema(d.partitionKey, d.sortKey));
        if (d.project === 'ALL') expect(i.Projection).toEqual({ ProjectionType: 'ALL' });
        else expect(i.Projection).toEqual({ ProjectionType: 'INCLUDE', NonKeyAttributes: d.project });
      }
    });
  });

  it('TTL is on rejected and aggregates, by expiresAt', () => {
    for (const id of ['rejected', 'aggregates'] as const) {
      expect(tableOf(id).Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    }
  });

  it('prod tables are also protected from deletion by hand', () => {
    for (const id of Object.keys(TABLES) as TableId[]) {
      expect(tableOf(id, prod).Properties.DeletionProtectionEnabled).toBe(true);
      expect(tableOf(id).Properties.DeletionProtectionEnabled).not.toBe(true);
    }
    prod.dataTemplate.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ BillingMode: 'PAY_PER_REQUEST' }) });
  });

  it('is env-agnostic: no account or region is baked in', () => {
    expect(s.data.account).toMatch(/^\$\{Token/);
    expect(s.stack.region).toMatch(/^\$\{Token/);
  });
});
