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
 * checks (`checks.ts`, `decisions.ts`). `wiring.ts` wires them together as the template defines them
 * and `after-season.ts` reads what the season left; this file plays the season and reports it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { deduplicationIdOf, messageGroupOf } from '#shared/events.ts';
import { startDynamo, startS3, startSes } from '#tools/local/services.ts';
import { afterSeason, type AfterSeason } from './after-season.ts';
import { Deployment, REGION } from './assembly.ts';
import { iamFigures, mailFigures, metricFigures, problemsOf } from './checks.ts';
import { iso } from './clock.ts';
import { compareDecisions } from './decisions.ts';
import type { LambdaFunction } from './functions.ts';
import type { RehearsalResult, RehearseOptions } from './result.ts';
import { demoSeason, fileSeason, type RehearsalSeason } from './season-feed.ts';
import { campaignOf, createTables, evaluateThreshold, type TableFigure } from './topology.ts';
import { wire, type Rehearsal } from './wiring.ts';

export type { RehearsalResult, RehearseOptions, ScheduleStats } from './result.ts';

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
