import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { createDocumentClient } from '#shared/aws.ts';
import { SesMailer } from '#shared/mailer.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { makeNotify } from '#functions/handlers/notify.ts';
import { localTableNames, type TableNames } from '#shared/config.ts';
import { stores } from '#shared/deps.ts';
import type { OrderPaid } from '#shared/events.ts';
import { ensureTables } from '#tools/local/tables.ts';
import { periodWindow, type Campaign } from '#shared/rules/campaign.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { aggregate } from '#shared/usecases/aggregate.ts';
import { evaluate } from '#shared/usecases/evaluate.ts';
import { seasonEvents } from './workload.ts';
import { feedRecords, toRecords } from '#cli/import.ts';
import { table } from '#shared/text/terminal.ts';
import { listeningPid } from '#tools/local/processes.ts';
import { useLocalStack } from '#tools/local/stack.ts';
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * `npm run bench -- --scale`: a season at 100k, 300k and 1M orders over 2,000 providers and 20,000
 * stores, each through the real intake, the aggregation, the evaluation and notify on the embedded
 * stack. Orders arrive in paid-time order in five waves, with an incremental aggregation after each.
 * The goal is time per order that stays flat as the season grows. Heavy (an hour or more on 2 shared
 * cores): not in CI. (The full recount's rate is the bench's `aggregationVsRawBatchWrite`.)
 */

export interface ScaleIO {
  json?: boolean;
  /** The season played at every size: its period, cuts and deposit. */
  campaign: Campaign;
  sizes: number[];
  providers: number;
  storesPerProvider: number;
  print: (s: string) => void;
  printJson: (v: unknown) => void;
  info: (s: string) => void;
}

/** Aggregation runs per season in the scale run: each sees about 18 days of orders. */
const WAVES = 5;
/** Orders fed to the intake at once (memory: a chunk's records, not the season's). */
const CHUNK = 20_000;

interface StageTime {
  secs: number;
  units: number;
  /** CPU seconds spent in this stage by this process and the embedded store together (user + system). */
  cpuSecs: number;
}

export interface ScaleRow {
  orders: number;
  intake: StageTime;
  /** `shards`: the most counting shards one run was cut into; `longestShardSecs`: the longest shard of any run. */
  aggregation: StageTime & { runs: number; shards: number; longestShardSecs: number };
  evaluation: StageTime & { shards: number };
  notify: StageTime;
  /** The embedded store's peak resident memory during this size (its process's VmHWM), in MB. */
  storePeakRssMb: number | null;
}

/** Orders `from..to` of a season of `total`, in paid-time order over the period, spread over every store. */
function ordersBetween(c: Campaign, total: number, from: number, to: number, storeCount: number, salt: string): OrderPaid[] {
  const { startMs, endMs } = periodWindow(c);
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return {
      type: 'order.paid' as const,
      orderId: `${salt}-O${i}`,
      storeId: storeOf(i, storeCount),
      paidAt: new Date(startMs + Math.floor((i * (endMs - startMs)) / total)).toISOString(),
      gift: i % 50 === 0,
    };
  });
}
const storeOf = (i: number, storeCount: number) => `S${(i * 7919) % storeCount}`;

/**
 * Paid orders per provider of a season of `total`, counted from the generator's own arithmetic (store
 * `S<k>` is bound to provider `P<floor(k / storesPer)>`, every 50th order a gift, all inside the period):
 * the reference each decision is checked against, independent of the intake and the aggregation.
 */
function expectedPaidOrders(total: number, providers: number, storesPer: number): Int32Array {
  const paid = new Int32Array(providers);
  const storeCount = providers * storesPer;
  for (let i = 0; i < total; i++) if (i % 50 !== 0) paid[Math.floor(((i * 7919) % storeCount) / storesPer)]!++;
  return paid;
}

/**
 * The embedded store's process (found by its port): its peak resident set (VmHWM in /proc, reset by
 * writing 5 to clear_refs so each size reports its own peak) and its CPU seconds so far (utime + stime
 * in /proc/<pid>/stat, in clock ticks of 1/100 s). Null where /proc cannot tell.
 */
