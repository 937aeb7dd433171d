import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '#shared/aws.ts';
import { countWrites } from '#shared/aws-metrics.ts';
import { localTableNames, type TableNames } from '#shared/config.ts';
import { stores } from '#shared/deps.ts';
import type { PlatformEvent, OrderPaid } from '#shared/events.ts';
import { ensureTables } from '#shared/local-tables.ts';
import type { Mailer } from '#shared/mailer.ts';
import { RENEWAL_2024 } from '#shared/rules/campaign.ts';
import { batchWrite } from '#shared/store/batch.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { storedItem } from '#shared/store/items.ts';
import { aggregate } from '#shared/usecases/aggregate.ts';
import { evaluate } from '#shared/usecases/evaluate.ts';
import { feedRecords, toRecords } from './import.ts';
import { table } from './output.ts';
import { useLocalStack } from './local-stack.ts';

/**
 * `npm run bench`: every goal is a ratio against a baseline measured in the same run on the same
 * embedded stack, so the numbers mean the same on a slow machine as on a fast one.
 */

interface BenchIO {
  json?: boolean;
  orders: number;
  providers: number;
  print: (s: string) => void;
  printJson: (v: unknown) => void;
  info: (s: string) => void;
}

interface Metric {
  value: number;
  goal: string;
  ok: boolean;
  detail: string;
}

const SEASON_START = Date.parse('2023-11-30T16:00:00Z');
const SEASON_MS = 91 * 86_400_000;

/** Deterministic orders over `stores` stores and the season. */
export function benchOrders(n: number, salt = 'b', stores = 500): OrderPaid[] {
  return Array.from({ length: n }, (_, i) => ({
    type: 'order.paid' as const,
    orderId: `${salt}-O${i}`,
    storeId: `S${(i * 7919) % stores}`,
    paidAt: new Date(SEASON_START + ((i * 104_729) % SEASON_MS)).toISOString(),
    gift: i % 50 === 0,
  }));
}

/** The items intake would store for these events, written straight with BatchWriteItem. */
function storedItems(events: PlatformEvent[], now = new Date().toISOString()) {
  return events.map((e) => storedItem(e, now));
}

async function withTables<T>(endpoint: string, prefix: string, fn: (names: TableNames) => Promise<T>): Promise<T> {
  const raw = new DynamoDBClient({ endpoint });
  const names = localTableNames(prefix);
  await ensureTables(raw, names);
  try {
    return await fn(names);
  } finally {
    await Promise.all(Object.values(names).map((TableName) => raw.send(new DeleteTableCommand({ TableName })).catch(() => {})));
    raw.destroy();
  }
}

