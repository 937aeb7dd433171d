/**
 * The rehearsal's IAM decisions (tools/rehearsal/iam.ts): a request identical in everything the
 * evaluation reads (principal and its policies, action, resource, context, resource policy) is
 * answered by the decision already made; a request that differs in any of them is evaluated anew by
 * the library, and decided as the library decides it. Every call is counted either way.
 */
import { describe, expect, it } from 'vitest';
import type { Deployment } from '#tools/rehearsal/assembly.ts';
import { Iam, type PolicyDocument, type Principal } from '#tools/rehearsal/iam.ts';

const TABLE = 'arn:aws:dynamodb:ap-southeast-1:123456789012:table/Orders';
const OTHER = 'arn:aws:dynamodb:ap-southeast-1:123456789012:table/Other';
const BUCKET = 'arn:aws:s3:::notices/renewal-2024/latest/notice.json';

const principal = (statements: PolicyDocument['Statement']): Principal => ({
  name: 'intake',
  roleArn: 'arn:aws:iam::123456789012:role/intake',
  sessionArn: 'arn:aws:sts::123456789012:assumed-role/intake/intake',
  policies: [{ name: 'p', document: { Version: '2012-10-17', Statement: statements } }],
  acknowledged: [],
});
/** Allowed on the table, but never over plain HTTP (a condition on the request's context). */
const intake = principal([
  { Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:Query'], Resource: TABLE },
  { Effect: 'Deny', Action: 'dynamodb:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
  { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::notices/*' },
]);
const tls = Object.freeze({ 'aws:SecureTransport': 'true' });
const bucketPolicy = (effect: 'Allow' | 'Deny'): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Effect: effect, Principal: { AWS: intake.roleArn }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::notices/*' }],
});

describe('IAM decisions made once per identical request', () => {
  it('answers an identical request with the decision made, without asking the library again, and counts every call', async () => {
    const iam = new Iam({} as Deployment);
    for (let i = 0; i < 5; i++) expect(await iam.authorize(intake, 'dynamodb:PutItem', TABLE, { context: tls })).toBe(true);
    // The same context in another object (not frozen): the same decision.
    expect(await iam.authorize(intake, 'dynamodb:PutItem', TABLE, { context: { 'aws:SecureTransport': 'true' } })).toBe(true);
    expect(iam.evaluations).toBe(1);
    expect([...iam.calls.values()]).toEqual([{ principal: 'intake', action: 'dynamodb:PutItem', resource: TABLE, count: 6, allowed: true }]);
  });

  it('asks again when any input differs, and decides each as the library does', async () => {
    const iam = new Iam({} as Deployment);
    const ask = (p: Principal, action: string, resource: string, context: Record<string, string>, resourcePolicy?: PolicyDocument) =>
      iam.authorize(p, action, resource, { context, ...(resourcePolicy ? { resourcePolicy } : {}) });
    const withoutGrant = principal([{ Effect: 'Allow', Action: 'dynamodb:Query', Resource: TABLE }]);
    const cases: [string, () => Promise<boolean>, boolean][] = [
      ['the first request', () => ask(intake, 'dynamodb:PutItem', TABLE, tls), true],
      ['another action', () => ask(intake, 'dynamodb:GetItem', TABLE, tls), false],
      ['another resource', () => ask(intake, 'dynamodb:PutItem', OTHER, tls), false],
      ['another context', () => ask(intake, 'dynamodb:PutItem', TABLE, { 'aws:SecureTransport': 'false' }), false],
      ['another context key', () => ask(intake, 'dynamodb:PutItem', TABLE, { 'aws:SecureTransport': 'true', 'aws:SourceIp': '10.0.0.1' }), true],
      ['another principal of the same name, without the grant', () => ask(withoutGrant, 'dynamodb:PutItem', TABLE, tls), false],
      ['a resource policy that allows', () => ask(intake, 's3:GetObject', BUCKET, tls, bucketPolicy('Allow')), true],
      ['a resource policy that denies', () => ask(intake, 's3:GetObject', BUCKET, tls, bucketPolicy('Deny')), false],
    ];
    const got: [string, boolean][] = [];
    for (const [what, run, _want] of cases) got.push([what, await run()]);
    expect(got).toEqual(cases.map(([what, , want]) => [what, want]));
    expect(iam.evaluations).toBe(cases.length);
    // Asked again, each is answered by its own decision.
    const again: [string, boolean][] = [];
    for (const [what, run] of cases) again.push([what, await run()]);
    expect(again).toEqual(got);
    expect(iam.evaluations).toBe(cases.length);
  });

  it('decides a service acting on a resource once per resource policy and context', async () => {
    const iam = new Iam({} as Deployment);
    const topic = 'arn:aws:sns:ap-southeast-1:123456789012:mail-events';
    const policy = (account: string): PolicyDocument => ({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ses.amazonaws.com' }, Action: 'sns:Publish', Resource: topic, Condition: { StringEquals: { 'aws:SourceAccount': account } } }],
    });
    const ours = { 'aws:SourceAccount': '123456789012' };
    expect(await iam.authorizeService('ses.amazonaws.com', 'sns:Publish', topic, policy('123456789012'), ours)).toBe(true);
    expect(await iam.authorizeService('ses.amazonaws.com', 'sns:Publish', topic, policy('123456789012'), ours)).toBe(true);
    expect(iam.evaluations).toBe(1);
    expect(await iam.authorizeService('ses.amazonaws.com', 'sns:Publish', topic, policy('999999999999'), ours)).toBe(false);
    expect(await iam.authorizeService('ses.amazonaws.com', 'sns:Publish', topic, policy('123456789012'), { 'aws:SourceAccount': '999999999999' })).toBe(false);
    expect(await iam.authorizeService('ses.amazonaws.com', 'sns:Publish', topic, undefined, ours)).toBe(false);
    expect(iam.evaluations).toBe(4);
  });
});
