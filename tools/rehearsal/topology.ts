/**
 * What the rehearsal reads from the cloud assembly, resource type by resource type: the tables (made on
 * the embedded dynalite as the Data template defines them), the queues with their policies and
 * redrive, the schedules, the resource policies of queues, buckets and topics, the functions'
 * permissions, SES's event destinations and SNS's subscriptions, and the campaign the schedules run.
 */
import { CreateTableCommand, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { campaignRegistry } from '#shared/campaigns.ts';
import type { Campaign } from '#shared/rules/campaign.ts';
import { addDays, localMidnightUtc } from '#shared/rules/time.ts';
import type { Deployment, Resource } from './assembly.ts';
import type { LambdaFunction } from './functions.ts';
import type { PolicyDocument } from './iam.ts';
import type { ScheduleSpec } from './schedules.ts';
import type { Clock } from './season-feed.ts';
import type { MailEventRoute, Subscription } from './sns.ts';
import { Queue, Queues, type QueueSpec } from './sqs.ts';

/** A table as the rehearsal made it. */
export interface TableFigure {
  name: string;
  logicalId: string;
  indexes: string[];
  ttl?: string;
}

/** The clock of a season: from the day before the period to two days after it (CST dates). */
export function seasonClock(c: Campaign): Clock {
  return { startMs: localMidnightUtc(addDays(c.periodStartDate, -1), c.utcOffsetMinutes), endMs: localMidnightUtc(addDays(c.periodEndDate, 3), c.utcOffsetMinutes) };
}

/** The campaign the schedules run (their payload names it): `wanted`, or the first one named. */
export function campaignOf(d: Deployment, wanted?: string): Campaign {
  const named: string[] = [];
  for (const s of d.resourcesOfType('AWS::Scheduler::Schedule')) {
    const input = d.props<{ Target: { Input?: string } }>(s).Target.Input;
    const id = input ? (JSON.parse(input) as { campaignId?: string }).campaignId : undefined;
    if (id) named.push(id);
    const c = id && (wanted === undefined || id === wanted) ? campaignRegistry().get(id) : undefined;
    if (c) return c;
  }
  throw new Error(wanted ? `no schedule of the template runs ${wanted} (its schedules run: ${[...new Set(named)].join(', ') || 'none'})` : 'no schedule of the template names a known campaign');
}

/** The threshold the deployed evaluation uses: THRESHOLD_ORDERS of its environment, if set. */
export function evaluateThreshold(fns: Map<string, LambdaFunction>): number | undefined {
  const v = fns.get('evaluate')?.spec.environment.THRESHOLD_ORDERS;
  return v ? Number(v) : undefined;
}

export async function createTables(d: Deployment, admin: DynamoDBClient): Promise<TableFigure[]> {
  const out: TableFigure[] = [];
  for (const t of d.resourcesOfType('AWS::DynamoDB::Table')) {
    const p = d.props<CreateTableCommandInput & { TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean } }>(t);
    const name = d.physicalName(t);
    const strip = <T extends object>(x: T) =>
      Object.fromEntries(Object.entries(x).filter(([k]) => !['ProvisionedThroughput', 'ContributorInsightsSpecification', 'OnDemandThroughput', 'WarmThroughput'].includes(k))) as T;
    await admin.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: p.AttributeDefinitions,
        KeySchema: p.KeySchema,
        BillingMode: 'PAY_PER_REQUEST',
        ...(p.GlobalSecondaryIndexes?.length ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes.map(strip) } : {}),
        ...(p.LocalSecondaryIndexes?.length ? { LocalSecondaryIndexes: p.LocalSecondaryIndexes } : {}),
      }),
    );
    out.push({
      name,
      logicalId: t.logicalId,
      indexes: (p.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName!),
      ...(p.TimeToLiveSpecification?.Enabled ? { ttl: p.TimeToLiveSpecification.AttributeName } : {}),
    });
  }
  return out;
}

