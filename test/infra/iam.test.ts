import { describe, expect, it } from 'vitest';
import { TABLES, type TableId } from '#shared/tables.ts';
import { FUNCTION_NAMES, type FunctionName } from '../../cdk/names.ts';
import { actionsOf, logicalId, resourcesOf, roleStatements, synth, type Statement } from './synth.ts';

/**
 * Each function's access, exactly as issue #4 lists it: the actions on each table it uses, the indexes
 * it may Query, and no statement at all naming a table it does not use.
 */
type Access = { table: string[]; indexes?: string[]; indexActions?: string[] };
// The full recount scans orders and events; useTable grants a table's Query and Scan on its named indexes alike.
const AGGREGATE: Partial<Record<TableId, Access>> = {
  orders: { table: ['Query', 'Scan'], indexes: ['byStore'], indexActions: ['Query', 'Scan'] },
  events: { table: ['Query', 'GetItem', 'BatchGetItem', 'Scan'], indexes: ['byProvider', 'providers'], indexActions: ['Query', 'Scan'] },
  changes: { table: ['Query'] },
  aggregates: { table: ['GetItem', 'BatchGetItem', 'Query', 'UpdateItem', 'BatchWriteItem'] },
};
const EXPECTED: Record<FunctionName, Partial<Record<TableId, Access>>> = {
  intake: {
    orders: { table: ['BatchGetItem', 'BatchWriteItem'] },
    events: { table: ['BatchGetItem', 'BatchWriteItem'] },
    changes: { table: ['GetItem', 'BatchGetItem', 'BatchWriteItem'] },
    rejected: { table: ['BatchWriteItem'] },
  },
  aggregate: AGGREGATE,
  evaluate: { ...AGGREGATE, decisions: { table: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'BatchWriteItem'] } },
  notify: {
    decisions: { table: ['Query', 'GetItem', 'UpdateItem'] },
    aggregates: { table: ['GetItem', 'BatchGetItem', 'Query'] },
    events: { table: ['Query', 'GetItem', 'BatchGetItem'], indexes: ['byProvider', 'providers'] },
    outbox: { table: ['GetItem', 'PutItem', 'UpdateItem', 'Query'] },
  },
  report: {
    decisions: { table: ['Query', 'GetItem'] },
    outbox: { table: ['Query'] },
  },
};

const s = synth();
const tableIds = Object.keys(TABLES) as TableId[];
const tableLogicalIds = Object.fromEntries(tableIds.map((id) => [id, logicalId(s.data.tables[id])])) as Record<TableId, string>;
const names = (value: unknown, needle: string) => JSON.stringify(value).includes(needle);
const statementsOf = (fn: FunctionName) => roleStatements(s.appTemplate, logicalId(s.stack.functions[fn].role!));
const sorted = (a: string[]) => [...a].sort();

