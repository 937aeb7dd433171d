import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FUNCTION_MEMORY_MB } from '#shared/sizing.ts';
import { TABLES, tableEnvVar, type TableId } from '#shared/tables.ts';
import { FUNCTION_NAMES, OUTPUTS, type FunctionName } from '../../cdk/names.ts';
import { logicalId, MAIL_FROM, synth } from './synth.ts';

/** The stateless stack: queues, the trigger, the functions' defaults and environment, SES, alarms, outputs. */
const s = synth();
const configured = synth({
  thresholdOrders: '12000',
  mailFromName: '抖店服务市场',
  mailReplyTo: 'renewal@example.com',
  alarmEmail: 'ops@example.com',
  senderIdentity: 'domain',
  mailRatePerSecond: '14',
});
const t = s.appTemplate;
const ref = (c: Parameters<typeof logicalId>[0]) => ({ Ref: logicalId(c) });
const arn = (c: Parameters<typeof logicalId>[0]) => ({ 'Fn::GetAtt': [logicalId(c), 'Arn'] });
type FnResource = {
  Properties: {
    Runtime: string;
    Architectures: string[];
    Timeout: number;
    MemorySize: number;
    Handler: string;
    Environment: { Variables: Record<string, unknown> };
    LoggingConfig: { LogGroup: unknown };
    TracingConfig?: { Mode: string };
    ReservedConcurrentExecutions?: number;
  };
};
const fnOf = (name: FunctionName, from = s) => from.appTemplate.findResources('AWS::Lambda::Function')[logicalId(from.stack.functions[name])] as FnResource;
const envOf = (name: FunctionName, from = s) => fnOf(name, from).Properties.Environment.Variables;