/** Plain BatchWriteItem, 25 per request, `concurrency` requests in flight. Returns seconds. */
async function rawBatchWrite(items: Record<string, unknown>[], table: string, concurrency: number): Promise<number> {
  const db = createDocumentClient();
  const t0 = performance.now();
  const per = Math.ceil(items.length / concurrency);
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      const mine = items.slice(w * per, (w + 1) * per);
      for (let i = 0; i < mine.length; i += 25) await batchWrite(db, { [table]: mine.slice(i, i + 25) });
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** A season of `providers` assessed providers, two stores each, deposits paid, and `orders` orders. */
function benchSeason(providers: number, orders: number, salt: string): { tables: 'events' | 'orders'; items: Record<string, unknown>[] }[] {
  const events: PlatformEvent[] = [];
  for (let p = 0; p < providers; p++) {
    const providerId = `P${p}`;
    events.push({ type: 'provider.upserted', providerId, name: `服务商${p}`, email: `p${p}@bench.example`, certifiedAt: '2023-01-01T00:00:00.000Z', regularizedAt: '2023-03-01T00:00:00.000Z' });
    for (const s of [2 * p, 2 * p + 1]) events.push({ type: 'binding.started', providerId, storeId: `S${s}`, at: '2023-01-01T00:00:00.000Z' });
    events.push({ type: 'deposit.paid', paymentId: `${salt}-D${p}`, providerId, amountFen: 10_000_000, paidAt: '2023-11-01T00:00:00.000Z' });
  }
  return [
    { tables: 'events', items: storedItems(events) },
    { tables: 'orders', items: storedItems(benchOrders(orders, salt, providers * 2)) },
  ];
}

export async function runBench(io: BenchIO): Promise<void> {
  const status = await useLocalStack(io.info);
  // After useLocalStack: the function module reads its configuration when loaded, as on Lambda.
  const { makeIntake } = await import('#functions/intake.ts');
  const endpoint = status.dynamodb!;
  const run = Date.now().toString(36);
  const concurrency = 16; // intake invocations in flight, and the baseline's requests in flight alike
  const metrics: Record<string, Metric> = {};
  const orders = benchOrders(io.orders);
  const body = orders.map((o) => JSON.stringify(o)).join('\n');
  const step = (s: string) => io.info(`bench: ${s}`);

  step(`${io.orders} orders, concurrency ${concurrency}, on ${endpoint}`);
  step('warm-up');
  // Warm-up: JIT and dynalite's LevelDB, so neither side of a ratio pays for starting.
  await withTables(endpoint, `bench-${run}-warm`, async (names) => {
    await rawBatchWrite(storedItems(benchOrders(2000, 'w')), names.orders, concurrency);
    const store = new IngestStore(createDocumentClient(), names);
    await feedRecords(makeIntake(store), toRecords(benchOrders(2000, 'w2').map((o) => JSON.stringify(o)).join('\n'), 'warm'), { concurrency, quiet: true });
  });

  // 1. Intake against the plain BatchWriteItem of the same items into the same store.
  step('plain BatchWriteItem baseline');
  const rawSecs = await withTables(endpoint, `bench-${run}-raw`, (names) => rawBatchWrite(storedItems(orders), names.orders, concurrency));
  step('intake');
  const intake = await withTables(endpoint, `bench-${run}-intake`, async (names) => {
    const db = createDocumentClient();
    const writes = countWrites(db);
    const t0 = performance.now();
    const result = await feedRecords(makeIntake(new IngestStore(db, names)), toRecords(body, 'bench'), { concurrency });
    return { secs: (performance.now() - t0) / 1000, result, writes };
  });
  const rawRate = orders.length / rawSecs;
  const intakeRate = intake.result.accepted / intake.secs;
  metrics.intakeVsRawBatchWrite = {
    value: round(intakeRate / rawRate),
    goal: '>= 0.5',
    ok: intakeRate / rawRate >= 0.5,
    detail: `intake ${intakeRate.toFixed(0)} orders/s vs BatchWriteItem ${rawRate.toFixed(0)} items/s`,
  };
  const wpo = intake.writes.items / Math.max(1, intake.result.accepted);
  metrics.writesPerOrder = {
    value: round(wpo),
    goal: '<= 1.5',
    ok: wpo <= 1.5,
    detail: `${intake.writes.items} items in ${intake.writes.requests} write requests for ${intake.result.accepted} accepted orders`,
  };

  // 2. Aggregation throughput and evaluation cost with 1x and 10x the orders, same providers. Both
  // seasons are loaded and aggregated first; then the final evaluations alternate 1x, 10x, three
  // rounds, each recording into a fresh decisions table, and the medians are compared, so LevelDB's
  // background work after the big load weighs on both sides alike.
  const baseOrders = io.orders / 2;
  let aggregation = { orders: 0, secs: 0 };
  const raw = new DynamoDBClient({ endpoint });
  const seasons: { scale: number; names: TableNames; secs: number[] }[] = [];
  const extraTables: string[] = [];
  try {
    for (const scale of [1, 10]) {
      step(`evaluation season x${scale}: ${io.providers} providers, ${baseOrders * scale} orders`);
      const names = localTableNames(`bench-${run}-eval${scale}`);
      await ensureTables(raw, names);
      seasons.push({ scale, names, secs: [] });
      for (const part of benchSeason(io.providers, baseOrders * scale, `e${scale}`)) await rawBatchWrite(part.items, names[part.tables], concurrency);
      const t0 = performance.now();
      await aggregate(RENEWAL_2024, { ...stores(names), now: () => new Date() }, { full: true });
      if (scale === 10) aggregation = { orders: baseOrders * scale, secs: (performance.now() - t0) / 1000 };
    }
    for (let round = 1; round <= 3; round++) {
      for (const season of seasons) {
        step(`evaluation x${season.scale}, round ${round}`);
        const names = { ...season.names, decisions: `${season.names.decisions}-r${round}` };
        extraTables.push(names.decisions);
        await ensureTables(raw, names);
        const t1 = performance.now();
        const r = await evaluate(RENEWAL_2024, { ...stores(names), now: () => new Date(), overlapMs: 0 }, { by: { kind: 'person', id: 'bench' }, thresholdOrders: 1 });
        season.secs.push((performance.now() - t1) / 1000);
        if (r.assessments.length !== io.providers || r.revisionsCreated !== io.providers) throw new Error(`evaluation decided ${r.revisionsCreated} of ${io.providers} providers`);
      }
    }
  } finally {
    const all = [...seasons.flatMap((x) => Object.values(x.names)), ...extraTables];
    await Promise.all(all.map((TableName) => raw.send(new DeleteTableCommand({ TableName })).catch(() => {})));
    raw.destroy();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const evalSecs = seasons.map((x) => median(x.secs));
  const evalRatio = evalSecs[1]! / evalSecs[0]!;
  metrics.evaluation10xVs1x = {
    value: round(evalRatio),
    goal: '<= 1.2',
    ok: evalRatio <= 1.2,
    detail: `${io.providers} providers, median of 3: ${evalSecs[0]!.toFixed(2)}s with ${baseOrders} orders, ${evalSecs[1]!.toFixed(2)}s with ${baseOrders * 10}`,
  };
  const aggRate = aggregation.orders / aggregation.secs;
  metrics.aggregationVsRawBatchWrite = {
    value: round(aggRate / rawRate),
    goal: 'report',
    ok: true,
    detail: `full aggregation ${aggRate.toFixed(0)} orders/s (${aggregation.orders} orders in ${aggregation.secs.toFixed(1)}s)`,
  };

  // 3. Mail: the send rate against the configured quota, through the real notify and local SES.
  step('mail');
  const quota = 20;
  const mailCount = 60;
  const mail = await withTables(endpoint, `bench-${run}-mail`, async (names) => {
    const deps = stores(names);
    for (let p = 0; p < mailCount; p++) {
      await deps.decisions.addRevision({
        campaignId: RENEWAL_2024.campaignId, providerId: `P${p}`, providerName: `服务商${p}`, email: `p${p}@bench.example`,
        outcome: 'retained', reasons: [], clauses: ['1', '2.1', '2.2.1', '2.2.2', '2.2.3'], paidOrders: 10, thresholdOrders: 1,
        depositBalanceFen: 10_000_000, depositRequiredFen: 10_000_000, rulesVersion: RENEWAL_2024.rulesVersion, revision: 1, final: true,
        decidedAt: new Date().toISOString(), decidedBy: { kind: 'person', id: 'bench' }, asOf: new Date().toISOString(),
      });
    }
    const { useLocalMailDefaults } = await import('./mail-commands.ts');
    useLocalMailDefaults();
    const { mailConfigFromEnv } = await import('#shared/config.ts');
    const { makeNotify } = await import('#functions/notify.ts');
    const sends: number[] = [];
    const { SesMailer } = await import('#shared/mailer.ts');
    const { SESClient } = await import('@aws-sdk/client-ses');
    const real = new SesMailer(new SESClient({}), mailConfigFromEnv());
    const timed: Mailer = { send: async (m) => (sends.push(performance.now()), real.send(m)) };
    const r = await makeNotify({ ...deps, mailer: timed }, { ...mailConfigFromEnv(), ratePerSecond: quota })({ campaignId: RENEWAL_2024.campaignId, kind: 'outcome' });
    return { sent: r.sent, secs: (sends.at(-1)! - sends[0]!) / 1000 };
  });
  // Sends per second over the run, counting the intervals between the first and the last send.
  const mailRate = (mail.sent - 1) / mail.secs;
  metrics.mailRateVsQuota = {
    value: round(mailRate / quota),
    goal: '0.8 .. 1.0',
    ok: mailRate / quota >= 0.8 && mailRate / quota <= 1.0 + 1e-9,
    detail: `${mail.sent} mails at ${mailRate.toFixed(1)}/s with the quota set to ${quota}/s`,
  };

  const doc = {
    orders: io.orders,
    providers: io.providers,
    concurrency,
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, m.value])),
    goals: Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, { goal: m.goal, met: m.ok, detail: m.detail }])),
  };
  if (io.json) io.printJson(doc);
  else
    io.print(
      table(
        ['metric', 'value', 'goal', 'met', 'measured'],
        Object.entries(metrics).map(([k, m]) => [k, m.value, m.goal, m.ok ? 'yes' : 'NO', m.detail]),
        ['left', 'right'],
      ),
    );
}

const round = (x: number) => Math.round(x * 1000) / 1000;