function storeProcess(endpoint: string): { reset: () => void; peakMb: () => number | null; cpuSecs: () => number } {
  const pid = listeningPid(Number(new URL(endpoint).port));
  return {
    cpuSecs: () => {
      try {
        // Fields after the command's closing parenthesis: state is the 3rd field, utime the 14th, stime the 15th.
        const after = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)!.split(' ');
        return pid ? (Number(after[11]) + Number(after[12])) / CLOCK_TICKS : 0;
      } catch {
        return 0;
      }
    },
    reset: () => {
      try {
        if (pid) writeFileSync(`/proc/${pid}/clear_refs`, '5');
      } catch {
        /* not ours to reset: the peak then covers the process's whole life */
      }
    },
    peakMb: () => {
      try {
        const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        return pid && kb ? Math.round(Number(kb) / 1024) : null;
      } catch {
        return null;
      }
    },
  };
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's times (100 on every architecture Node runs on). */
const CLOCK_TICKS = 100;

/**
 * Wall and CPU time of one stage: CPU seconds are this process's and the store's together, which is
 * what the stage costs whatever else the machine runs (wall time on a shared machine is not).
 */
function stopwatch(store: { cpuSecs: () => number }) {
  const wall0 = performance.now();
  const own0 = process.cpuUsage();
  const store0 = store.cpuSecs();
  return (into: StageTime) => {
    const own = process.cpuUsage(own0);
    into.secs += (performance.now() - wall0) / 1000;
    into.cpuSecs += (own.user + own.system) / 1e6 + (store.cpuSecs() - store0);
  };
}

/** What every size of one scale run shares: the stack, the store's process, the season's shape. */
interface ScaleLab {
  io: ScaleIO;
  local: Awaited<ReturnType<typeof useLocalStack>>;
  memory: ReturnType<typeof storeProcess>;
  storeCount: number;
}

/** One size's tables and the stores, the intake and the log line over them. */
interface SizeRun {
  size: number;
  names: TableNames;
  db: ReturnType<typeof createDocumentClient>;
  deps: ReturnType<typeof stores> & { now: () => Date };
  intake: ReturnType<typeof makeIntake>;
  salt: string;
  step: (s: string) => void;
}

export async function runScale(io: ScaleIO): Promise<void> {
  const local = await useLocalStack(io.info);
  const lab: ScaleLab = { io, local, memory: storeProcess(local.status.dynamodb), storeCount: io.providers * io.storesPerProvider };
  const run = Date.now().toString(36);
  const rows: ScaleRow[] = [];
  const raw = new DynamoDBClient(local.clients.dynamodb);
  for (const size of io.sizes) {
    const names: TableNames = localTableNames(`scale-${run}-${size}`);
    await ensureTables(raw, names);
    const db = createDocumentClient(local.clients.dynamodb);
    try {
      const sizeRun: SizeRun = {
        size,
        names,
        db,
        deps: { ...stores(names, db), now: () => new Date() },
        intake: makeIntake(new IngestStore(db, names)),
        salt: `s${size}`,
        step: (s) => io.info(`scale ${size}: ${s}`),
      };
      const row = await playSize(lab, sizeRun);
      rows.push(row);
      // Each size as it completes: a long run that is stopped keeps what it measured.
      io.info(`scale ${size}: done ${JSON.stringify(row)}`);
    } finally {
      db.destroy();
      await Promise.all(Object.values(names).map((TableName) => raw.send(new DeleteTableCommand({ TableName })).catch(() => {})));
    }
  }
  raw.destroy();
  report(io, lab.storeCount, rows);
}

