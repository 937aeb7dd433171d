/**
 * `renewal rehearse`: plays a whole season through the synthesized cloud assembly, offline, as the
 * deployment would run it on AWS, and checks the outcome.
 *
 * - The tables are created on an embedded dynalite from the Data template's `AWS::DynamoDB::Table`
 *   resources (keys, indexes, projections), not from shared/tables.ts, so a drift shows.
 * - Each `AWS::Lambda::Function` runs from its bundle in the assembly with the template's environment
 *   (`functions.ts`); every AWS call it makes goes through a gateway that checks it against that
 *   function's role policies in the template with an IAM evaluation library (`gateway.ts`, `iam.ts`).
 * - The intake queue, its event source mapping and the dead-letter queues behave as the template
 *   defines them (`sqs.ts`); the schedules fire on a simulated clock (`schedules.ts`), and scheduled
 *   and function-to-function invocations are asynchronous with the template's retries and on-failure
 *   destinations.
 * - The season's events arrive on the queue at their own instants (`season-feed.ts`).
 *
 * Invocations run one after another on the simulated clock (the intake's batches in parallel), each
 * function with its own virtual clock inside (`lambda-runtime.mjs`), so a run that paces mail takes
 * simulated seconds, not real ones.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Server, IncomingMessage, ServerResponse } from 'node:http';
import { CreateTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { SQSEvent, SQSBatchResponse } from 'aws-lambda';
import { deduplicationIdOf } from '../aws.ts';
import { messageGroupOf } from '#shared/events.ts';
import { campaignRegistry } from '#shared/campaigns.ts';
import { periodWindow, resolveThreshold, withThreshold, type Campaign } from '#shared/rules/campaign.ts';
import { decide, eligibility } from '#shared/rules/rules.ts';
import { addDays, localMidnightUtc } from '#shared/rules/time.ts';
import type { Report } from '#shared/usecases/report.ts';
import { ACCOUNT, arn, Deployment, REGION, type Resource } from './assembly.ts';
import { functionSpecs, LambdaFunction, makeHome, type EmittedMetric, type InvokeResult } from './functions.ts';
import { Gateway, type SesSend } from './gateway.ts';
import { Iam, type PolicyDocument, type Principal, type Grant } from './iam.ts';
import { firings, type ScheduleSpec } from './schedules.ts';
import { demoSeason, fileSeason, type Clock, type RehearsalSeason } from './season-feed.ts';
import { Queue, type Message, type QueueSpec } from './sqs.ts';

const require = createRequire(import.meta.url);

/**
 * Functions whose scheduled runs only have work when events have arrived since their last run: a
 * firing of their schedule with no arrival in between and its last run done is counted as idle and
 * not invoked (the aggregation: it reads what was ingested since its watermark, nothing else).
 */
const IDLE_WITHOUT_ARRIVALS = new Set(['aggregate']);
/** Functions whose scheduled runs go on while the intake works (the others run alone in the season's order). */
const BESIDE_INTAKE = new Set(['aggregate']);

/** Lambda's asynchronous retries wait about a minute, then two. */
const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000];

export interface RehearseOptions {
  assemblyDir: string;
  /** The campaign whose schedules are played (default: the first the schedules name). */
  campaignId?: string;
  /** An NDJSON season; default the demo season. */
  eventsFile?: string;
  /** The demo season's size (tests play a small one). */
  demo?: { providers: number; orders: number; seed: number };
  /** Values of template parameters (as `cdk deploy --parameters`). */
  parameters?: Record<string, string>;
  failFast?: boolean;
  /** Intake environments in flight at once. */
  intakeConcurrency?: number;
  progress?: (clockMs: number, clock: Clock, line: string) => void;
  info?: (s: string) => void;
  /** One line per invocation: when, what, how it ended (`renewal rehearse --trace`). */
  trace?: (line: string) => void;
}

export interface ScheduleStats {
  expression: string;
  firings: number;
  invoked: number;
  idle: number;
  failed: number;
  retries: number;
  deadLettered: number;
}

export interface RehearsalResult {
  ok: boolean;
  problems: string[];
  season: { name: string; events: number; afterClock: number; clock: { start: string; end: string } };
  parameters: Record<string, string>;
  tables: { name: string; logicalId: string; indexes: string[]; ttl?: string }[];
  iam: {
    deniedCalls: number;
    denied: { function: string; action: string; resource: string; count: number }[];
    calls: { function: string; action: string; resource: string; count: number }[];
    unusedGrants: { function: string; action: string; resource: string; acknowledged?: string }[];
  };
  schedules: Record<string, ScheduleStats>;
  functions: Record<string, { invocations: number; errors: number; retries: number; timeouts: number; deadLettered: number; maxDurationMs: number; timeoutMs: number; peakMemoryMb: number; memoryMb: number; lastError?: string }>;
  queues: Record<string, { sent: number; deduplicated: number; received: number; deleted: number; redelivered: number; deadLettered: number; depth: number; batches: number; maxBatch: number }>;
  deadLettered: number;
  deadLetters: { queue: string; body: string }[];
  decisions: { total: number; mismatches: number | null; detail: { providerId: string; field: string; expected: unknown; actual: unknown }[]; thresholdOrders?: number };
  /** The public delisting notice as the season left it (`latest/notice.json` in the bucket). */
  notice?: { version: number; providers: number; revoked: number; matchesDecisions: boolean; key: string };
  /** The runs by hand after the season, as ops make them. */
  drill: { what: string; ok: boolean; error?: string }[];
  mail: {
    outcome: { sent: number; duplicates: number; missing: string[] };
    /** Outcome mail per delivery status, as the deployed report gives it (SES's events recorded by mail-events). */
    status: Record<string, number>;
    progress: { sent: number; byWeek: Record<string, number> };
    configurationSets: string[];
  };
  metrics: { emitted: (EmittedMetric & { function: string })[]; dashboard: { namespace: string; name: string; dimensions: Record<string, string>; emitted: boolean }[] };
  report?: Report;
  realSeconds: number;
}

