/**
 * The rehearsal's units wired together as the template defines them: the simulated clock, IAM, the
 * queues, the Lambda service with each function, the gateway their SDK calls go through, the
 * asynchronous invoker, the scheduler with its schedules and state machines, SES's events over SNS,
 * and the intake queue's event source mapping. What each unit does is in its own module; this one
 * only connects them, in the order a later one needs an earlier.
 */
import { ACCOUNT, arn, Deployment } from './assembly.ts';
import { SimClock } from './clock.ts';
import { EventSourceMapping } from './event-source-mapping.ts';
import { functionSpecs, LambdaFunction, makeHome } from './functions.ts';
import { Gateway } from './gateway.ts';
import type { GatewayResponse } from './gateway-answers.ts';
import type { GatewayRequest, SesSend } from './gateway-requests.ts';
import { Iam, type PolicyDocument, type Principal } from './iam.ts';
import { AsyncInvoker, type AsyncEvent } from './invoker.ts';
import { LambdaService } from './lambda-service.ts';
import type { RehearseOptions } from './result.ts';
import { Scheduler } from './scheduler.ts';
import { stateMachineSpecs, StateMachines } from './state-machines.ts';
import { firings, type ScheduleSpec } from './schedules.ts';
import type { Clock } from './season-feed.ts';
import { SnsBus, type Publication } from './sns.ts';
import type { Queues } from './sqs.ts';
import { buildQueues, buildSchedules, campaignOf, lambdaPermissions, mailEventRoutes, resourcePolicies, seasonClock, snsSubscriptions } from './topology.ts';
import type { RunningService } from '#tools/local/services.ts';

/**
 * Functions whose scheduled runs only have work when events have arrived since their last run: a
 * firing of their schedule with no arrival in between and its last run done is counted as idle and
 * not invoked (the aggregation: it reads what was ingested since its watermark, nothing else).
 */
const IDLE_WITHOUT_ARRIVALS = new Set(['aggregate']);
/** Functions whose scheduled runs go on while the intake works (the others run alone in the season's order). */
const BESIDE_INTAKE = new Set(['aggregate']);

/** What is due on the simulated clock. */
export type Due = ({ kind: 'sns' } & Publication) | { kind: 'fire'; at: number; schedule: ScheduleSpec } | ({ kind: 'async' } & AsyncEvent<LambdaFunction>) | { kind: 'visible'; at: number };

