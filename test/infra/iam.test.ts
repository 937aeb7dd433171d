import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { accessOf, type BucketId, type StoreUse } from '#shared/store/access.ts';
import { TABLES, type TableId } from '#shared/tables.ts';
import { AGGREGATE_NEEDS } from '#shared/usecases/aggregate.ts';
import { EVALUATE_NEEDS } from '#shared/usecases/evaluate.ts';
import { INTAKE_NEEDS } from '#shared/usecases/intake.ts';
import { MAIL_EVENTS_NEEDS } from '#shared/usecases/mail-events.ts';
import { NOTIFY_NEEDS } from '#shared/usecases/notify.ts';
import { PUBLISH_NEEDS } from '#shared/usecases/publish.ts';
import { REPORT_NEEDS } from '#shared/usecases/report.ts';
import { REAPPLY_NEEDS } from '#shared/usecases/reapply.ts';
import { FUNCTION_NAMES, type FunctionName } from '../../cdk/names.ts';
import { actionsOf, logicalId, resourcesOf, roleStatements, synth, type Statement } from './synth.ts';

/**
 * Each function's DynamoDB access is derived from what its use case declares it uses of each store
 * (shared/store/access.ts): the template must grant exactly that, statement for statement, and
 * nothing on any other table. What the declarations themselves must contain is checked against the
 * code by test/integration/store-access.test.ts and by the rehearsal.
 */
const NEEDS: Record<FunctionName, readonly StoreUse<unknown>[]> = {
  intake: INTAKE_NEEDS,
  aggregate: AGGREGATE_NEEDS,
  evaluate: EVALUATE_NEEDS,
  notify: NOTIFY_NEEDS,
  report: REPORT_NEEDS,
  mailEvents: MAIL_EVENTS_NEEDS,
  publish: PUBLISH_NEEDS,
  reapply: REAPPLY_NEEDS,
};

const s = synth();
const tableIds = Object.keys(TABLES) as TableId[];
const tableLogicalIds = Object.fromEntries(tableIds.map((id) => [id, logicalId(s.data.tables[id])])) as Record<TableId, string>;
const names = (value: unknown, needle: string) => JSON.stringify(value).includes(needle);
const statementsOf = (fn: FunctionName) => roleStatements(s.appTemplate, logicalId(s.stack.functions[fn].role!));
const sorted = (a: string[]) => [...a].sort();