export async function rehearse(o: RehearseOptions): Promise<RehearsalResult> {
  const t0 = performance.now();
  const info = o.info ?? (() => {});
  const problems: string[] = [];
  const work = mkdtempSync(join(tmpdir(), 'renewal-rehearsal-'));
  const d = new Deployment(o.assemblyDir, o.parameters);
  const parameters = Object.fromEntries(d.stacks.flatMap((s) => Object.entries(s.parameters)));

  // ---- the embedded services ------------------------------------------------------------------
  const dynalite = (require('dynalite') as (opts: object) => Server)({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((r) => dynalite.listen(0, '127.0.0.1', r));
  const dynamoListener = dynalite.listeners('request')[0] as (req: IncomingMessage, res: ServerResponse) => void;
  const sesServer = await ((await import('aws-ses-v2-local')).default as unknown as (c: object) => Promise<Server>)({ host: '127.0.0.1', port: 0 });
  const sesUrl = `http://127.0.0.1:${(sesServer.address() as AddressInfo).port}`;
  // The buckets of the template, on an embedded S3 (its files in the rehearsal's own directory).
  const S3rver = require('s3rver') as new (o: object) => { run(): Promise<AddressInfo>; close(): Promise<void> };
  const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(work, 's3'), vhostBuckets: false, configureBuckets: d.resourcesOfType('AWS::S3::Bucket').map((b) => ({ name: d.physicalName(b), configs: [] })) });
  const s3Url = `http://127.0.0.1:${(await s3.run()).port}`;
  const policies = resourcePolicies(d);
  const admin = new DynamoDBClient({ endpoint: `http://127.0.0.1:${(dynalite.address() as AddressInfo).port}`, region: REGION, credentials: { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' } });

  const fns = new Map<string, LambdaFunction>();
  const byArn = new Map<string, LambdaFunction>();
  const principals = new Map<string, Principal>();
  const sesSends: SesSend[] = [];
  const iam = new Iam(d);
  let sesEventsOf: ((s: SesSend) => void) | undefined;
  let lambdaApi: ((caller: Principal, fn: LambdaFunction, type: string, payload: string, atMs: number) => Promise<{ status: number; payload: string; functionError?: string }>) | undefined;
  const gateway = new Gateway({
    iam,
    principals,
    dynamodb: dynamoListener,
    sesUrl,
    ses: {
      identities: d.resourcesOfType('AWS::SES::EmailIdentity').map((r) => d.ref(r)),
      configurationSets: d.resourcesOfType('AWS::SES::ConfigurationSet').map((r) => d.physicalName(r)),
    },
    s3Url,
    resourcePolicy: (arn) => policies.get(arn),
    onSesSend: (s) => {
      sesSends.push(s);
      sesEventsOf?.(s);
    },
    lambda: {
      resolve: (name) => [...byArn.keys()].find((a) => a === name || a.endsWith(`:function:${name}`)),
      invoke: (caller, arn, type, payload, atMs) => lambdaApi!(caller, byArn.get(arn)!, type, payload, atMs),
    },
  });
  try {
    const tables = await createTables(d, admin);
    const clock = seasonClock(campaignOf(d, o.campaignId));
    const season = o.eventsFile ? fileSeason(o.eventsFile, clock) : demoSeason(clock, o.demo);
    info(`rehearsing ${season.name}: ${season.arrivals.length} events from ${iso(clock.startMs)} to ${iso(clock.endMs)}`);

    // ---- Lambda ---------------------------------------------------------------------------------
    const gatewayUrl = await gateway.listen();
    const home = makeHome(join(work, 'home'));
    const intakeConcurrency = o.intakeConcurrency ?? 4;
    const mapped = new Set(d.resourcesOfType('AWS::Lambda::EventSourceMapping').map((m) => String(d.props<{ FunctionName: string }>(m).FunctionName)));
    for (const spec of functionSpecs(d, (role, name) => iam.principalOfRole(role, name))) {
      const accessKeyId = `ASIAREHEARSAL${spec.name.toUpperCase().replace(/[^A-Z0-9]/g, '')}`;
      principals.set(accessKeyId, spec.principal);
      // A queue-triggered function runs batches side by side; the others one invocation at a time.
      const maxConcurrency = mapped.has(spec.physicalName) ? intakeConcurrency : 1;
      const fn = new LambdaFunction(spec, { gatewayUrl, accessKeyId, homeDir: home, maxConcurrency });
      fns.set(spec.name, fn);
      byArn.set(spec.arn, fn);
    }
    const queues = buildQueues(d);

    /** The Lambda Invoke API, as a function calls it through the gateway. */
    lambdaApi = async (caller, fn, type, payload, atMs) => {
      if (type === 'Event') {
        push({ kind: 'async', at: Math.max(atMs, now), fn, payload: JSON.parse(payload || '{}'), attempt: 0, firstAt: atMs, source: caller.name });
        return { status: 202, payload: '' };
      }
      if (type === 'DryRun') return { status: 204, payload: '' };
      const r = await run(fn, JSON.parse(payload || '{}'), Math.max(atMs, now));
      return r.ok ? { status: 200, payload: JSON.stringify(r.value ?? null) } : { status: 200, payload: JSON.stringify(r.error), functionError: 'Unhandled' };
    };

    // ---- the simulated clock --------------------------------------------------------------------
    type Action =
      | { kind: 'sns'; at: number; topicArn: string; message: unknown; source: string }
      | { kind: 'fire'; at: number; schedule: ScheduleSpec }
      | { kind: 'async'; at: number; fn: LambdaFunction; payload: unknown; attempt: number; firstAt: number; source: string; schedule?: ScheduleSpec }
      | { kind: 'visible'; at: number };
    const heap: (Action & { seq: number })[] = [];
    let seq = 0;
    const push = (a: Action) => heapPush(heap, { ...a, seq: seq++ });
    let now = clock.startMs;

    const schedules = buildSchedules(d);
    const scheduleStats: Record<string, ScheduleStats> = {};
    const schedulePrincipals = new Map<string, Principal>();
    for (const s of schedules) {
      scheduleStats[s.logicalId] = { expression: `${s.expression}${s.timeZone !== 'Etc/UTC' ? ` ${s.timeZone}` : ''}`, firings: 0, invoked: 0, idle: 0, failed: 0, retries: 0, deadLettered: 0 };
      const role = [...d.resourcesOfType('AWS::IAM::Role')].find((r) => d.getAtt(r, 'Arn') === s.target.roleArn);
      if (!role) throw new Error(`${s.logicalId}: its role ${s.target.roleArn} is not in the template`);
      schedulePrincipals.set(s.logicalId, iam.principalOfRole(role, s.name));
      for (const at of firings(s, clock.startMs, clock.endMs)) push({ kind: 'fire', at, schedule: s });
    }

    // Event source mappings: the intake queue → its function.
    const mappings = d.resourcesOfType('AWS::Lambda::EventSourceMapping').map((m) => {
      const p = d.props<{ BatchSize?: number; EventSourceArn: string; FunctionName: string; FunctionResponseTypes?: string[]; Enabled?: boolean }>(m);
      const fn = [...fns.values()].find((f) => f.spec.physicalName === p.FunctionName || f.spec.arn === p.FunctionName)!;
      const queue = queues.byArn.get(p.EventSourceArn);
      if (!queue) throw new Error(`${m.logicalId}: event source ${p.EventSourceArn} is not a queue of the template`);
      return { fn, queue, batchSize: p.BatchSize ?? 10, partial: (p.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'), enabled: p.Enabled !== false, batches: 0, maxBatch: 0 };
    });
    if (mappings.length !== 1) throw new Error(`the rehearsal expects one event source mapping (the intake queue), found ${mappings.length}`);
    const esm = mappings[0]!;
    const producerQueue = esm.queue;
    // Lambda's poller reads the queue's attributes when the mapping starts (and checks its role can).
    await iam.authorize(esm.fn.spec.principal, 'sqs:GetQueueAttributes', esm.queue.spec.arn, { context: { 'aws:SecureTransport': 'true' }, ...(queues.policies.get(esm.queue.spec.arn) ? { resourcePolicy: queues.policies.get(esm.queue.spec.arn)! } : {}) });

    const deadLetters: { queue: string; body: string }[] = [];
    let receivedSinceAggregation = 0;
    const lastRunOk = new Map<string, boolean>();
    let stopped = false;
    const stopIfFailing = () => {
      if (o.failFast && (iam.denials().length > 0 || deadLetters.length > 0 || queues.deadLettered() > 0)) stopped = true;
    };

    /** One invocation on the simulated clock; logs are written with the function's role, as Lambda does. */
    const run = async (fn: LambdaFunction, event: unknown, atMs: number): Promise<InvokeResult> => {
      if (fn.spec.logGroup) {
        await iam.authorize(fn.spec.principal, 'logs:CreateLogStream', `${fn.spec.logGroup.arn.replace(/:\*$/, '')}:log-stream:rehearsal`);
        await iam.authorize(fn.spec.principal, 'logs:PutLogEvents', `${fn.spec.logGroup.arn.replace(/:\*$/, '')}:log-stream:rehearsal`);
      }
      o.trace?.(`${iso(atMs)} ${fn.spec.name} ← ${JSON.stringify(event).slice(0, 160)}`);
      const r = await fn.invoke(event, atMs);
      now = Math.max(now, r.virtualEndMs);
      o.trace?.(`${iso(r.virtualEndMs)} ${fn.spec.name} → ${r.ok ? 'ok' : `${r.error?.errorType}: ${r.error?.errorMessage}`} (${r.durationMs} ms simulated)${r.ok ? ` ${JSON.stringify(r.value ?? null).slice(0, 200)}` : ''}`);
      return r;
    };

    /** The event source mapping: receives what the queue holds, in batches, until nothing is receivable. */
    const pollIntake = async () => {
      if (!esm.enabled || stopped) return;
      const q = esm.queue;
      const queueResource = queues.policies.get(q.spec.arn);
      const ctx = { context: { 'aws:SecureTransport': 'true' }, ...(queueResource ? { resourcePolicy: queueResource } : {}) };
      for (;;) {
        if (q.visible(now) === 0) return;
        if (!(await iam.authorize(esm.fn.spec.principal, 'sqs:ReceiveMessage', q.spec.arn, ctx))) {
          stopIfFailing();
          return; // Lambda's poller cannot read the queue: the messages wait (and the denial is reported)
        }
        const batches: Message[][] = [];
        for (let k = 0; k < intakeConcurrency; k++) {
          const b = q.receive(esm.batchSize, now);
          if (!b.length) break;
          batches.push(b);
        }
        if (!batches.length) return;
        receivedSinceAggregation += batches.reduce((n, b) => n + b.length, 0);
        const at = now;
        const results = await Promise.all(batches.map((b) => run(esm.fn, sqsEvent(b, q.spec), at)));
        for (let i = 0; i < batches.length; i++) {
          const batch = batches[i]!;
          const r = results[i]!;
          esm.batches++;
          esm.maxBatch = Math.max(esm.maxBatch, batch.length);
          const failed = new Set(r.ok && esm.partial ? ((r.value as SQSBatchResponse | null)?.batchItemFailures ?? []).map((f) => f.itemIdentifier) : r.ok ? [] : batch.map((m) => m.messageId));
          const done = batch.filter((m) => !failed.has(m.messageId));
          if (done.length) {
            await iam.authorize(esm.fn.spec.principal, 'sqs:DeleteMessage', q.spec.arn, ctx);
            for (const m of done) q.delete(m.receiptHandle);
          }
          for (const m of batch) if (failed.has(m.messageId)) push({ kind: 'visible', at: m.invisibleUntil! });
        }
        stopIfFailing();
        if (stopped) return;
      }
    };

    /** Lambda's asynchronous invocation: retries after a function error, then the on-failure destination. */
    const runAsync = async (a: Extract<Action, { kind: 'async' }>) => {
      const r = await run(a.fn, a.payload, Math.max(a.at, now));
      const stats = a.schedule ? scheduleStats[a.schedule.logicalId] : undefined;
      if (r.ok) {
        lastRunOk.set(a.fn.spec.name, true);
        return;
      }
      lastRunOk.set(a.fn.spec.name, false);
      const delay = ASYNC_RETRY_DELAYS_MS[Math.min(a.attempt, ASYNC_RETRY_DELAYS_MS.length - 1)]!;
      if (a.attempt < a.fn.spec.async.maxRetries && now + delay - a.firstAt <= a.fn.spec.async.maxEventAgeMs) {
        a.fn.stats.retries++;
        if (stats) stats.retries++;
        push({ ...a, at: now + delay, attempt: a.attempt + 1 });
        return;
      }
      if (stats) stats.failed++;
      const destination = a.fn.spec.async.onFailure;
      if (destination) {
        const record = { version: '1.0', timestamp: iso(now), requestContext: { functionArn: a.fn.spec.arn, condition: r.timedOut ? 'RetriesExhausted' : 'RetriesExhausted', approximateInvokeCount: a.attempt + 1 }, requestPayload: a.payload, responsePayload: r.error };
        if (await sendToQueue(a.fn.spec.principal, destination, JSON.stringify(record))) {
          a.fn.stats.deadLettered++;
          deadLetters.push({ queue: queues.byArn.get(destination)?.spec.name ?? destination, body: JSON.stringify(record) });
          if (stats) stats.deadLettered++;
        }
      }
      stopIfFailing();
    };

    /** A principal sends to a queue (a destination or a dead-letter queue), as AWS would check it. */
    const sendToQueue = async (principal: Principal, queueArn: string, body: string): Promise<boolean> => {
      const q = queues.byArn.get(queueArn);
      const resourcePolicy = queues.policies.get(queueArn);
      if (!(await iam.authorize(principal, 'sqs:SendMessage', queueArn, { context: { 'aws:SecureTransport': 'true' }, ...(resourcePolicy ? { resourcePolicy } : {}) }))) return false;
      q?.send({ body, ...(q.spec.fifo ? { groupId: 'failures', deduplicationId: deduplicationIdOf(body) } : {}) }, now);
      return true;
    };

    const fire = async (s: ScheduleSpec, at: number) => {
      const stats = scheduleStats[s.logicalId]!;
      stats.firings++;
      const fn = byArn.get(s.target.arn);
      if (!fn) throw new Error(`${s.logicalId}: its target ${s.target.arn} is not a function of the template`);
      if (IDLE_WITHOUT_ARRIVALS.has(fn.spec.name) && lastRunOk.get(fn.spec.name) === true && receivedSinceAggregation === 0) {
        stats.idle++;
        return;
      }
      const principal = schedulePrincipals.get(s.logicalId)!;
      if (!(await iam.authorize(principal, 'lambda:InvokeFunction', s.target.arn))) {
        // Scheduler does not retry a refused invoke: the event goes to the schedule's dead-letter queue.
        stats.failed++;
        if (s.target.deadLetterArn && (await sendToQueue(principal, s.target.deadLetterArn, s.target.input ?? '{}'))) {
          stats.deadLettered++;
          deadLetters.push({ queue: queues.byArn.get(s.target.deadLetterArn)?.spec.name ?? s.target.deadLetterArn, body: s.target.input ?? '{}' });
        }
        stopIfFailing();
        return;
      }
      stats.invoked++;
      if (IDLE_WITHOUT_ARRIVALS.has(fn.spec.name)) receivedSinceAggregation = 0;
      const invocation = runAsync({ kind: 'async', at, fn, payload: JSON.parse(s.target.input ?? '{}'), attempt: 0, firstAt: at, source: s.logicalId, schedule: s });
      if (!BESIDE_INTAKE.has(fn.spec.name)) return invocation;
      // As on AWS, the intake goes on while the aggregation counts: the season's arrivals keep being
      // delivered, and the next firing (of any schedule) waits for this run to end.
      const tracked: Promise<void> = invocation.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    };
    const inFlight = new Set<Promise<void>>();
    /** Waits for the runs that work beside the intake. */
    const settle = async () => {
      while (inFlight.size) await Promise.all([...inFlight]);
    };

    // ---- SES events, SNS and its subscribers --------------------------------------------------------
    const mailRoutes = mailEventRoutes(d);
    const subscriptions = snsSubscriptions(d);
    const permissions = lambdaPermissions(d);
    sesEventsOf = (m) => {
      for (const route of mailRoutes.filter((x) => x.configurationSet === m.configurationSet)) {
        for (const e of sesEventRecords(m)) {
          if (!route.types.includes(e.type)) continue;
          push({ kind: 'sns', at: m.atMs + e.afterMs, topicArn: route.topicArn, message: e.record, source: `ses.amazonaws.com configuration-set/${m.configurationSet}` });
        }
      }
    };
    /** SES publishes an event to a topic (its policy must let SES), SNS invokes each Lambda subscriber asynchronously. */
    const deliverSns = async (a: Extract<Action, { kind: 'sns' }>) => {
      const configurationSetArn = arn('ses', `configuration-set/${a.source.split('configuration-set/')[1]}`);
      const mayPublish = await iam.authorizeService('ses.amazonaws.com', 'sns:Publish', a.topicArn, policies.get(a.topicArn), { 'aws:SourceArn': configurationSetArn, 'aws:SourceAccount': ACCOUNT, 'aws:SecureTransport': 'true' });
      if (!mayPublish) return stopIfFailing();
      for (const sub of subscriptions.filter((x) => x.topicArn === a.topicArn && x.protocol === 'lambda')) {
        const fn = byArn.get(sub.endpoint);
        const mayInvoke = fn && (await iam.authorizeService('sns.amazonaws.com', 'lambda:InvokeFunction', sub.endpoint, permissions.get(sub.endpoint), { 'aws:SourceArn': a.topicArn, 'aws:SourceAccount': ACCOUNT }));
        if (!fn || !mayInvoke) {
          // SNS gives up on a subscriber it cannot invoke: the message goes to the subscription's dead-letter queue.
          if (sub.deadLetterArn) queues.byArn.get(sub.deadLetterArn)?.send({ body: JSON.stringify(a.message) }, now);
          stopIfFailing();
          continue;
        }
        await runAsync({ kind: 'async', at: a.at, fn, payload: snsEvent(a.topicArn, sub.arn, a.message, a.at), attempt: 0, firstAt: a.at, source: 'sns' });
      }
    };

    // ---- play the season ------------------------------------------------------------------------
    const arrivals = season.arrivals;
    let next = 0;
    let lastShown = 0;
    const show = (force = false) => {
      if (!o.progress || (!force && performance.now() - lastShown < 250)) return;
      lastShown = performance.now();
      const invocations = [...fns.values()].reduce((n, f) => n + f.stats.invocations, 0);
      o.progress(now, clock, `events ${next}/${arrivals.length}  invocations ${invocations}  denied ${iam.denials().length}`);
    };
    while (!stopped) {
      const tA = next < arrivals.length ? arrivals[next]!.atMs : Infinity;
      const tH = heap.length ? heap[0]!.at : Infinity;
      if (Math.min(tA, tH) >= clock.endMs) break;
      if (tA < tH || (tA === tH && tA !== Infinity)) {
        const a = arrivals[next++]!;
        now = Math.max(now, a.atMs);
        producerQueue.send({ body: a.body, groupId: messageGroupOf(a.body), deduplicationId: deduplicationIdOf(a.body) }, now);
        if (producerQueue.visible(now) >= esm.batchSize) await pollIntake();
      } else {
        const action = heapPop(heap)!;
        now = Math.max(now, action.at);
        if (action.kind === 'fire') {
          await pollIntake();
          await settle();
          await fire(action.schedule, action.at);
        } else if (action.kind === 'async') await settle().then(() => runAsync(action));
        else if (action.kind === 'sns') await settle().then(() => deliverSns(action));
        else await pollIntake();
      }
      show();
    }
    await settle();
    if (!stopped) await pollIntake();
    show(true);

    // ---- what the deployment decided --------------------------------------------------------------
    const campaign = campaignOf(d, o.campaignId);
    const readReport = async (): Promise<Report | undefined> => {
      const reportFn = fns.get('report');
      if (!reportFn) return undefined;
      const r = await run(reportFn, { campaignId: campaign.campaignId }, now);
      if (!r.ok) problems.push(`the report function failed: ${r.error?.errorType}: ${r.error?.errorMessage}`);
      return r.ok ? (r.value as Report) : undefined;
    };
    const report = await readReport();
    const notice = report ? await readNotice(d, s3Url, campaign.campaignId, report) : undefined;
    if (notice && !notice.matchesDecisions) problems.push(`the published notice lists ${notice.providers} provider(s), not exactly the ${notice.revoked} revoked ones`);
    const mailBeforeDrill = sesSends.length;
    const drill = stopped || !report ? [] : await opsDrill(report);
    if (drill.length) {
      const again = await readReport();
      if (JSON.stringify(again?.assessments.map(decisionOf)) !== JSON.stringify(report!.assessments.map(decisionOf))) problems.push('the runs by hand after the season changed a decision');
      const resent = sesSends.slice(mailBeforeDrill).filter((m) => /续牌结果/.test(m.subject) || /outcome/i.test(Object.values(m.tags).join(' ')));
      if (resent.length) problems.push(`the runs by hand after the season sent ${resent.length} outcome mail(s) again`);
    }

    /**
     * What ops do by hand after the season (../shared/OPS.md payloads, invoked as `renewal … --aws`
     * invokes them): a full recount, a re-evaluation of one provider, a preview as of mid-season, the
     * outcome mail asked for again. None may change a decision or send a mail twice; they use the
     * grants that a season's schedules alone never need.
     */
    async function opsDrill(r: Report): Promise<{ what: string; ok: boolean; error?: string }[]> {
      const provider = r.assessments.find((a) => a.outcome !== 'not_assessed')?.providerId ?? r.assessments[0]?.providerId;
      const by = 'rehearsal';
      // The middle day of the period, 00:00 China time.
      const midSeason = `${addDays(campaign.periodStartDate, Math.floor(periodWindow(campaign).days.length / 2))}T00:00:00+08:00`;
      const runs: [string, string, unknown][] = [
        ['aggregate', 'full recount (renewal aggregate --full)', { campaignId: campaign.campaignId, full: true }],
        ...(provider ? [['evaluate', `re-evaluation of ${provider} (renewal evaluate --provider ${provider})`, { campaignId: campaign.campaignId, providerIds: [provider], requestedBy: by }] as [string, string, unknown]] : []),
        ['evaluate', `preview as of mid-season (renewal evaluate --as-of ${midSeason})`, { campaignId: campaign.campaignId, asOf: midSeason, requestedBy: by }],
        ['notify', 'outcome mail asked for again (renewal notify --kind outcome)', { campaignId: campaign.campaignId, kind: 'outcome' }],
      ];
      const out: { what: string; ok: boolean; error?: string }[] = [];
      for (const [name, what, payload] of runs) {
        const fn = fns.get(name);
        if (!fn) continue;
        const res = await run(fn, payload, now);
        out.push({ what, ok: res.ok, ...(res.ok ? {} : { error: `${res.error?.errorType}: ${res.error?.errorMessage}` }) });
        if (!res.ok) problems.push(`by hand, ${what} failed: ${res.error?.errorType}: ${res.error?.errorMessage}`);
        // What it handed on (the re-evaluation asks notify for the outcome mail) runs before the next.
        while (heap.length) {
          const a = heapPop(heap)!;
          now = Math.max(now, a.at);
          if (a.kind === 'async') await runAsync(a);
        }
      }
      return out;
    }

    // ---- the figures ------------------------------------------------------------------------------
    const allPrincipals = [...[...fns.values()].map((f) => f.spec.principal), ...schedulePrincipals.values()];
    const unused = await iam.unusedGrants(allPrincipals);
    const denied = iam.denials();
    const decisions = compareDecisions(campaign, season, report, evaluateThreshold(fns));
    const mail = mailFigures(sesSends, season, report);
    const metrics = metricFigures(d, fns);
    const deadLettered = queues.deadLettered() + deadLetters.length;
    for (const [name, q] of queues.byName) if (q.spec.redrive === undefined && q.depth > 0 && queues.isDeadLetter(q)) deadLetters.push(...q.bodies().map((body) => ({ queue: name, body })));

    if (denied.length) problems.push(`${denied.reduce((n, c) => n + c.count, 0)} call(s) denied by IAM`);
    const unacknowledged = unused.filter((g) => !g.acknowledged);
    if (unacknowledged.length) problems.push(`${unacknowledged.length} grant(s) never used and not acknowledged`);
    if (decisions.mismatches) problems.push(`${decisions.mismatches} decision figure(s) differ from the season's oracle`);
    if (deadLettered) problems.push(`${deadLettered} message(s) dead-lettered`);
    if (mail.outcome.duplicates) problems.push(`${mail.outcome.duplicates} outcome mail(s) sent more than once`);
    if (mail.outcome.missing.length) problems.push(`${mail.outcome.missing.length} assessed provider(s) got no outcome mail`);
    const silent = metrics.dashboard.filter((m) => !m.emitted);
    if (silent.length) problems.push(`${silent.length} dashboard metric(s) never emitted: ${silent.map((m) => `${m.namespace}/${m.name}`).join(', ')}`);
    for (const f of fns.values()) {
      if (f.stats.timeouts) problems.push(`${f.spec.name} timed out ${f.stats.timeouts} time(s) (timeout ${f.spec.timeoutMs / 1000} s)`);
      if (f.stats.peakRssMb > f.spec.memoryMb) problems.push(`${f.spec.name} used ${f.stats.peakRssMb} MB, over its ${f.spec.memoryMb} MB`);
    }
    if (stopped) problems.push('stopped at the first failure (--fail-fast)');
    if (!report) problems.push('no report: the deployment decided nothing that could be read');

    return {
      ok: problems.length === 0,
      problems,
      season: { name: season.name, events: season.arrivals.length, afterClock: season.afterClock, clock: { start: iso(clock.startMs), end: iso(clock.endMs) } },
      parameters,
      tables,
      iam: {
        deniedCalls: denied.reduce((n, c) => n + c.count, 0),
        denied: denied.map((c) => ({ function: c.principal, action: c.action, resource: c.resource, count: c.count })),
        calls: [...iam.calls.values()].filter((c) => c.allowed).map((c) => ({ function: c.principal, action: c.action, resource: c.resource, count: c.count })),
        unusedGrants: unused.map((g: Grant) => ({ function: g.principal, action: g.action, resource: g.resource, ...(g.acknowledged ? { acknowledged: g.acknowledged } : {}) })),
      },
      schedules: scheduleStats,
      functions: Object.fromEntries(
        [...fns.values()].map((f) => [
          f.spec.name,
          {
            invocations: f.stats.invocations,
            errors: f.stats.errors,
            retries: f.stats.retries,
            timeouts: f.stats.timeouts,
            deadLettered: f.stats.deadLettered,
            maxDurationMs: Math.round(f.stats.maxDurationMs),
            timeoutMs: f.spec.timeoutMs,
            peakMemoryMb: f.stats.peakRssMb,
            memoryMb: f.spec.memoryMb,
            ...(f.lastError ? { lastError: f.lastError } : {}),
          },
        ]),
      ),
      queues: Object.fromEntries([...queues.byName].map(([name, q]) => [name, { ...q.stats, depth: q.depth, batches: q === esm.queue ? esm.batches : 0, maxBatch: q === esm.queue ? esm.maxBatch : 0 }])),
      deadLettered,
      deadLetters,
      decisions,
      drill,
      ...(notice ? { notice } : {}),
      mail,
      metrics,
      ...(report ? { report } : {}),
      realSeconds: Math.round((performance.now() - t0) / 100) / 10,
    };
  } finally {
    for (const f of fns.values()) f.close();
    await gateway.close().catch(() => {});
    admin.destroy();
    await new Promise((r) => dynalite.close(r));
    await new Promise((r) => sesServer.close(r));
    await s3.close().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------

/** The clock of a season: from the day before the period to two days after it (CST dates). */
function seasonClock(c: Campaign): Clock {
  return { startMs: localMidnightUtc(addDays(c.periodStartDate, -1), c.utcOffsetMinutes), endMs: localMidnightUtc(addDays(c.periodEndDate, 3), c.utcOffsetMinutes) };
}

/** The campaign the schedules run (their payload names it): `wanted`, or the first one named. */
function campaignOf(d: Deployment, wanted?: string): Campaign {
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
function evaluateThreshold(fns: Map<string, LambdaFunction>): number | undefined {
  const v = fns.get('evaluate')?.spec.environment.THRESHOLD_ORDERS;
  return v ? Number(v) : undefined;
}

async function createTables(d: Deployment, admin: DynamoDBClient): Promise<RehearsalResult['tables']> {
  const out: RehearsalResult['tables'] = [];
  for (const t of d.resourcesOfType('AWS::DynamoDB::Table')) {
    const p = d.props<CreateTableCommandInput & { TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean } }>(t);
    const name = d.physicalName(t);
    const strip = <T extends object>(x: T) => Object.fromEntries(Object.entries(x).filter(([k]) => !['ProvisionedThroughput', 'ContributorInsightsSpecification', 'OnDemandThroughput', 'WarmThroughput'].includes(k))) as T;
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

function buildQueues(d: Deployment) {
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
  return {
    byArn,
    byName,
    policies,
    isDeadLetter: (q: Queue) => deadLetterArns.has(q.spec.arn),
    /** Messages that ended in a dead-letter queue by redrive. */
    deadLettered: () => [...byArn.values()].reduce((n, q) => n + q.stats.deadLettered, 0),
  };
}

const shortQueueName = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, '');

function buildSchedules(d: Deployment): ScheduleSpec[] {
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

/** The SQS event Lambda's poller hands the function for a batch. */
function sqsEvent(batch: Message[], q: QueueSpec): SQSEvent {
  return {
    Records: batch.map((m) => ({
      messageId: m.messageId,
      receiptHandle: m.receiptHandle,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentAtMs),
        SenderId: 'AROAREHEARSAL:platform',
        ApproximateFirstReceiveTimestamp: String(m.firstReceivedAtMs ?? m.sentAtMs),
        ...(m.groupId ? { MessageGroupId: m.groupId, SequenceNumber: m.sequenceNumber } : {}),
        ...(m.deduplicationId ? { MessageDeduplicationId: m.deduplicationId } : {}),
      },
      messageAttributes: Object.fromEntries(Object.entries(m.attributes).map(([k, v]) => [k, { stringValue: v.StringValue, dataType: v.DataType, stringListValues: [], binaryListValues: [] }])),
      md5OfBody: m.md5OfBody,
      eventSource: 'aws:sqs',
      eventSourceARN: q.arn,
      awsRegion: REGION,
    })),
  };
}

/** The report's figures against the season's own expectation, provider by provider. */
function compareDecisions(c: Campaign, season: RehearsalSeason, report: Report | undefined, deployedThreshold: number | undefined): RehearsalResult['decisions'] {
  // The threshold the deployment decided with (RULES.md "threshold"): the campaign file's, else THRESHOLD_ORDERS.
  const threshold = resolveThreshold(c, { deployment: deployedThreshold ?? season.thresholdOrders })?.thresholdOrders;
  const rows = report?.assessments ?? [];
  if (!season.expected || threshold === undefined) return { total: rows.length, mismatches: null, detail: [], ...(threshold !== undefined ? { thresholdOrders: threshold } : {}) };
  const campaign = withThreshold(c, threshold);
  const detail: RehearsalResult['decisions']['detail'] = [];
  const byId = new Map(rows.map((r) => [r.providerId, r]));
  for (const [providerId, profile] of season.providers) {
    const row = byId.get(providerId);
    const exp = season.expected.get(providerId);
    const el = eligibility(campaign, { certifiedAtMs: Date.parse(profile.certifiedAt), ...(profile.regularizedAt ? { regularizedAtMs: Date.parse(profile.regularizedAt) } : {}) });
    const expected = el.assessed && exp
      ? decide(campaign, { certifiedAtMs: Date.parse(profile.certifiedAt), ...(profile.regularizedAt ? { regularizedAtMs: Date.parse(profile.regularizedAt) } : {}), paidOrders: exp.paidOrders, depositBalanceFen: exp.depositBalanceFen })
      : undefined;
    if (!row) {
      detail.push({ providerId, field: 'decision', expected: expected?.outcome ?? 'not_assessed', actual: null });
      continue;
    }
    const want = { outcome: expected?.outcome ?? 'not_assessed', ...(expected ? { paidOrders: exp!.paidOrders, depositBalanceFen: exp!.depositBalanceFen } : {}) };
    for (const [field, value] of Object.entries(want)) {
      const actual = (row as unknown as Record<string, unknown>)[field];
      if (actual !== value) detail.push({ providerId, field, expected: value, actual });
    }
  }
  return { total: rows.length, mismatches: detail.length, detail, ...(threshold !== undefined ? { thresholdOrders: threshold } : {}) };
}

/** Mail as SES accepted it: one outcome per assessed provider, progress per week. */
function mailFigures(sends: SesSend[], season: RehearsalSeason, report: Report | undefined): RehearsalResult['mail'] {
  const kindOf = (s: SesSend): 'outcome' | 'progress' | 'other' => {
    const tagged = Object.values(s.tags).join(' ');
    if (/outcome/i.test(tagged) || /续牌结果/.test(s.subject)) return 'outcome';
    if (/progress/i.test(tagged) || /续牌进度/.test(s.subject)) return 'progress';
    return 'other';
  };
  const outcome = sends.filter((s) => kindOf(s) === 'outcome');
  const seen = new Set<string>();
  let duplicates = 0;
  for (const s of outcome) {
    const key = `${s.to.join(',')}\u0000${s.subject}`;
    if (seen.has(key)) duplicates++;
    seen.add(key);
  }
  const mailed = new Set(outcome.flatMap((s) => s.to.map((t) => t.toLowerCase())));
  const missing = (report?.assessments ?? [])
    .filter((a) => a.outcome !== 'not_assessed')
    .filter((a) => {
      const email = season.providers.get(a.providerId)?.email;
      return !email || !mailed.has(email.toLowerCase());
    })
    .map((a) => a.providerId);
  const byWeek: Record<string, number> = {};
  for (const s of sends.filter((x) => kindOf(x) === 'progress')) {
    const week = s.subject.match(/第\s*(\d+)\s*周/)?.[1] ?? '?';
    byWeek[week] = (byWeek[week] ?? 0) + 1;
  }
  const status: Record<string, number> = {};
  for (const a of report?.assessments ?? []) if (a.mail) status[a.mail.status] = (status[a.mail.status] ?? 0) + 1;
  return {
    outcome: { sent: outcome.length, duplicates, missing },
    status,
    progress: { sent: Object.values(byWeek).reduce((a, b) => a + b, 0), byWeek },
    configurationSets: [...new Set(sends.map((s) => s.configurationSet ?? '(none)'))],
  };
}

/** Every metric the functions emitted, and whether each custom metric a dashboard reads was among them. */
function metricFigures(d: Deployment, fns: Map<string, LambdaFunction>): RehearsalResult['metrics'] {
  const emitted = [...fns.values()].flatMap((f) => [...f.metrics.values()].map((m) => ({ ...m, function: f.spec.name })));
  const dashboard: RehearsalResult['metrics']['dashboard'] = [];
  for (const db of d.resourcesOfType('AWS::CloudWatch::Dashboard')) {
    const body = JSON.parse(String(d.props<{ DashboardBody: string }>(db).DashboardBody)) as { widgets: { properties?: { metrics?: unknown[][] } }[] };
    for (const w of body.widgets) {
      for (const row of w.properties?.metrics ?? []) {
        const parts = row.filter((x) => typeof x === 'string') as string[];
        const [namespace, name, ...dims] = parts[0] === '.' || parts[0] === '..' ? [] : parts;
        if (!namespace || !name || namespace.startsWith('AWS/')) continue;
        const dimensions: Record<string, string> = {};
        for (let i = 0; i + 1 < dims.length; i += 2) dimensions[dims[i]!] = dims[i + 1]!;
        const hit = emitted.some((m) => m.namespace === namespace && m.name === name && JSON.stringify(sorted(m.dimensions)) === JSON.stringify(sorted(dimensions)));
        if (!dashboard.some((x) => x.namespace === namespace && x.name === name && JSON.stringify(x.dimensions) === JSON.stringify(dimensions))) dashboard.push({ namespace, name, dimensions, emitted: hit });
      }
    }
  }
  return { emitted, dashboard };
}

/** What a decision is, without when and by whom it was made. */
const decisionOf = (a: Report['assessments'][number]) => [a.providerId, a.outcome, a.reasons, a.paidOrders, a.depositBalanceFen, a.revision];

const sorted = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

const iso = (ms: number) => new Date(ms).toISOString();

function heapPush<T extends { at: number; seq: number }>(h: T[], x: T): void {
  h.push(x);
  for (let i = h.length - 1; i > 0; ) {
    const p = (i - 1) >> 1;
    if (less(h[p]!, h[i]!)) break;
    [h[p], h[i]] = [h[i]!, h[p]!];
    i = p;
  }
}

function heapPop<T extends { at: number; seq: number }>(h: T[]): T | undefined {
  const top = h[0];
  const last = h.pop();
  if (h.length && last) {
    h[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l]!, h[m]!)) m = l;
      if (r < h.length && less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
  return top;
}

const less = (a: { at: number; seq: number }, b: { at: number; seq: number }) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** Every resource policy of the template, by the ARN of the resource it guards: queues, buckets, topics. */
function resourcePolicies(d: Deployment): Map<string, PolicyDocument> {
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
function lambdaPermissions(d: Deployment): Map<string, PolicyDocument> {
  const out = new Map<string, PolicyDocument>();
  for (const perm of d.resourcesOfType('AWS::Lambda::Permission')) {
    const p = d.props<{ Action: string; FunctionName: string; Principal: string; SourceArn?: string; SourceAccount?: string }>(perm);
    const doc = out.get(p.FunctionName) ?? { Version: '2012-10-17', Statement: [] };
    doc.Statement.push({
      Effect: 'Allow',
      Principal: p.Principal.endsWith('.amazonaws.com') ? { Service: p.Principal } : { AWS: p.Principal },
      Action: p.Action,
      Resource: p.FunctionName,
      ...(p.SourceArn || p.SourceAccount ? { Condition: { ...(p.SourceArn ? { ArnLike: { 'aws:SourceArn': p.SourceArn } } : {}), ...(p.SourceAccount ? { StringEquals: { 'aws:SourceAccount': p.SourceAccount } } : {}) } } : {}),
    } as PolicyDocument['Statement'][number]);
    out.set(p.FunctionName, doc);
  }
  return out;
}

/** Where a configuration set publishes which SES events (SNS destinations only). */
function mailEventRoutes(d: Deployment): { configurationSet: string; types: string[]; topicArn: string }[] {
  return d.resourcesOfType('AWS::SES::ConfigurationSetEventDestination').flatMap((r) => {
    const p = d.props<{ ConfigurationSetName: string; EventDestination: { Enabled?: boolean; MatchingEventTypes: string[]; SnsDestination?: { TopicARN: string } } }>(r);
    const e = p.EventDestination;
    return e.Enabled === false || !e.SnsDestination ? [] : [{ configurationSet: p.ConfigurationSetName, types: e.MatchingEventTypes.map((t) => t.toLowerCase()), topicArn: e.SnsDestination.TopicARN }];
  });
}

function snsSubscriptions(d: Deployment): { arn: string; topicArn: string; protocol: string; endpoint: string; deadLetterArn?: string }[] {
  return d.resourcesOfType('AWS::SNS::Subscription').map((r) => {
    const p = d.props<{ TopicArn: string; Protocol: string; Endpoint: string; RedrivePolicy?: { deadLetterTargetArn: string } }>(r);
    return { arn: `${p.TopicArn}:${r.logicalId}`, topicArn: p.TopicArn, protocol: p.Protocol, endpoint: p.Endpoint, ...(p.RedrivePolicy ? { deadLetterArn: p.RedrivePolicy.deadLetterTargetArn } : {}) };
  });
}

/**
 * The events SES publishes for a mail it accepted and delivered: Send at once, Delivery a few seconds
 * later (the embedded SES delivers everything). Shaped as "Examples of event data that Amazon SES
 * publishes to Amazon SNS" in the SES developer guide.
 */
function sesEventRecords(m: SesSend): { type: string; afterMs: number; record: unknown }[] {
  const mail = {
    timestamp: new Date(m.atMs).toISOString(),
    source: m.source,
    sendingAccountId: ACCOUNT,
    messageId: m.messageId,
    destination: m.to,
    tags: { ...Object.fromEntries(Object.entries(m.tags).map(([k, v]) => [k, [v]])), 'ses:configuration-set': [m.configurationSet ?? ''] },
  };
  return [
    { type: 'send', afterMs: 1_000, record: { eventType: 'Send', mail, send: {} } },
    { type: 'delivery', afterMs: 4_000, record: { eventType: 'Delivery', mail, delivery: { timestamp: new Date(m.atMs + 3_000).toISOString(), recipients: m.to, processingTimeMillis: 3000, smtpResponse: '250 2.6.0 Message received' } } },
  ];
}

/** The Lambda event SNS hands a subscriber. */
function snsEvent(topicArn: string, subscriptionArn: string, message: unknown, atMs: number) {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: subscriptionArn,
        Sns: { Type: 'Notification', MessageId: randomUUID(), TopicArn: topicArn, Subject: null, Message: JSON.stringify(message), Timestamp: new Date(atMs).toISOString(), SignatureVersion: '1', Signature: 'rehearsal', SigningCertUrl: '', UnsubscribeUrl: '', MessageAttributes: {} },
      },
    ],
  };
}

/** The newest published notice, against the revoked providers of the report. */
async function readNotice(d: Deployment, s3Url: string, campaignId: string, report: Report): Promise<RehearsalResult['notice']> {
  const bucket = d.resourcesOfType('AWS::S3::Bucket').map((b) => d.physicalName(b))[0];
  if (!bucket) return undefined;
  const key = `${campaignId}/latest/notice.json`;
  const res = await fetch(`${s3Url}/${bucket}/${key}`);
  const revoked = report.assessments.filter((a) => a.outcome === 'revoked').map((a) => a.providerId).sort();
  if (!res.ok) return { version: 0, providers: 0, revoked: revoked.length, matchesDecisions: revoked.length === 0, key };
  const n = (await res.json()) as { version: number; providers: { providerId: string }[] };
  const listed = n.providers.map((p) => p.providerId).sort();
  return { version: n.version, providers: listed.length, revoked: revoked.length, matchesDecisions: JSON.stringify(listed) === JSON.stringify(revoked), key };
}