/** The template's queues, dead-letter queues before the queues that redrive to them. */
export function buildQueues(d: Deployment): Queues {
  const byArn = new Map<string, Queue>();
  const byName = new Map<string, Queue>();
  const specs = d.resourcesOfType('AWS::SQS::Queue').map((q) => {
    const p = d.props<{ FifoQueue?: boolean; VisibilityTimeout?: number; ContentBasedDeduplication?: boolean; RedrivePolicy?: { deadLetterTargetArn: string; maxReceiveCount: number } }>(q);
    const spec: QueueSpec = {
      logicalId: q.logicalId,
      arn: d.getAtt(q, 'Arn'),
      url: d.ref(q),
      name: d.physicalName(q),
      fifo: p.FifoQueue === true,
      visibilityTimeoutMs: (p.VisibilityTimeout ?? 30) * 1000,
      contentBasedDeduplication: p.ContentBasedDeduplication === true,
      ...(p.RedrivePolicy ? { redrive: { deadLetterArn: p.RedrivePolicy.deadLetterTargetArn, maxReceiveCount: Number(p.RedrivePolicy.maxReceiveCount) } } : {}),
    };
    return spec;
  });
  // Dead-letter queues first, so a queue that redrives finds its target.
  for (const spec of [...specs].sort((a, b) => Number(!!a.redrive) - Number(!!b.redrive))) {
    const q = new Queue(spec, spec.redrive ? byArn.get(spec.redrive.deadLetterArn) : undefined);
    byArn.set(spec.arn, q);
    byName.set(shortQueueName(spec.logicalId), q);
  }
  const policies = new Map<string, PolicyDocument>();
  for (const qp of d.resourcesOfType('AWS::SQS::QueuePolicy')) {
    const p = d.props<{ PolicyDocument: PolicyDocument; Queues: string[] }>(qp);
    for (const url of p.Queues) {
      const q = [...byArn.values()].find((x) => x.spec.url === url);
      if (q) policies.set(q.spec.arn, p.PolicyDocument);
    }
  }
  const deadLetterArns = new Set(specs.flatMap((s) => (s.redrive ? [s.redrive.deadLetterArn] : [])));
  // Queues that are a schedule's dead-letter queue or an on-failure destination count as dead-letter queues too.
  for (const s of d.resourcesOfType('AWS::Scheduler::Schedule')) {
    const dl = d.props<{ Target: { DeadLetterConfig?: { Arn: string } } }>(s).Target.DeadLetterConfig?.Arn;
    if (dl) deadLetterArns.add(dl);
  }
  for (const c of d.resourcesOfType('AWS::Lambda::EventInvokeConfig')) {
    const dest = d.props<{ DestinationConfig?: { OnFailure?: { Destination: string } } }>(c).DestinationConfig?.OnFailure?.Destination;
    if (dest) deadLetterArns.add(dest);
  }
  return new Queues(byArn, byName, policies, deadLetterArns);
}

const shortQueueName = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, '');

export function buildSchedules(d: Deployment): ScheduleSpec[] {
  return d.resourcesOfType('AWS::Scheduler::Schedule').map((s: Resource) => {
    const p = d.props<{
      ScheduleExpression: string;
      ScheduleExpressionTimezone?: string;
      StartDate?: string;
      EndDate?: string;
      State?: string;
      Target: { Arn: string; RoleArn: string; Input?: string; RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number }; DeadLetterConfig?: { Arn: string } };
    }>(s);
    return {
      logicalId: s.logicalId,
      name: s.logicalId.replace(/[0-9A-F]{8}$/, ''),
      expression: p.ScheduleExpression,
      timeZone: p.ScheduleExpressionTimezone ?? 'Etc/UTC',
      ...(p.StartDate ? { startMs: Date.parse(p.StartDate) } : {}),
      ...(p.EndDate ? { endMs: Date.parse(p.EndDate) } : {}),
      enabled: (p.State ?? 'ENABLED') === 'ENABLED',
      target: {
        arn: p.Target.Arn,
        roleArn: p.Target.RoleArn,
        ...(p.Target.Input !== undefined ? { input: p.Target.Input } : {}),
        retry: { maxAttempts: p.Target.RetryPolicy?.MaximumRetryAttempts ?? 185, maxEventAgeMs: (p.Target.RetryPolicy?.MaximumEventAgeInSeconds ?? 86_400) * 1000 },
        ...(p.Target.DeadLetterConfig ? { deadLetterArn: p.Target.DeadLetterConfig.Arn } : {}),
      },
    };
  });
}