describe('intake queue', () => {
  it('is FIFO with explicit deduplication ids, SSE, and a FIFO dead-letter queue after 5 receives', () => {
    t.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 180,
      RedrivePolicy: { deadLetterTargetArn: arn(s.stack.intake.deadLetterQueue), maxReceiveCount: 5 },
    });
    const dlq = t.findResources('AWS::SQS::Queue')[logicalId(s.stack.intake.deadLetterQueue)] as { Properties: Record<string, unknown> };
    expect(dlq.Properties).toMatchObject({ FifoQueue: true, SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it('the scheduler dead-letter queue is a standard queue (Scheduler cannot use FIFO) with SSE', () => {
    const q = t.findResources('AWS::SQS::Queue')[logicalId(s.stack.seasonJobs.deadLetterQueue)] as { Properties: Record<string, unknown> };
    expect(q.Properties.FifoQueue).toBeUndefined();
    expect(q.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it('every queue refuses requests without TLS', () => {
    for (const q of [s.stack.intake.queue, s.stack.intake.deadLetterQueue, s.stack.seasonJobs.deadLetterQueue]) {
      t.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(q)],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });

  it('triggers the intake function in batches of 10, reporting failed items one by one', () => {
    const mappings = Object.values(t.findResources('AWS::Lambda::EventSourceMapping')) as { Properties: Record<string, unknown> }[];
    expect(mappings).toHaveLength(1);
    expect(mappings[0]!.Properties).toMatchObject({
      EventSourceArn: arn(s.stack.intake.queue),
      FunctionName: ref(s.stack.functions.intake),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});

describe('functions', () => {
  it('every function in the stack runs nodejs24.x on arm64, handler "handler" of its own entry', () => {
    const all = Object.values(t.findResources('AWS::Lambda::Function')) as FnResource[];
    expect(all).toHaveLength(FUNCTION_NAMES.length); // no hidden helper functions (log retention, custom resources)
    for (const f of all) {
      expect(f.Properties.Runtime).toBe('nodejs24.x');
      expect(f.Properties.Architectures).toEqual(['arm64']);
    }
  });

  it.each([
    ['intake', 30, 512],
    ['aggregate', 900, 1024],
    ['evaluate', 900, 1769],
    ['notify', 900, 512],
    ['report', 60, 512],
    ['mailEvents', 30, 512],
    ['publish', 120, 512],
  ] as const)('%s: timeout %ss, memory %s MB, no reserved concurrency, its own log group kept 180 days', (name, timeout, memory) => {
    const f = fnOf(name).Properties;
    expect(f.Timeout).toBe(timeout);
    expect(f.MemorySize).toBe(memory);
    expect(f.ReservedConcurrentExecutions).toBeUndefined();
    expect(f.LoggingConfig.LogGroup).toEqual(ref(s.stack.functions[name].logs));
    const logs = t.findResources('AWS::Logs::LogGroup')[logicalId(s.stack.functions[name].logs)] as { Properties: { RetentionInDays?: number } } | undefined;
    expect(logs?.Properties.RetentionInDays).toBe(180);
  });

  it('deploys the memory the bench bills Lambda GB-seconds at (shared/sizing.ts)', () => {
    for (const name of FUNCTION_NAMES) expect(fnOf(name).Properties.MemorySize, name).toBe(FUNCTION_MEMORY_MB[name]);
  });

  const POWERTOOLS = ['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_LOG_LEVEL'];
  // FEEDBACK_MAILBOX and EXIT_REFUND_PROCEDURE only when configured: each campaign file has its own.
  const MAIL = ['MAIL_FROM', 'MAIL_RATE_PER_SECOND', 'SES_CONFIGURATION_SET'];
  /**
   * The tables each function works on, by what it does (docs/operations.md, "What each function receives"): a function is told the names of
   * these and of no other table, as its role reaches these and no others.
   */
  const TABLES_OF: Record<FunctionName, TableId[]> = {
    // stores each event once: orders or events, the change log, and what it rejects
    intake: ['orders', 'events', 'changes', 'rejected'],
    // recounts from the stored events what the change log announces, into the aggregates
    aggregate: ['orders', 'events', 'changes', 'aggregates'],
    // catches the aggregation up, then decides from the aggregates
    evaluate: ['orders', 'events', 'changes', 'aggregates', 'decisions'],
    // mails the decisions and the progress (providers' addresses from the events) through the outbox ledger
    notify: ['events', 'aggregates', 'decisions', 'outbox'],
    report: ['decisions', 'outbox'],
    mailEvents: ['outbox'],
    // the notice ledger lives in the decisions table
    publish: ['decisions'],
    // every campaign's current decision of one provider and the exception ledger (decisions), its profile (events)
    reapply: ['events', 'decisions'],
  };
  const tableVars = (name: FunctionName) => TABLES_OF[name].map(tableEnvVar);
  const EXPECTED_ENV: Record<FunctionName, string[]> = {
    intake: [...POWERTOOLS, ...tableVars('intake')],
    aggregate: [...POWERTOOLS, ...tableVars('aggregate')],
    evaluate: [...POWERTOOLS, ...tableVars('evaluate'), 'NOTIFY_FUNCTION_NAME', 'PUBLISH_FUNCTION_NAME'],
    notify: [...POWERTOOLS, ...tableVars('notify'), ...MAIL],
    report: [...POWERTOOLS, ...tableVars('report')],
    mailEvents: [...POWERTOOLS, ...tableVars('mailEvents')],
    publish: [...POWERTOOLS, ...tableVars('publish'), 'NOTICE_BUCKET', 'NOTICE_BASE_URL'],
    reapply: [...POWERTOOLS, ...tableVars('reapply')],
  };

  it.each(FUNCTION_NAMES)('%s: exactly its environment variables', (name) => {
    expect(Object.keys(envOf(name)).sort()).toEqual([...EXPECTED_ENV[name]].sort());
    expect(envOf(name)).toMatchObject({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'provider-renewal',
      POWERTOOLS_METRICS_NAMESPACE: 'ProviderRenewal',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
  });

  it('each TABLE_<ID> holds the name of that table, and only the tables a function works on are named', () => {
    for (const name of FUNCTION_NAMES) {
      for (const id of Object.keys(TABLES) as TableId[]) {
        if (TABLES_OF[name].includes(id)) expect(JSON.stringify(envOf(name)[tableEnvVar(id)]), `${name} ${id}`).toContain(`ExportsOutputRef${logicalId(s.data.tables[id])}`);
        else expect(envOf(name)[tableEnvVar(id)], `${name} is told of table ${id}`).toBeUndefined();
      }
    }
  });

  it('evaluate knows the notify and publish functions by name; publish the bucket and the public URL', () => {
    expect(envOf('evaluate').PUBLISH_FUNCTION_NAME).toEqual(ref(s.stack.functions.publish));
    expect(envOf('publish').NOTICE_BUCKET).toEqual(ref(s.stack.notice.bucket));
    expect(envOf('publish').NOTICE_BASE_URL).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [logicalId(s.stack.notice.distribution), 'DomainName'] }]] });
    // Unset: each campaign file's feedbackMailbox (functions/handlers/publish.ts).
    expect(envOf('publish').FEEDBACK_MAILBOX).toBeUndefined();
  });

  it('evaluate knows the notify function by name; notify the mail settings', () => {
    expect(envOf('evaluate').NOTIFY_FUNCTION_NAME).toEqual(ref(s.stack.functions.notify));
    expect(envOf('notify')).toMatchObject({
      MAIL_FROM: { Ref: 'MailFrom' },
      MAIL_RATE_PER_SECOND: '1',
      SES_CONFIGURATION_SET: { Ref: Object.keys(t.findResources('AWS::SES::ConfigurationSet'))[0] },
    });
    // Unset: each campaign file's feedbackMailbox and exitRefundProcedure (functions/handlers/notify.ts).
    expect(envOf('notify').FEEDBACK_MAILBOX).toBeUndefined();
    expect(envOf('notify').EXIT_REFUND_PROCEDURE).toBeUndefined();
    const set = synth({ feedbackMailbox: 'renewal-feedback@example.com', exitRefundProcedure: 'https://example.com/exit' });
    const env = (name: FunctionName) =>
      (set.appTemplate.findResources('AWS::Lambda::Function')[logicalId(set.stack.functions[name])] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment
        .Variables;
    expect(env('notify')).toMatchObject({ FEEDBACK_MAILBOX: 'renewal-feedback@example.com', EXIT_REFUND_PROCEDURE: 'https://example.com/exit' });
    expect(env('publish')).toMatchObject({ FEEDBACK_MAILBOX: 'renewal-feedback@example.com' });
  });

  it('THRESHOLD_ORDERS, MAIL_FROM_NAME and MAIL_REPLY_TO are set only when configured, THRESHOLD_ORDERS on evaluate and notify only', () => {
    for (const name of FUNCTION_NAMES) {
      expect(envOf(name).THRESHOLD_ORDERS).toBeUndefined();
      expect(envOf(name, configured).MAIL_FROM_NAME).toBe(name === 'notify' ? '抖店服务市场' : undefined);
      expect(envOf(name, configured).THRESHOLD_ORDERS).toBe(name === 'evaluate' || name === 'notify' ? '12000' : undefined);
      expect(envOf(name, configured).MAIL_REPLY_TO).toBe(name === 'notify' ? 'renewal@example.com' : undefined);
    }
    expect(envOf('notify', configured).MAIL_RATE_PER_SECOND).toBe('14');
  });

  it('tracing is off unless configured', () => {
    for (const name of FUNCTION_NAMES) expect(fnOf(name).Properties.TracingConfig).toBeUndefined();
    const traced = synth({ tracing: 'true' });
    for (const name of FUNCTION_NAMES) expect(fnOf(name, traced).Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });
});

describe('SES', () => {
  it('verifies the sender address (the MailFrom parameter), sending through the configuration set', () => {
    t.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: { Ref: 'MailFrom' },
      ConfigurationSetAttributes: { ConfigurationSetName: { Ref: Object.keys(t.findResources('AWS::SES::ConfigurationSet'))[0] } },
    });
    // senderIdentity=domain: the part after the '@', taken at deploy time.
    configured.appTemplate.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: { 'Fn::Select': [1, { 'Fn::Split': ['@', { Ref: 'MailFrom' }] }] } });
  });

  it("mailFrom given at synth is the MailFrom parameter's default; not given, the parameter has none, so deploy must supply it", () => {
    expect(t.findParameters('MailFrom').MailFrom).toMatchObject({ Type: 'String', Default: MAIL_FROM });
    const bare = synth({ mailFrom: undefined }).appTemplate.findParameters('MailFrom').MailFrom as { Default?: string; AllowedPattern: string };
    expect(bare.Default).toBeUndefined();
    // CloudFormation checks the value against the same address pattern the intake uses (Java regex: whole value).
    const pattern = new RegExp(bare.AllowedPattern);
    expect(pattern.test('noreply@renewal.example.com')).toBe(true);
    for (const bad of ['Renewal <noreply@renewal.example.com>', 'noreply', 'a@b.example.com, c@d.example.com', 'x@example.com\r\nBcc: y@example.com']) expect(pattern.test(bad), bad).toBe(false);
  });

  it('bounces and complaints go to the account-level suppression list, and to an SNS topic', () => {
    t.hasResourceProperties('AWS::SES::ConfigurationSet', { SuppressionOptions: { SuppressedReasons: Match.arrayEquals(['BOUNCE', 'COMPLAINT']) } });
    const topicId = Object.keys(t.findResources('AWS::SNS::Topic')).find((id) => id.startsWith('MailEventsTopic'))!;
    t.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: { Ref: Object.keys(t.findResources('AWS::SES::ConfigurationSet'))[0] },
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: Match.arrayEquals(['send', 'delivery', 'bounce', 'complaint', 'reject', 'deliveryDelay']),
        SnsDestination: { TopicARN: { Ref: topicId } },
      },
    });
    // SES may publish to that topic for this configuration set only.
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sns:Publish', Principal: { Service: 'ses.amazonaws.com' } })]) },
    });
  });
});