/** One size: the providers and their stores, the season in waves, the evaluation checked, the mail. */
async function playSize(lab: ScaleLab, r: SizeRun): Promise<ScaleRow> {
  const { io, memory } = lab;
  r.step(`${io.providers} providers, ${lab.storeCount} stores: profiles, bindings, deposits`);
  memory.reset();
  const setup = seasonEvents(io.campaign, io.providers, r.salt, io.storesPerProvider);
  await feedRecords(r.intake, toRecords(setup.map((e) => JSON.stringify(e)).join('\n'), 'setup'), { concurrency: 16, quiet: true });
  await aggregate(io.campaign, r.deps, { full: true });
  const row: ScaleRow = {
    orders: r.size,
    intake: { secs: 0, units: 0, cpuSecs: 0 },
    aggregation: { secs: 0, units: 0, runs: 0, cpuSecs: 0, shards: 0, longestShardSecs: 0 },
    evaluation: { secs: 0, units: io.providers, cpuSecs: 0, shards: 0 },
    notify: { secs: 0, units: 0, cpuSecs: 0 },
    storePeakRssMb: null,
  };
  await playWaves(lab, r, row);
  await checkedEvaluation(lab, r, row);
  r.step('notify (outcome mail)');
  const mailer = new SesMailer(new SESv2Client(lab.local.clients.ses), lab.local.config.mail);
  const stop = stopwatch(memory);
  const n = await makeNotify({ ...stores(r.names, r.db), mailer }, { ...lab.local.config.mail, ratePerSecond: 500 })({ campaignId: io.campaign.campaignId, kind: 'outcome' });
  row.notify.units = n.sent;
  stop(row.notify);
  row.storePeakRssMb = memory.peakMb();
  return row;
}

/** The season arrives in WAVES waves in paid-time order, an aggregation run after each. */
async function playWaves(lab: ScaleLab, r: SizeRun, row: ScaleRow): Promise<void> {
  const c = lab.io.campaign;
  for (let wave = 0; wave < WAVES; wave++) {
    const end = Math.floor((r.size * (wave + 1)) / WAVES);
    for (let from = Math.floor((r.size * wave) / WAVES); from < end; from += CHUNK) {
      const orders = ordersBetween(c, r.size, from, Math.min(end, from + CHUNK), lab.storeCount, r.salt);
      const stop = stopwatch(lab.memory);
      const fed = await feedRecords(r.intake, toRecords(orders.map((o) => JSON.stringify(o)).join('\n'), `wave-${wave}`), { concurrency: 16, quiet: true });
      stop(row.intake);
      row.intake.units += fed.accepted;
      if (fed.accepted !== orders.length) throw new Error(`wave ${wave}: ${fed.accepted} of ${orders.length} orders accepted`);
    }
    const stop = stopwatch(lab.memory);
    const onShard = (ms: number) => (row.aggregation.longestShardSecs = Math.max(row.aggregation.longestShardSecs, ms / 1000));
    const a = await aggregate(c, r.deps, { overlapMs: 0, onShard }); // one writer at a time here: no record can land late
    stop(row.aggregation);
    row.aggregation.runs++;
    if (a.status !== 'done') throw new Error(`wave ${wave}: aggregation ${a.status}`);
    row.aggregation.units += a.ordersSeen;
    row.aggregation.shards = Math.max(row.aggregation.shards, a.shards);
    r.step(`wave ${wave + 1}/${WAVES}: intake ${rate(row.intake)} orders/s, aggregation ${rate(row.aggregation)} orders/s`);
  }
  if (row.aggregation.units !== r.size) throw new Error(`the aggregation saw ${row.aggregation.units} of ${r.size} orders`);
}

/** The final evaluation, each decision checked against the generator's own count. */
async function checkedEvaluation(lab: ScaleLab, r: SizeRun, row: ScaleRow): Promise<void> {
  const { io } = lab;
  r.step('evaluation');
  const threshold = Math.round(r.size / io.providers);
  const stop = stopwatch(lab.memory);
  const ev = await evaluate(io.campaign, { ...r.deps, overlapMs: 0 }, { by: { kind: 'person', id: 'scale' }, thresholdOrders: threshold });
  stop(row.evaluation);
  row.evaluation.shards = ev.shards;
  if (ev.assessments.length !== io.providers) throw new Error(`evaluation assessed ${ev.assessments.length} of ${io.providers}`);
  const paid = expectedPaidOrders(r.size, io.providers, io.storesPerProvider);
  const wrong = ev.assessments.filter((d) => {
    const want = paid[Number(d.providerId.slice(1))]!;
    return d.paidOrders !== want || d.outcome !== (want >= threshold ? 'retained' : 'revoked');
  });
  if (wrong.length)
    throw new Error(
      `${wrong.length} of ${io.providers} decisions wrong, e.g. ${wrong[0]!.providerId}: ${wrong[0]!.outcome} with ${wrong[0]!.paidOrders} paid orders, expected ${paid[Number(wrong[0]!.providerId.slice(1))]}`,
    );
  r.step(`evaluation: ${io.providers} decisions right (${ev.counts.retained ?? 0} retained, ${ev.counts.revoked ?? 0} revoked)`);
}

