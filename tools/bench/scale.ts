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
  aggregation: StageTime & { runs: number };
  evaluation: StageTime;
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

export async function runScale(io: ScaleIO): Promise<void> {
  const local = await useLocalStack(io.info);
  const run = Date.now().toString(36);
  const storeCount = io.providers * io.storesPerProvider;
  const rows: ScaleRow[] = [];
  const raw = new DynamoDBClient(local.clients.dynamodb);
  const c = io.campaign;
  const memory = storeProcess(local.status.dynamodb);

  for (const size of io.sizes) {
    const names: TableNames = localTableNames(`scale-${run}-${size}`);
    await ensureTables(raw, names);
    const step = (s: string) => io.info(`scale ${size}: ${s}`);
    try {
      const db = createDocumentClient(local.clients.dynamodb);
      const deps = { ...stores(names, db), now: () => new Date() };
      const intake = makeIntake(new IngestStore(db, names));
      const salt = `s${size}`;

      step(`${io.providers} providers, ${storeCount} stores: profiles, bindings, deposits`);
      memory.reset();
      const setup = seasonEvents(c, io.providers, salt, io.storesPerProvider);
      await feedRecords(intake, toRecords(setup.map((e) => JSON.stringify(e)).join('\n'), 'setup'), { concurrency: 16, quiet: true });
      await aggregate(c, deps, { full: true });

      const row: ScaleRow = {
        orders: size,
        intake: { secs: 0, units: 0, cpuSecs: 0 },
        aggregation: { secs: 0, units: 0, runs: 0, cpuSecs: 0 },
        evaluation: { secs: 0, units: io.providers, cpuSecs: 0 },
        notify: { secs: 0, units: 0, cpuSecs: 0 },
        storePeakRssMb: null,
      };
      // The season arrives in WAVES waves in paid-time order, an aggregation run after each.
      for (let wave = 0; wave < WAVES; wave++) {
        const end = Math.floor((size * (wave + 1)) / WAVES);
        for (let from = Math.floor((size * wave) / WAVES); from < end; from += CHUNK) {
          const orders = ordersBetween(c, size, from, Math.min(end, from + CHUNK), storeCount, salt);
          const stop = stopwatch(memory);
          const r = await feedRecords(intake, toRecords(orders.map((o) => JSON.stringify(o)).join('\n'), `wave-${wave}`), { concurrency: 16, quiet: true });
          stop(row.intake);
          row.intake.units += r.accepted;
          if (r.accepted !== orders.length) throw new Error(`wave ${wave}: ${r.accepted} of ${orders.length} orders accepted`);
        }
        const stop = stopwatch(memory);
        const a = await aggregate(c, deps, { overlapMs: 0 }); // one writer at a time here: no record can land late
        stop(row.aggregation);
        row.aggregation.runs++;
        if (a.status !== 'done') throw new Error(`wave ${wave}: aggregation ${a.status}`);
        row.aggregation.units += a.ordersSeen;
        step(`wave ${wave + 1}/${WAVES}: intake ${rate(row.intake)} orders/s, aggregation ${rate(row.aggregation)} orders/s`);
      }
      if (row.aggregation.units !== size) throw new Error(`the aggregation saw ${row.aggregation.units} of ${size} orders`);

      step('evaluation');
      let stop = stopwatch(memory);
      const ev = await evaluate(c, { ...deps, overlapMs: 0 }, { by: { kind: 'person', id: 'scale' }, thresholdOrders: Math.round(size / io.providers) });
      stop(row.evaluation);
      if (ev.assessments.length !== io.providers) throw new Error(`evaluation assessed ${ev.assessments.length} of ${io.providers}`);
      const paid = expectedPaidOrders(size, io.providers, io.storesPerProvider);
      const threshold = Math.round(size / io.providers);
      const wrong = ev.assessments.filter((d) => {
        const want = paid[Number(d.providerId.slice(1))]!;
        return d.paidOrders !== want || d.outcome !== (want >= threshold ? 'retained' : 'revoked');
      });
      if (wrong.length)
        throw new Error(
          `${wrong.length} of ${io.providers} decisions wrong, e.g. ${wrong[0]!.providerId}: ${wrong[0]!.outcome} with ${wrong[0]!.paidOrders} paid orders, expected ${paid[Number(wrong[0]!.providerId.slice(1))]}`,
        );
      step(`evaluation: ${io.providers} decisions right (${ev.counts.retained ?? 0} retained, ${ev.counts.revoked ?? 0} revoked)`);

      step('notify (outcome mail)');
      const mailer = new SesMailer(new SESv2Client(local.clients.ses), local.config.mail);
      stop = stopwatch(memory);
      const n = await makeNotify({ ...stores(names, db), mailer }, { ...local.config.mail, ratePerSecond: 500 })({ campaignId: c.campaignId, kind: 'outcome' });
      row.notify.units = n.sent;
      stop(row.notify);
      row.storePeakRssMb = memory.peakMb();
      rows.push(row);
      // Each size as it completes: a long run that is stopped keeps what it measured.
      io.info(`scale ${size}: done ${JSON.stringify(row)}`);
      db.destroy();
    } finally {
      await Promise.all(Object.values(names).map((TableName) => raw.send(new DeleteTableCommand({ TableName })).catch(() => {})));
    }
  }
  raw.destroy();

  const base = rows[0]!;
  const last = rows.at(-1)!;
  const perOrderUs = (s: StageTime) => (s.secs * 1e6) / Math.max(1, s.units);
  const cpuPerOrderUs = (s: StageTime) => (s.cpuSecs * 1e6) / Math.max(1, s.units);
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
  if (io.json) {
    io.printJson(doc);
    return;
  }
  io.print(
    table(
      [
        'orders',
        'intake orders/s',
        'µs/order',
        'CPU µs/order',
        `aggregation (${WAVES} runs) orders/s`,
        'µs/order',
        'CPU µs/order',
        `evaluation (${io.providers} providers)`,
        'notify mails/s',
        'store peak RSS',
      ],
      rows.map((r) => [
        r.orders.toLocaleString('en-US'),
        rate(r.intake),
        perOrderUs(r.intake).toFixed(0),
        cpuPerOrderUs(r.intake).toFixed(0),
        rate(r.aggregation),
        perOrderUs(r.aggregation).toFixed(0),
        cpuPerOrderUs(r.aggregation).toFixed(0),
        `${r.evaluation.secs.toFixed(1)} s`,
        rate(r.notify),
        r.storePeakRssMb === null ? 'n/a' : `${r.storePeakRssMb} MB`,
      ]),
      ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  );
  const sizes = `${last.orders.toLocaleString('en-US')} ÷ ${base.orders.toLocaleString('en-US')}`;
  io.print(`Time per order, ${sizes}: intake ${doc.flat.intake} (CPU ${doc.flat.intakeCpu}), aggregation ${doc.flat.aggregation} (CPU ${doc.flat.aggregationCpu}); goal ≤ 1.3.`);
}

const rate = (s: StageTime) => (s.units / Math.max(1e-9, s.secs)).toFixed(0);
const round = (x: number) => Math.round(x * 1000) / 1000;
