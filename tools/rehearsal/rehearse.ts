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
 *
 * The units, each in its own module: the clock and its queue of what is due (`clock.ts`), Lambda
 * (`lambda-service.ts`), the event source mapping (`event-source-mapping.ts`), the asynchronous
 * invoker (`invoker.ts`), the scheduler (`scheduler.ts`), SES events over SNS (`sns.ts`), and the
 * checks (`checks.ts`, `decisions.ts`). This file wires them together and plays the season.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { deduplicationIdOf, messageGroupOf } from '#shared/events.ts';
import { periodWindow, type Campaign } from '#shared/rules/campaign.ts';
import { addDays } from '#shared/rules/time.ts';
import type { Report } from '#shared/usecases/report.ts';
import { startDynamo, startS3, startSes, type RunningService } from '#tools/local/services.ts';
import { ACCOUNT, arn, Deployment, REGION } from './assembly.ts';
import { iamFigures, mailFigures, metricFigures, noticeFigure, problemsOf, decisionOf } from './checks.ts';
import { iso, SimClock } from './clock.ts';
import { compareDecisions } from './decisions.ts';
import { EventSourceMapping } from './event-source-mapping.ts';
import { functionSpecs, LambdaFunction, makeHome } from './functions.ts';
import { Gateway, type GatewayRequest, type GatewayResponse, type SesSend } from './gateway.ts';
import { Iam, type Principal } from './iam.ts';
import { AsyncInvoker, type AsyncEvent } from './invoker.ts';
import { LambdaService } from './lambda-service.ts';
import type { RehearsalResult } from './result.ts';
import { Scheduler } from './scheduler.ts';
import { stateMachineSpecs, StateMachines, type TaskOverride } from './state-machines.ts';
import { firings, type ScheduleSpec } from './schedules.ts';
import { demoSeason, fileSeason, type Clock, type RehearsalSeason } from './season-feed.ts';
import { SnsBus, type Publication } from './sns.ts';
import type { Queues } from './sqs.ts';
import {
  buildQueues,
  buildSchedules,
  campaignOf,
  createTables,
  evaluateThreshold,
  lambdaPermissions,
  mailEventRoutes,
  resourcePolicies,
  seasonClock,
  snsSubscriptions,
  type TableFigure,
} from './topology.ts';

export type { RehearsalResult, ScheduleStats } from './result.ts';

/**
 * Functions whose scheduled runs only have work when events have arrived since their last run: a
 * firing of their schedule with no arrival in between and its last run done is counted as idle and
 * not invoked (the aggregation: it reads what was ingested since its watermark, nothing else).
 */
const IDLE_WITHOUT_ARRIVALS = new Set(['aggregate']);
/** Functions whose scheduled runs go on while the intake works (the others run alone in the season's order). */
const BESIDE_INTAKE = new Set(['aggregate']);

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
  /** Replaces what the state machines' Lambda tasks do (tests): see state-machines.ts. */
  stateMachineTaskOverride?: TaskOverride;
}

/** What is due on the simulated clock. */
type Due = ({ kind: 'sns' } & Publication) | { kind: 'fire'; at: number; schedule: ScheduleSpec } | ({ kind: 'async' } & AsyncEvent<LambdaFunction>) | { kind: 'visible'; at: number };

/** Everything a rehearsal runs, wired together. */
interface Rehearsal {
  d: Deployment;
  o: RehearseOptions;
  clock: SimClock<Due>;
  seasonClock: Clock;
  iam: Iam;
  lambda: LambdaService;
  queues: Queues;
  esm: EventSourceMapping;
  invoker: AsyncInvoker<LambdaFunction>;
  scheduler: Scheduler<LambdaFunction>;
  schedulePrincipals: Principal[];
  machines: StateMachines;
  sns: SnsBus<LambdaFunction>;
  sesSends: SesSend[];
  deadLetters: { queue: string; body: string }[];
  failFast: { stopped: boolean; check(): boolean };
  s3Url: string;
}