describe('mail events', () => {
  const topicId = Object.keys(t.findResources('AWS::SNS::Topic')).find((id) => id.startsWith('MailEventsTopic'))!;
  const fnId = logicalId(s.stack.functions.mailEvents);

  it('the mail-events function is subscribed to the SES events topic, with a dead-letter queue for what SNS cannot deliver', () => {
    const subs = Object.values(t.findResources('AWS::SNS::Subscription')).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
    expect(subs).toEqual([
      expect.objectContaining({
        Protocol: 'lambda',
        TopicArn: { Ref: topicId },
        Endpoint: { 'Fn::GetAtt': [fnId, 'Arn'] },
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(s.stack.mail.deadLetterQueue), 'Arn'] } },
      }),
    ]);
    // SNS, from this topic only, may invoke it.
    t.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] }, Principal: 'sns.amazonaws.com', SourceArn: { Ref: topicId } });
  });

  it("what still fails after Lambda's retries lands in the same dead-letter queue", () => {
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(s.stack.mail.deadLetterQueue), 'Arn'] } } },
    });
  });

  it('may only update outbox entries', () => {
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p).includes(logicalId(s.stack.functions.mailEvents.role!)));
    const actions = JSON.stringify(statements);
    expect(actions).toContain('dynamodb:UpdateItem');
    for (const a of ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:Scan', 'ses:SendEmail']) expect(actions).not.toContain(a);
  });
});

