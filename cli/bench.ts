import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '#shared/aws.ts';
import { countWrites } from '#shared/aws-metrics.ts';
import { localTableNames, type TableNames } from '#shared/config.ts';
import { ensureTables } from '#shared/local-tables.ts';
import { batchWrite } from '#shared/store/batch.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { ingestIndexKeys, toStoredItem } from '#shared/store/items.ts';
import { contentHash, entityKey, type OrderPaid } from '#shared/events.ts';
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

/** Deterministic orders, spread over 500 stores and the season. */
export function benchOrders(n: number, salt = 'b'): OrderPaid[] {
  const start = Date.parse('2023-11-30T16:00:00Z');
  const span = 91 * 86_400_000;
  return Array.from({ length: n }, (_, i) => ({
    type: 'order.paid' as const,
    orderId: `${salt}-O${i}`,
    storeId: `S${(i * 7919) % 500}`,
    paidAt: new Date(start + ((i * 104_729) % span)).toISOString(),
    gift: i % 50 === 0,
  }));
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

/** Plain BatchWriteItem of the same items intake would store, 25 per request, as many in flight as intake has batches. */
async function rawBatchWrite(orders: OrderPaid[], table: string, concurrency: number): Promise<number> {
  const db = createDocumentClient();
  const now = new Date().toISOString();
  const items = orders.map((o) => ({ ...toStoredItem(o), key: entityKey(o), h: contentHash(o), ingestedAt: now, ...ingestIndexKeys(now, entityKey(o)) }));
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

export async function runBench(io: BenchIO): Promise<void> {
  const status = await useLocalStack(io.info);
  // After useLocalStack: the function module reads its configuration when loaded, as on Lambda.
  const { makeIntake } = await import('#functions/intake.ts');
  const endpoint = status.dynamodb!;
  const run = Date.now().toString(36);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 24);
  const metrics: Record<string, Metric> = {};
  const orders = benchOrders(io.orders);
  const body = orders.map((o) => JSON.stringify(o)).join('\n');

  io.info(`bench: ${io.orders} orders, concurrency ${concurrency}, on ${endpoint}`);
  // Warm-up: JIT and dynalite's LevelDB, so neither side of a ratio pays for starting.
  await withTables(endpoint, `bench-${run}-warm`, async (names) => {
    await rawBatchWrite(benchOrders(2000, 'w'), names.orders, concurrency);
    const db = createDocumentClient();
    const store = new IngestStore(db, names);
    await feedRecords(makeIntake(store), toRecords(benchOrders(2000, 'w2').map((o) => JSON.stringify(o)).join('\n'), 'warm'), { concurrency, quiet: true });
  });

  const rawSecs = await withTables(endpoint, `bench-${run}-raw`, (names) => rawBatchWrite(orders, names.orders, concurrency));
  const intake = await withTables(endpoint, `bench-${run}-intake`, async (names) => {
    const db = createDocumentClient();
    const writes = countWrites(db);
    const store = new IngestStore(db, names);
    const t0 = performance.now();
    const result = await feedRecords(makeIntake(store), toRecords(body, 'bench'), { concurrency, batchSize: Number(process.env.BENCH_BATCH ?? 10) });
    return { secs: (performance.now() - t0) / 1000, result, writes };
  });
  const rawRate = orders.length / rawSecs;
  const intakeRate = intake.result.accepted / intake.secs;
  const ratio = intakeRate / rawRate;
  metrics.intakeVsRawBatchWrite = {
    value: round(ratio),
    goal: '>= 0.5',
    ok: ratio >= 0.5,
    detail: `intake ${intakeRate.toFixed(0)} orders/s vs BatchWriteItem ${rawRate.toFixed(0)} items/s`,
  };
  const wpo = intake.writes.items / Math.max(1, intake.result.accepted);
  metrics.writesPerOrder = {
    value: round(wpo),
    goal: '<= 1.5',
    ok: wpo <= 1.5,
    detail: `${intake.writes.items} items in ${intake.writes.requests} write requests for ${intake.result.accepted} accepted orders`,
  };

  const doc = {
    orders: io.orders,
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