describe('function access (IAM)', () => {
  it('no policy in either stack has a wildcard action or a "*" resource (but the log delivery of a state machine, which accepts only "*")', () => {
    // Step Functions developer guide, "IAM policies for logging to CloudWatch Logs": these actions take no resource but "*".
    const LOG_DELIVERY = [
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ];
    const machineRoles = Object.values(s.stack.stateMachines).map((m) => ({ Ref: logicalId(m.stateMachine.role) }));
    for (const template of [s.appTemplate, s.dataTemplate]) {
      for (const p of Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { Roles: unknown[]; PolicyDocument: { Statement: Statement[] } } }[]) {
        for (const st of p.Properties.PolicyDocument.Statement) {
          if (JSON.stringify(actionsOf(st)) === JSON.stringify(LOG_DELIVERY) && machineRoles.some((r) => JSON.stringify(p.Properties.Roles) === JSON.stringify([r]))) {
            expect(st.Resource).toBe('*');
            continue;
          }
          for (const a of actionsOf(st)) expect(a, JSON.stringify(st)).not.toContain('*');
          for (const r of resourcesOf(st)) expect(r, JSON.stringify(st)).not.toBe('*');
          expect(st.Effect).toBe('Allow');
        }
      }
    }
  });

  describe.each(FUNCTION_NAMES)('%s', (fn) => {
    const statements = statementsOf(fn);

    it.each(tableIds)('table %s: exactly what the use case declares (table and each index apart), or no statement naming it', (table) => {
      const naming = statements.filter((st) => names(st.Resource, tableLogicalIds[table]));
      const declared = accessOf(NEEDS[fn]).tables.filter((a) => a.table === table);
      const granted = naming.map((st) => {
        expect(resourcesOf(st), JSON.stringify(st)).toHaveLength(1);
        const index = JSON.stringify(st.Resource).match(/\/index\/([A-Za-z0-9_.-]+)/)?.[1];
        return { table, ...(index ? { index } : {}), actions: sorted(actionsOf(st).map((a) => a.replace(/^dynamodb:/, ''))) };
      });
      const key = (a: { index?: string }) => a.index ?? '';
      expect(granted.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(declared.map((a) => ({ ...a, actions: sorted([...a.actions]) })).sort((a, b) => key(a).localeCompare(key(b))));
      // Index grants carry Query or Scan only, and name indexes the table really has.
      for (const g of granted.filter((x) => x.index)) {
        expect(
          g.actions.every((a) => a === 'Query' || a === 'Scan'),
          JSON.stringify(g),
        ).toBe(true);
        expect(TABLES[table].indexes.map((i) => i.name)).toContain(g.index);
      }
    });

    it('has no DynamoDB action beyond its tables, and only the non-table access it needs', () => {
      const other = statements.filter((st) => !tableIds.some((t) => names(st.Resource, tableLogicalIds[t])));
      const otherActions = sorted(other.flatMap(actionsOf));
      expect(otherActions.filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
      // What no store declares: the platform's needs (log writing, Lambda's queue poller, an asynchronous
      // invocation's failure destination) and the calls that are not a store's (SES, invoking a function).
      const logs = ['logs:CreateLogStream', 'logs:PutLogEvents'];
      // Lambda's poller needs exactly these three; an asynchronous invocation's failure needs only SendMessage.
      const asyncFailure = ['sqs:SendMessage'];
      const platform: Record<FunctionName, string[]> = {
        intake: [...logs, 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
        aggregate: [...logs, ...asyncFailure],
        evaluate: [...logs, ...asyncFailure, 'lambda:InvokeFunction', 'lambda:InvokeFunction'],
        notify: [...logs, ...asyncFailure, 'ses:SendEmail'],
        report: logs,
        mailEvents: [...logs, ...asyncFailure],
        publish: [...logs, ...asyncFailure],
        reapply: logs,
      };
      // Bucket access, as the use case's stores declare it (one statement per bucket).
      const buckets = accessOf(NEEDS[fn]).buckets.flatMap((b) => b.actions.map((a) => `s3:${a}`));
      expect(otherActions).toEqual(sorted([...platform[fn], ...buckets]));
    });

    it('writes logs only to its own log group', () => {
      const logs = statements.filter((st) => actionsOf(st).some((a) => a.startsWith('logs:')));
      expect(logs).toHaveLength(1);
      expect(logs[0]!.Resource).toEqual({ 'Fn::GetAtt': [logicalId(s.stack.functions[fn].logs), 'Arn'] });
    });
  });

  it('intake consumes only the intake queue', () => {
    const sqs = statementsOf('intake').filter((st) => actionsOf(st).some((a) => a.startsWith('sqs:')));
    expect(sqs.map((st) => st.Resource)).toEqual([{ 'Fn::GetAtt': [logicalId(s.stack.intake.queue), 'Arn'] }]);
  });

  it('evaluate may invoke the notify and publish functions and nothing else (no versions, no aliases)', () => {
    const invoke = statementsOf('evaluate').filter((st) => actionsOf(st).includes('lambda:InvokeFunction'));
    expect(invoke.map((st) => st.Resource)).toEqual([{ 'Fn::GetAtt': [logicalId(s.stack.functions.notify), 'Arn'] }, { 'Fn::GetAtt': [logicalId(s.stack.functions.publish), 'Arn'] }]);
  });

  it.each(FUNCTION_NAMES)('%s: S3 exactly as its stores declare, on the objects of the declared bucket only', (fn) => {
    const s3 = statementsOf(fn).filter((st) => actionsOf(st).some((a) => a.startsWith('s3:')));
    const declared = accessOf(NEEDS[fn]).buckets;
    const bucketOf: Record<BucketId, IConstruct> = { notice: s.stack.notice.bucket };
    expect(s3.map((st) => ({ actions: sorted(actionsOf(st)), resource: st.Resource }))).toEqual(
      declared.map((b) => ({ actions: sorted(b.actions.map((a) => `s3:${a}`)), resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(bucketOf[b.bucket]), 'Arn'] }, '/*']] } })),
    );
  });

  it('notify may send mail only as the sender identity, through the configuration set', () => {
    const ses = statementsOf('notify').filter((st) => actionsOf(st).some((a) => a.startsWith('ses:')));
    expect(ses).toHaveLength(1);
    expect(actionsOf(ses[0]!)).toEqual(['ses:SendEmail']);
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