export async function rehearse(o: RehearseOptions): Promise<RehearsalResult> {
  const t0 = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'renewal-rehearsal-'));
  const d = new Deployment(o.assemblyDir, o.parameters);
  // Undone last first, whatever was reached.
  const undo: (() => unknown)[] = [() => rmSync(work, { recursive: true, force: true })];
  try {
    const buckets = d.resourcesOfType('AWS::S3::Bucket').map((b) => d.physicalName(b));
    const services = await Promise.all([startDynamo(), startSes(), startS3({ directory: join(work, 's3'), buckets })]);
    undo.push(() => Promise.all(services.map((s) => s.close())));
    const [dynamo, ses, s3] = services;
    const admin = new DynamoDBClient({ endpoint: dynamo.url, region: REGION, credentials: { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' } });
    undo.push(() => admin.destroy());
    const tables = await createTables(d, admin);
    const r = await wire(d, o, { dynamo, ses, s3 }, join(work, 'home'), undo);
    const season = o.eventsFile ? fileSeason(o.eventsFile, r.seasonClock) : demoSeason(r.seasonClock, { ...o.demo, campaign: campaignOf(r.d, o.campaignId) });
    o.info?.(`rehearsing ${season.name}: ${season.arrivals.length} events from ${iso(r.seasonClock.startMs)} to ${iso(r.seasonClock.endMs)}`);
    await play(r, season);
    const after = await afterSeason(r);
    return await figures(r, season, tables, after, performance.now() - t0);
  } finally {
    for (const u of undo.reverse())
      await Promise.resolve()
        .then(u)
        .catch(() => {});
  }
}

/** The gateway, the functions and the units, wired as the template defines them. */
async function wire(d: Deployment, o: RehearseOptions, services: { dynamo: RunningService; ses: RunningService; s3: RunningService }, homeDir: string, undo: (() => unknown)[]): Promise<Rehearsal> {
  const seasonClockOf = seasonClock(campaignOf(d, o.campaignId));
  const clock = new SimClock<Due>(seasonClockOf.startMs);
  const iam = new Iam(d);
  const queues = buildQueues(d);
  const policies = resourcePolicies(d);
  const sesSends: SesSend[] = [];
  const deadLetters: Rehearsal['deadLetters'] = [];
  const failFast = {
    stopped: false,
    check: () => (failFast.stopped ||= o.failFast === true && (iam.denials().length > 0 || deadLetters.length > 0 || queues.deadLettered() > 0)),
  };
  const lambda = new LambdaService({ iam, clock, enqueue: (e) => clock.schedule({ kind: 'async', ...e }), ...(o.trace ? { trace: o.trace } : {}) });
  const authorize = iam.authorize.bind(iam);
  const sendToQueue = (principal: Principal, queueArn: string, body: string) => queues.sendAs(authorize, principal, queueArn, body, clock.now);
  const onDeadLetter = (queueArn: string, body: string) => void deadLetters.push({ queue: queues.nameOf(queueArn), body });
  const onFailed = () => void failFast.check();
  // Declared before the gateway, whose SES callback forwards to it, and assigned once the routes are read.
  // eslint-disable-next-line prefer-const
  let sns: SnsBus<LambdaFunction> | undefined;
  const principals = new Map<string, Principal>();
  const gateway = new Gateway({
    iam,
    principals,
    dynamodb: services.dynamo.listener,
    sesUrl: services.ses.url,
    ses: {
      identities: d.resourcesOfType('AWS::SES::EmailIdentity').map((x) => d.ref(x)),
      configurationSets: d.resourcesOfType('AWS::SES::ConfigurationSet').map((x) => d.physicalName(x)),
    },
    s3Url: services.s3.url,
    resourcePolicy: (a) => policies.get(a),
    onSesSend: (s) => {
      sesSends.push(s);
      sns?.mailSent(s);
    },
    lambda: { resolve: (name) => lambda.resolve(name), invoke: (caller, a, type, payload, atMs) => lambda.invokeApi(caller, a, type, payload, atMs) },
  });
  const gatewayUrl = await gateway.listen();
  undo.push(() => gateway.close());
  undo.push(() => lambda.functions.forEach((f) => f.close()));
  startFunctions(d, iam, lambda, principals, { gatewayUrl, gateway: (request) => gateway.answer(request), homeDir, intakeConcurrency: o.intakeConcurrency ?? 4 });

  const invoker = new AsyncInvoker<LambdaFunction>({
    clock,
    run: (fn, payload, at) => lambda.run(fn, payload, at),
    later: (e) => clock.schedule({ kind: 'async', ...e }),
    sendToQueue,
    onDeadLetter,
    onFailed,
  });
  const schedules = buildSchedules(d).map((spec) => {
    const role = d.resourcesOfType('AWS::IAM::Role').find((x) => d.getAtt(x, 'Arn') === spec.target.roleArn);
    if (!role) throw new Error(`${spec.logicalId}: its role ${spec.target.roleArn} is not in the template`);
    return { spec, principal: iam.principalOfRole(role, spec.name) };
  });
  const machines = new StateMachines(stateMachineSpecs(d, (role, name) => iam.principalOfRole(role, name)));
  const stateMachines = {
    startFunctionOf: (a: string) => machines.byArn.get(a)?.startFunctionArn,
    start: async (a: string, input: unknown, at: number) => {
      const r = await machines.start(machines.byArn.get(a)!, input, {
        iam,
        startMs: at,
        invoke: (fnArn, payload) => lambda.run(lambda.byArn.get(fnArn)!, payload, clock.now),
        ...(o.stateMachineTaskOverride ? { override: o.stateMachineTaskOverride } : {}),
        ...(o.trace ? { trace: o.trace } : {}),
      });
      return r.status === 'SUCCEEDED';
    },
  };
  const scheduler = new Scheduler<LambdaFunction>({
    schedules,
    functionOf: (a) => lambda.byArn.get(a),
    invoker,
    authorize: (p, action, resource) => iam.authorize(p, action, resource),
    sendToQueue,
    onDeadLetter,
    onFailed,
    idleWithoutArrivals: IDLE_WITHOUT_ARRIVALS,
    besideIntake: BESIDE_INTAKE,
    stateMachines,
  });
  for (const { spec } of schedules) for (const at of firings(spec, seasonClockOf.startMs, seasonClockOf.endMs)) clock.schedule({ kind: 'fire', at, schedule: spec });
  const permissions = lambdaPermissions(d);
  sns = new SnsBus<LambdaFunction>({
    account: ACCOUNT,
    routes: mailEventRoutes(d),
    subscriptions: snsSubscriptions(d),
    topicPolicy: (a) => policies.get(a),
    functionPolicy: (a) => permissions.get(a),
    configurationSetArn: (name) => arn('ses', `configuration-set/${name}`),
    authorizeService: (...args) => iam.authorizeService(...args),
    functionOf: (a) => lambda.byArn.get(a),
    later: (p) => clock.schedule({ kind: 'sns', ...p }),
    invokeAsync: (e) => invoker.attempt(e),
    deadLetter: (queueArn, body) => void queues.byArn.get(queueArn)?.send({ body }, clock.now),
    onFailed,
  });
  const esm = await eventSourceMapping(d, { clock, iam, lambda, queues, scheduler, failFast, concurrency: o.intakeConcurrency ?? 4 });
  return {
    d,
    o,
    clock,
    seasonClock: seasonClockOf,
    iam,
    lambda,
    queues,
    esm,
    invoker,
    scheduler,
    schedulePrincipals: schedules.map((s) => s.principal),
    machines,
    sns,
    sesSends,
    deadLetters,
    failFast,
    s3Url: services.s3.url,
  };
}

/** Each `AWS::Lambda::Function` with its own access key, so the gateway knows who calls. */
function startFunctions(
  d: Deployment,
  iam: Iam,
  lambda: LambdaService,
  principals: Map<string, Principal>,
  o: { gatewayUrl: string; gateway: (request: GatewayRequest) => Promise<GatewayResponse>; homeDir: string; intakeConcurrency: number },
): void {
  const home = makeHome(o.homeDir);
  const mapped = new Set(d.resourcesOfType('AWS::Lambda::EventSourceMapping').map((m) => String(d.props<{ FunctionName: string }>(m).FunctionName)));
  for (const spec of functionSpecs(d, (role, name) => iam.principalOfRole(role, name))) {
    const accessKeyId = `ASIAREHEARSAL${spec.name.toUpperCase().replace(/[^A-Z0-9]/g, '')}`;
    principals.set(accessKeyId, spec.principal);
    // A queue-triggered function runs batches side by side; the others one invocation at a time.
    const maxConcurrency = mapped.has(spec.physicalName) ? o.intakeConcurrency : 1;
    lambda.add(new LambdaFunction(spec, { gatewayUrl: o.gatewayUrl, gateway: o.gateway, accessKeyId, homeDir: home, maxConcurrency }));
  }
}

/** The template's one event source mapping (the intake queue → its function); its poller reads the queue's attributes as it starts. */
async function eventSourceMapping(
  d: Deployment,
  w: { clock: SimClock<Due>; iam: Iam; lambda: LambdaService; queues: Queues; scheduler: Scheduler<LambdaFunction>; failFast: Rehearsal['failFast']; concurrency: number },
): Promise<EventSourceMapping> {
  const mappings = d.resourcesOfType('AWS::Lambda::EventSourceMapping');
  if (mappings.length !== 1) throw new Error(`the rehearsal expects one event source mapping (the intake queue), found ${mappings.length}`);
  const m = mappings[0]!;
  const p = d.props<{ BatchSize?: number; EventSourceArn: string; FunctionName: string; FunctionResponseTypes?: string[]; Enabled?: boolean }>(m);
  const fn = w.lambda.functions.find((f) => f.spec.physicalName === p.FunctionName || f.spec.arn === p.FunctionName)!;
  const queue = w.queues.byArn.get(p.EventSourceArn);
  if (!queue) throw new Error(`${m.logicalId}: event source ${p.EventSourceArn} is not a queue of the template`);
  const authorize = (action: string) => w.queues.authorize(w.iam.authorize.bind(w.iam), fn.spec.principal, action, queue.spec.arn);
  await authorize('sqs:GetQueueAttributes');
  return new EventSourceMapping({
    queue,
    batchSize: p.BatchSize ?? 10,
    partial: (p.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
    enabled: p.Enabled !== false,
    concurrency: w.concurrency,
    clock: w.clock,
    authorize,
    invoke: (event, at) => w.lambda.run(fn, event, at),
    wakeAt: (at) => w.clock.schedule({ kind: 'visible', at }),
    onReceived: (n) => w.scheduler.arrived(n),
    shouldStop: () => w.failFast.check(),
  });
}

/**
 * Plays the season: each arrival is sent to the intake queue at its instant (the mapping polls once a
 * batch is full), and what is due on the clock runs in its order. An arrival goes before anything due
 * at the same instant. A firing first lets the intake take what is waiting and the runs beside it end.
 */
async function play(r: Rehearsal, season: RehearsalSeason): Promise<void> {
  const { clock, esm, scheduler, invoker } = r;
  const producer = esm.queue;
  const batchSize = r.esm.batchSize;
  const arrivals = season.arrivals;
  let next = 0;
  let lastShown = 0;
  const show = (force = false) => {
    if (!r.o.progress || (!force && performance.now() - lastShown < 250)) return;
    lastShown = performance.now();
    const invocations = r.lambda.functions.reduce((n, f) => n + f.stats.invocations, 0);
    r.o.progress(clock.now, r.seasonClock, `events ${next}/${arrivals.length}  invocations ${invocations}  denied ${r.iam.denials().length}`);
  };
  while (!r.failFast.stopped) {
    const tA = next < arrivals.length ? arrivals[next]!.atMs : Infinity;
    const tD = clock.nextAt();
    if (Math.min(tA, tD) >= r.seasonClock.endMs) break;
    if (tA <= tD) {
      const a = arrivals[next++]!;
      clock.advanceTo(a.atMs);
      producer.send({ body: a.body, groupId: messageGroupOf(a.body), deduplicationId: deduplicationIdOf(a.body) }, clock.now);
      if (producer.visible(clock.now) >= batchSize) await esm.poll();
    } else {
      const due = clock.pop()!;
      if (due.kind === 'fire') {
        await esm.poll();
        await scheduler.settle();
        await scheduler.fire(due.schedule, due.at);
      } else if (due.kind === 'async') await scheduler.settle().then(() => invoker.attempt(due));
      else if (due.kind === 'sns') await scheduler.settle().then(() => r.sns.deliver(due));
      else await esm.poll();
    }
    show();
  }
  await scheduler.settle();
  if (!r.failFast.stopped) await esm.poll();
  show(true);
}

interface AfterSeason {
  report?: Report;
  notice?: RehearsalResult['notice'];
  drill: RehearsalResult['drill'];
  problems: string[];
}

/** What the deployment decided, the notice it published, and the runs by hand ops make afterwards. */
async function afterSeason(r: Rehearsal): Promise<AfterSeason> {
  const problems: string[] = [];
  const campaign = campaignOf(r.d, r.o.campaignId);
  const readReport = async (): Promise<Report | undefined> => {
    const reportFn = r.lambda.byName.get('report');
    if (!reportFn) return undefined;
    const res = await r.lambda.run(reportFn, { campaignId: campaign.campaignId }, r.clock.now);
    if (!res.ok) problems.push(`the report function failed: ${res.error?.errorType}: ${res.error?.errorMessage}`);
    return res.ok ? (res.value as Report) : undefined;
  };
  const report = await readReport();
  const notice = report ? await readNotice(r, campaign.campaignId, report) : undefined;
  if (notice && !notice.matchesDecisions) problems.push(`the published notice lists ${notice.providers} provider(s), not exactly the ${notice.revoked} revoked ones`);
  const mailBeforeDrill = r.sesSends.length;
  const drill = r.failFast.stopped || !report ? [] : await opsDrill(r, campaign, report, problems);
  if (drill.length) {
    const again = await readReport();
    if (JSON.stringify(again?.assessments.map(decisionOf)) !== JSON.stringify(report!.assessments.map(decisionOf))) problems.push('the runs by hand after the season changed a decision');
    const resent = r.sesSends.slice(mailBeforeDrill).filter((m) => /续牌结果/.test(m.subject) || /outcome/i.test(Object.values(m.tags).join(' ')));
    if (resent.length) problems.push(`the runs by hand after the season sent ${resent.length} outcome mail(s) again`);
  }
  return { ...(report ? { report } : {}), ...(notice ? { notice } : {}), drill, problems };
}

/** The newest published notice (`latest/notice.json` in the template's bucket). */
async function readNotice(r: Rehearsal, campaignId: string, report: Report): Promise<RehearsalResult['notice']> {
  const bucket = r.d.resourcesOfType('AWS::S3::Bucket').map((b) => r.d.physicalName(b))[0];
  if (!bucket) return undefined;
  const key = `${campaignId}/latest/notice.json`;
  const res = await fetch(`${r.s3Url}/${bucket}/${key}`);
  return noticeFigure(res.ok ? ((await res.json()) as { version: number; providers: { providerId: string }[] }) : undefined, report, key);
}

/**
 * What ops do by hand after the season (../shared/OPS.md payloads, invoked as `renewal … --aws`
 * invokes them): a full recount, a re-evaluation of one provider, a preview as of mid-season, the
 * outcome mail asked for again. None may change a decision or send a mail twice; they use the
 * grants that a season's schedules alone never need.
 */
async function opsDrill(r: Rehearsal, campaign: Campaign, report: Report, problems: string[]): Promise<RehearsalResult['drill']> {
  const { campaignId } = campaign;
  // The middle day of the period, 00:00 China time.
  const midSeason = `${addDays(campaign.periodStartDate, Math.floor(periodWindow(campaign).days.length / 2))}T00:00:00+08:00`;
  const provider = report.assessments.find((a) => a.outcome !== 'not_assessed')?.providerId ?? report.assessments[0]?.providerId;
  const by = 'rehearsal';
  // The certification process asks about revoked providers (clause 3).
  const revoked = report.assessments.find((a) => a.outcome === 'revoked')?.providerId ?? provider;
  const runs: [string, string, unknown][] = [
    ['aggregate', 'full recount (renewal aggregate --full)', { campaignId, full: true }],
    ...(provider
      ? [['evaluate', `re-evaluation of ${provider} (renewal evaluate --provider ${provider})`, { campaignId, providerIds: [provider], requestedBy: by }] as [string, string, unknown]]
      : []),
    ['evaluate', `preview as of mid-season (renewal evaluate --as-of ${midSeason})`, { campaignId, asOf: midSeason, requestedBy: by }],
    ['notify', 'outcome mail asked for again (renewal notify --kind outcome)', { campaignId, kind: 'outcome' }],
    ...(revoked ? [['reapply', `re-application check of ${revoked} (renewal reapply check --provider ${revoked})`, { providerId: revoked }] as [string, string, unknown]] : []),
  ];
  const out: RehearsalResult['drill'] = [];
  for (const [name, what, payload] of runs) {
    const fn = r.lambda.byName.get(name);
    if (!fn) continue;
    const res = await r.lambda.run(fn, payload, r.clock.now);
    out.push({ what, ok: res.ok, ...(res.ok ? {} : { error: `${res.error?.errorType}: ${res.error?.errorMessage}` }) });
    if (!res.ok) problems.push(`by hand, ${what} failed: ${res.error?.errorType}: ${res.error?.errorMessage}`);
    // What it handed on (the re-evaluation asks notify for the outcome mail) runs before the next.
    for (let due = r.clock.pop(); due; due = r.clock.pop()) if (due.kind === 'async') await r.invoker.attempt(due);
  }
  return out;
}

/** The checks over what the season left, as the result reports them. */
async function figures(r: Rehearsal, season: RehearsalSeason, tables: TableFigure[], after: AfterSeason, elapsedMs: number): Promise<RehearsalResult> {
  const fns = r.lambda.functions;
  const unused = await r.iam.unusedGrants([...fns.map((f) => f.spec.principal), ...r.schedulePrincipals, ...r.machines.principals()]);
  const iam = iamFigures([...r.iam.calls.values()], unused);
  const decisions = compareDecisions(season, after.report, evaluateThreshold(r.lambda.byName));
  const mail = mailFigures(r.sesSends, season, after.report);
  const emitted = fns.flatMap((f) => [...f.metrics.values()].map((m) => ({ ...m, function: f.spec.name })));
  const metrics = metricFigures(
    r.d.resourcesOfType('AWS::CloudWatch::Dashboard').map((db) => String(r.d.props<{ DashboardBody: string }>(db).DashboardBody)),
    emitted,
  );
  const deadLettered = r.queues.deadLettered() + r.deadLetters.length;
  const deadLetters = [...r.deadLetters];
  for (const [name, q] of r.queues.byName) if (q.spec.redrive === undefined && q.depth > 0 && r.queues.isDeadLetter(q)) deadLetters.push(...q.bodies().map((body) => ({ queue: name, body })));
  const functions = Object.fromEntries(fns.map((f) => [f.spec.name, functionFigures(f)]));
  const problems = [
    ...after.problems,
    ...r.machines.problems(),
    ...problemsOf({ iam, decisions, deadLettered, mail, metrics, functions, stopped: r.failFast.stopped, report: after.report !== undefined }),
  ];
  const esmQueue = r.esm.queue;
  return {
    ok: problems.length === 0,
    problems,
    season: { name: season.name, events: season.arrivals.length, afterClock: season.afterClock, clock: { start: iso(r.seasonClock.startMs), end: iso(r.seasonClock.endMs) } },
    parameters: Object.fromEntries(r.d.stacks.flatMap((s) => Object.entries(s.parameters))),
    tables,
    iam,
    schedules: r.scheduler.stats,
    stateMachines: r.machines.stats,
    functions,
    queues: Object.fromEntries(
      [...r.queues.byName].map(([name, q]) => [name, { ...q.stats, depth: q.depth, batches: q === esmQueue ? r.esm.batches : 0, maxBatch: q === esmQueue ? r.esm.maxBatch : 0 }]),
    ),
    deadLettered,
    deadLetters,
    decisions,
    drill: after.drill,
    ...(after.notice ? { notice: after.notice } : {}),
    mail,
    metrics,
    ...(after.report ? { report: after.report } : {}),
    realSeconds: Math.round(elapsedMs / 100) / 10,
  };
}

function functionFigures(f: LambdaFunction): RehearsalResult['functions'][string] {
  return {
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
  };
}