/** Every resource policy of the template, by the ARN of the resource it guards: queues, buckets, topics. */
export function resourcePolicies(d: Deployment): Map<string, PolicyDocument> {
  const out = new Map<string, PolicyDocument>();
  for (const qp of d.resourcesOfType('AWS::SQS::QueuePolicy')) {
    const p = d.props<{ PolicyDocument: PolicyDocument; Queues: string[] }>(qp);
    for (const url of p.Queues) {
      const q = d.resourcesOfType('AWS::SQS::Queue').find((x) => d.ref(x) === url);
      if (q) out.set(d.getAtt(q, 'Arn'), p.PolicyDocument);
    }
  }
  for (const bp of d.resourcesOfType('AWS::S3::BucketPolicy')) {
    const p = d.props<{ PolicyDocument: PolicyDocument; Bucket: string }>(bp);
    out.set(`arn:aws:s3:::${p.Bucket}`, p.PolicyDocument);
  }
  for (const tp of d.resourcesOfType('AWS::SNS::TopicPolicy')) {
    const p = d.props<{ PolicyDocument: PolicyDocument; Topics: string[] }>(tp);
    for (const topic of p.Topics) out.set(topic, p.PolicyDocument);
  }
  return out;
}

/** Each function's resource-based policy, from its `AWS::Lambda::Permission` resources. */
export function lambdaPermissions(d: Deployment): Map<string, PolicyDocument> {
  const out = new Map<string, PolicyDocument>();
  for (const perm of d.resourcesOfType('AWS::Lambda::Permission')) {
    const p = d.props<{ Action: string; FunctionName: string; Principal: string; SourceArn?: string; SourceAccount?: string }>(perm);
    const doc = out.get(p.FunctionName) ?? { Version: '2012-10-17', Statement: [] };
    doc.Statement.push({
      Effect: 'Allow',
      Principal: p.Principal.endsWith('.amazonaws.com') ? { Service: p.Principal } : { AWS: p.Principal },
      Action: p.Action,
      Resource: p.FunctionName,
      ...(p.SourceArn || p.SourceAccount
        ? { Condition: { ...(p.SourceArn ? { ArnLike: { 'aws:SourceArn': p.SourceArn } } : {}), ...(p.SourceAccount ? { StringEquals: { 'aws:SourceAccount': p.SourceAccount } } : {}) } }
        : {}),
    } as PolicyDocument['Statement'][number]);
    out.set(p.FunctionName, doc);
  }
  return out;
}

/** Where a configuration set publishes which SES events (SNS destinations only). */
export function mailEventRoutes(d: Deployment): MailEventRoute[] {
  return d.resourcesOfType('AWS::SES::ConfigurationSetEventDestination').flatMap((r) => {
    const p = d.props<{ ConfigurationSetName: string; EventDestination: { Enabled?: boolean; MatchingEventTypes: string[]; SnsDestination?: { TopicARN: string } } }>(r);
    const e = p.EventDestination;
    return e.Enabled === false || !e.SnsDestination ? [] : [{ configurationSet: p.ConfigurationSetName, types: e.MatchingEventTypes.map((t) => t.toLowerCase()), topicArn: e.SnsDestination.TopicARN }];
  });
}

export function snsSubscriptions(d: Deployment): Subscription[] {
  return d.resourcesOfType('AWS::SNS::Subscription').map((r) => {
    const p = d.props<{ TopicArn: string; Protocol: string; Endpoint: string; RedrivePolicy?: { deadLetterTargetArn: string } }>(r);
    return {
      arn: `${p.TopicArn}:${r.logicalId}`,
      topicArn: p.TopicArn,
      protocol: p.Protocol,
      endpoint: p.Endpoint,
      ...(p.RedrivePolicy ? { deadLetterArn: p.RedrivePolicy.deadLetterTargetArn } : {}),
    };
  });
}