describe('alarms', () => {
  type AlarmProps = { MetricName: string; Namespace: string; Dimensions: { Name: string; Value: unknown }[]; Threshold: number; ComparisonOperator: string; AlarmActions: unknown[] };
  const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => (a as { Properties: AlarmProps }).Properties);
  const topic = ref(s.stack.observability.alarmTopic);
  const find = (metric: string, dimension: unknown) => alarms.filter((a) => a.MetricName === metric && JSON.stringify(a.Dimensions).includes(JSON.stringify(dimension)));

  it.each(FUNCTION_NAMES)('%s: Errors > 0 and Throttles > 0 alarm to the alarm topic', (name) => {
    for (const metric of ['Errors', 'Throttles']) {
      const found = find(metric, ref(s.stack.functions[name]));
      expect(found, metric).toHaveLength(1);
      expect(found[0]).toMatchObject({ Namespace: 'AWS/Lambda', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: [topic] });
    }
  });

  it("a bounced outcome mail, a complaint, and notices notify could not settle each raise an alarm (the functions' own metrics)", () => {
    for (const metric of ['outcomeMailBounced', 'mailComplaint', 'mailUncertain']) {
      const found = alarms.filter((a) => a.MetricName === metric);
      expect(found, metric).toHaveLength(1);
      expect(found[0]).toMatchObject({
        Namespace: 'ProviderRenewal',
        Dimensions: [{ Name: 'service', Value: 'provider-renewal' }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [topic],
      });
    }
  });

  it('a message in any dead-letter queue raises an alarm', () => {
    for (const q of [s.stack.intake.deadLetterQueue, s.stack.seasonJobs.deadLetterQueue, s.stack.mail.deadLetterQueue]) {
      const found = find('ApproximateNumberOfMessagesVisible', { 'Fn::GetAtt': [logicalId(q), 'QueueName'] });
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: [topic] });
    }
  });

  it('the alarm topic gets an e-mail subscription only when alarmEmail is set', () => {
    expect(Object.values(t.findResources('AWS::SNS::Subscription')).filter((r) => JSON.stringify(r).includes('"email"'))).toEqual([]);
    configured.appTemplate.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: ref(configured.stack.observability.alarmTopic) });
  });
});

describe('outputs for the CLI', () => {
  const outputs = t.findOutputs('*');
  it.each(FUNCTION_NAMES)('%s function name', (name) => {
    expect(outputs[OUTPUTS.functionName(name)]?.Value).toEqual(ref(s.stack.functions[name]));
  });
  it('the intake queue URL, the table names, and no viewer', () => {
    expect(outputs.IntakeQueueUrl?.Value).toEqual(ref(s.stack.intake.queue));
    for (const id of Object.keys(TABLES) as TableId[]) expect(JSON.stringify(outputs[OUTPUTS.tableName(id)]?.Value)).toContain(`ExportsOutputRef${logicalId(s.data.tables[id])}`);
    expect(Object.keys(outputs).filter((k) => /viewer/i.test(k))).toEqual([]);
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['IntakeFunctionName', 'AggregateFunctionName', 'EvaluateFunctionName', 'NotifyFunctionName', 'ReportFunctionName', 'IntakeQueueUrl', 'OrdersTableName']),
    );
  });
});