describe('function access (IAM)', () => {
  it('no policy in either stack has a wildcard action or a "*" resource', () => {
    for (const template of [s.appTemplate, s.dataTemplate]) {
      for (const p of Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { PolicyDocument: { Statement: Statement[] } } }[]) {
        for (const st of p.Properties.PolicyDocument.Statement) {
          for (const a of actionsOf(st)) expect(a, JSON.stringify(st)).not.toContain('*');
          for (const r of resourcesOf(st)) expect(r, JSON.stringify(st)).not.toBe('*');
          expect(st.Effect).toBe('Allow');
        }
      }
    }
  });

  describe.each(FUNCTION_NAMES)('%s', (fn) => {
    const statements = statementsOf(fn);

    it.each(tableIds)('table %s: exactly the listed actions, or no statement naming it', (table) => {
      const naming = statements.filter((st) => names(st.Resource, tableLogicalIds[table]));
      const expected = EXPECTED[fn][table];
      if (!expected) {
        expect(naming).toEqual([]);
        return;
      }
      const onTable = naming.filter((st) => !names(st.Resource, '/index/'));
      const onIndexes = naming.filter((st) => names(st.Resource, '/index/'));
      expect(onTable).toHaveLength(1);
      expect(sorted(actionsOf(onTable[0]!))).toEqual(sorted(expected.table.map((a) => `dynamodb:${a}`)));
      expect(resourcesOf(onTable[0]!)).toHaveLength(1);
      if (!expected.indexes) {
        expect(onIndexes).toEqual([]);
        return;
      }
      expect(onIndexes).toHaveLength(1);
      expect(sorted(actionsOf(onIndexes[0]!))).toEqual((expected.indexActions ?? ['Query']).map((a) => `dynamodb:${a}`));
      const indexNames = resourcesOf(onIndexes[0]!).map((r) => JSON.stringify(r).match(/\/index\/([A-Za-z0-9_.-]+)/)?.[1]);
      expect(sorted(indexNames as string[])).toEqual(sorted(expected.indexes));
      // The index names come from shared/tables.ts, not from a second list.
      for (const name of expected.indexes) expect(TABLES[table].indexes.map((i) => i.name)).toContain(name);
    });

    it('has no DynamoDB action beyond its tables, and only the non-table access it needs', () => {
      const other = statements.filter((st) => !tableIds.some((t) => names(st.Resource, tableLogicalIds[t])));
      const otherActions = sorted(other.flatMap(actionsOf));
      expect(otherActions.filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
      const logs = ['logs:CreateLogStream', 'logs:PutLogEvents'];
      const asyncFailure = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
      const expected: Record<FunctionName, string[]> = {
        intake: [...logs, 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
        aggregate: [...logs, ...asyncFailure],
        evaluate: [...logs, ...asyncFailure, 'lambda:InvokeFunction'],
        notify: [...logs, ...asyncFailure, 'ses:SendEmail', 'ses:SendRawEmail'],
        report: logs,
      };
      expect(otherActions).toEqual(sorted(expected[fn]));
    });

    it('writes logs only to its own log group', () => {
      const logs = statements.filter((st) => actionsOf(st).some((a) => a.startsWith('logs:')));
      expect(logs).toHaveLength(1);
      expect(logs[0]!.Resource).toEqual({ 'Fn::GetAtt': [logicalId(s.stack.functions[fn].logs), 'Arn'] });
    });
  });

  it('intake consumes only the intake queue', () => {
    const sqs = statementsOf('intake').filter((st) => actionsOf(st).some((a) => a.startsWith('sqs:')));
    expect(sqs.map((st) => st.Resource)).toEqual([{ 'Fn::GetAtt': [logicalId(s.stack.intakeQueue), 'Arn'] }]);
  });

  it('evaluate may invoke the notify function and nothing else (no versions, no aliases)', () => {
    const invoke = statementsOf('evaluate').filter((st) => actionsOf(st).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(invoke[0]!.Resource).toEqual({ 'Fn::GetAtt': [logicalId(s.stack.functions.notify), 'Arn'] });
  });

  it('notify may send mail only as the sender identity, through the configuration set', () => {
    const ses = statementsOf('notify').filter((st) => actionsOf(st).some((a) => a.startsWith('ses:')));
    expect(ses).toHaveLength(1);
    expect(sorted(actionsOf(ses[0]!))).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
    const resources = resourcesOf(ses[0]!).map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(2);
    const identityId = Object.keys(s.appTemplate.findResources('AWS::SES::EmailIdentity'))[0]!;
    const configSetId = Object.keys(s.appTemplate.findResources('AWS::SES::ConfigurationSet'))[0]!;
    expect(resources.filter((r) => r.includes(':identity/') && r.includes(`{"Ref":"${identityId}"}`))).toHaveLength(1);
    expect(resources.filter((r) => r.includes(':configuration-set/') && r.includes(`{"Ref":"${configSetId}"}`))).toHaveLength(1);
  });

  it('functions other than notify cannot send mail; only evaluate can invoke a function', () => {
    for (const fn of FUNCTION_NAMES) {
      const actions = statementsOf(fn).flatMap(actionsOf);
      if (fn !== 'notify') expect(actions.filter((a) => a.startsWith('ses:'))).toEqual([]);
      if (fn !== 'evaluate') expect(actions).not.toContain('lambda:InvokeFunction');
    }
  });

  it('sandboxRecipients adds exactly those recipient identities to the SES statement', () => {
    const t = synth({ sandboxRecipients: 'tester@example.org' });
    const ses = roleStatements(t.appTemplate, logicalId(t.stack.functions.notify.role!)).filter((st) => actionsOf(st).includes('ses:SendEmail'));
    const resources = resourcesOf(ses[0]!).map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(3);
    expect(resources.filter((r) => r.includes(':identity/tester@example.org'))).toHaveLength(1);
  });
});