const perOrderUs = (s: StageTime) => (s.secs * 1e6) / Math.max(1, s.units);
const cpuPerOrderUs = (s: StageTime) => (s.cpuSecs * 1e6) / Math.max(1, s.units);

/** The rows as JSON or as a table, with the flatness ratios of the largest size against the smallest. */
function report(io: ScaleIO, storeCount: number, rows: ScaleRow[]): void {
  const base = rows[0]!;
  const last = rows.at(-1)!;
  const doc = {
    providers: io.providers,
    stores: storeCount,
    rows: rows.map((r) => ({
      ...r,
      intakeUsPerOrder: round(perOrderUs(r.intake)),
      intakeCpuUsPerOrder: round(cpuPerOrderUs(r.intake)),
      aggregationUsPerOrder: round(perOrderUs(r.aggregation)),
      aggregationCpuUsPerOrder: round(cpuPerOrderUs(r.aggregation)),
    })),
    storePeakRssMbGoal: '<= 1536 at the largest size',
    // Time per order at the largest size ÷ at the smallest: wall time, and CPU time (this process and
    // the store), which a busy machine does not move.
    flat: {
      intake: round(perOrderUs(last.intake) / perOrderUs(base.intake)),
      aggregation: round(perOrderUs(last.aggregation) / perOrderUs(base.aggregation)),
      intakeCpu: round(cpuPerOrderUs(last.intake) / cpuPerOrderUs(base.intake)),
      aggregationCpu: round(cpuPerOrderUs(last.aggregation) / cpuPerOrderUs(base.aggregation)),
      goal: '<= 1.3 (time per order at the largest size ÷ at the smallest)',
    },
  };
  if (io.json) return io.printJson(doc);
  const headers = [
    'orders',
    'intake orders/s',
    'µs/order',
    'CPU µs/order',
    `aggregation (${WAVES} runs) orders/s`,
    'µs/order',
    'CPU µs/order',
    'shards, longest',
    `evaluation (${io.providers} providers)`,
    'notify mails/s',
    'store peak RSS',
  ];
  const cells = (r: ScaleRow) => [
    r.orders.toLocaleString('en-US'),
    rate(r.intake),
    perOrderUs(r.intake).toFixed(0),
    cpuPerOrderUs(r.intake).toFixed(0),
    rate(r.aggregation),
    perOrderUs(r.aggregation).toFixed(0),
    cpuPerOrderUs(r.aggregation).toFixed(0),
    `${r.aggregation.shards}, ${r.aggregation.longestShardSecs.toFixed(1)} s`,
    `${r.evaluation.secs.toFixed(1)} s, ${r.evaluation.shards} shard${r.evaluation.shards === 1 ? '' : 's'}`,
    rate(r.notify),
    r.storePeakRssMb === null ? 'n/a' : `${r.storePeakRssMb} MB`,
  ];
  io.print(
    table(
      headers,
      rows.map(cells),
      headers.map(() => 'right' as const),
    ),
  );
  const sizes = `${last.orders.toLocaleString('en-US')} ÷ ${base.orders.toLocaleString('en-US')}`;
  io.print(`Time per order, ${sizes}: intake ${doc.flat.intake} (CPU ${doc.flat.intakeCpu}), aggregation ${doc.flat.aggregation} (CPU ${doc.flat.aggregationCpu}); goal ≤ 1.3.`);
}

const rate = (s: StageTime) => (s.units / Math.max(1e-9, s.secs)).toFixed(0);
const round = (x: number) => Math.round(x * 1000) / 1000;