/** Everything a rehearsal runs, wired together. */
export interface Rehearsal {
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

/** The embedded services the gateway passes calls on to. */
export interface EmbeddedServices {
  dynamo: RunningService;
  ses: RunningService;
  s3: RunningService;
}

/** The units every later one is built on, and the hand-offs they share (to a queue, to a dead letter, a failure seen). */
interface Base {
  d: Deployment;
  o: RehearseOptions;
  clock: SimClock<Due>;
  iam: Iam;
  queues: Queues;
  policies: Map<string, PolicyDocument>;
  lambda: LambdaService;
  deadLetters: Rehearsal['deadLetters'];
  failFast: Rehearsal['failFast'];
  sendToQueue: (principal: Principal, queueArn: string, body: string) => ReturnType<Queues['sendAs']>;
  onDeadLetter: (queueArn: string, body: string) => void;
  onFailed: () => void;
}

/** The gateway, the functions and the units, wired as the template defines them. */
export async function wire(d: Deployment, o: RehearseOptions, services: EmbeddedServices, homeDir: string, undo: (() => unknown)[]): Promise<Rehearsal> {
  const seasonClockOf = seasonClock(campaignOf(d, o.campaignId));
  const b = baseUnits(d, o, seasonClockOf.startMs);
  const sesSends: SesSend[] = [];
  // Declared before the gateway, whose SES callback forwards to it, and assigned once the routes are read.
  // eslint-disable-next-line prefer-const
  let sns: SnsBus<LambdaFunction> | undefined;
  await startGateway(b, services, homeDir, undo, (s) => {
    sesSends.push(s);
    sns?.mailSent(s);
  });
  const invoker = new AsyncInvoker<LambdaFunction>({
    clock: b.clock,
    run: (fn, payload, at) => b.lambda.run(fn, payload, at),
    later: (e) => b.clock.schedule({ kind: 'async', ...e }),
    sendToQueue: b.sendToQueue,
    onDeadLetter: b.onDeadLetter,
    onFailed: b.onFailed,
  });
  const { scheduler, schedulePrincipals, machines } = scheduling(b, invoker, seasonClockOf);
  sns = snsBus(b, invoker);
  const esm = await eventSourceMapping(d, { ...b, scheduler, concurrency: o.intakeConcurrency ?? 4 });
  const { clock, iam, lambda, queues, deadLetters, failFast } = b;
  return { d, o, clock, seasonClock: seasonClockOf, iam, lambda, queues, esm, invoker, scheduler, schedulePrincipals, machines, sns, sesSends, deadLetters, failFast, s3Url: services.s3.url };
}

/** The clock at the season's start, IAM, the queues, the resource policies and the Lambda service, with fail-fast watching them. */
function baseUnits(d: Deployment, o: RehearseOptions, startMs: number): Base {
  const clock = new SimClock<Due>(startMs);
  const iam = new Iam(d);
  const queues = buildQueues(d);
  const policies = resourcePolicies(d);
  const deadLetters: Rehearsal['deadLetters'] = [];
  const failFast = {
    stopped: false,
    check: () => (failFast.stopped ||= o.failFast === true && (iam.denials().length > 0 || deadLetters.length > 0 || queues.deadLettered() > 0)),
  };
  const lambda = new LambdaService({ iam, clock, enqueue: (e) => clock.schedule({ kind: 'async', ...e }), ...(o.trace ? { trace: o.trace } : {}) });
  const authorize = iam.authorize.bind(iam);
  return {
    d,
    o,
    clock,
    iam,
    queues,
    policies,
    lambda,
    deadLetters,
    failFast,
    sendToQueue: (principal, queueArn, body) => queues.sendAs(authorize, principal, queueArn, body, clock.now),
    onDeadLetter: (queueArn, body) => void deadLetters.push({ queue: queues.nameOf(queueArn), body }),
    onFailed: () => void failFast.check(),
  };
}

/** The gateway on its loopback port, then each function, whose SDK calls it answers; both closed on undo. */
async function startGateway(b: Base, services: EmbeddedServices, homeDir: string, undo: (() => unknown)[], onSesSend: (s: SesSend) => void): Promise<void> {
  const { d, iam, lambda, policies } = b;
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
    onSesSend,
    lambda: { resolve: (name) => lambda.resolve(name), invoke: (caller, a, type, payload, atMs) => lambda.invokeApi(caller, a, type, payload, atMs) },
  });
  const gatewayUrl = await gateway.listen();
  undo.push(() => gateway.close());
  undo.push(() => lambda.functions.forEach((f) => f.close()));
  startFunctions(d, iam, lambda, principals, { gatewayUrl, gateway: (request) => gateway.answer(request), homeDir, intakeConcurrency: b.o.intakeConcurrency ?? 4 });
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

/** The schedules with their roles, the state machines they may start, and the scheduler, its firings put on the clock. */
function scheduling(b: Base, invoker: AsyncInvoker<LambdaFunction>, season: Clock): { scheduler: Scheduler<LambdaFunction>; schedulePrincipals: Principal[]; machines: StateMachines } {
  const { d, iam, lambda, clock } = b;
  const schedules = buildSchedules(d).map((spec) => {
    const role = d.resourcesOfType('AWS::IAM::Role').find((x) => d.getAtt(x, 'Arn') === spec.target.roleArn);
    if (!role) throw new Error(`${spec.logicalId}: its role ${spec.target.roleArn} is not in the template`);
    return { spec, principal: iam.principalOfRole(role, spec.name) };
  });
  const machines = new StateMachines(stateMachineSpecs(d, (role, name) => iam.principalOfRole(role, name)));
  const scheduler = new Scheduler<LambdaFunction>({
    schedules,
    functionOf: (a) => lambda.byArn.get(a),
    invoker,
    authorize: (p, action, resource) => iam.authorize(p, action, resource),
    sendToQueue: b.sendToQueue,
    onDeadLetter: b.onDeadLetter,
    onFailed: b.onFailed,
    idleWithoutArrivals: IDLE_WITHOUT_ARRIVALS,
    besideIntake: BESIDE_INTAKE,
    stateMachines: stateMachineStarter(b, machines),
  });
  for (const { spec } of schedules) for (const at of firings(spec, season.startMs, season.endMs)) clock.schedule({ kind: 'fire', at, schedule: spec });
  return { scheduler, schedulePrincipals: schedules.map((s) => s.principal), machines };
}

/** How the scheduler starts a state machine: an execution whose Lambda tasks run on the clock, succeeded or not. */
function stateMachineStarter(b: Base, machines: StateMachines) {
  const { o, iam, lambda, clock } = b;
  return {
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
}

/** SES's events → the topics → the Lambda subscribers, as the template's routes, policies and permissions allow. */
function snsBus(b: Base, invoker: AsyncInvoker<LambdaFunction>): SnsBus<LambdaFunction> {
  const { d, iam, lambda, clock, queues, policies } = b;
  const permissions = lambdaPermissions(d);
  return new SnsBus<LambdaFunction>({
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
    onFailed: b.onFailed,
  });
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
