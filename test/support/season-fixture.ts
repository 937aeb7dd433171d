/**
 * A season on the embedded stack for the aggregation and evaluation tests: fresh tables, the real
 * intake handler fed the way `renewal import` feeds it, and the real aggregate / evaluate handlers
 * built with their factories over those tables. Plus small builders that write one platform event
 * as the JSON line the platform would send (RULES.md, input contract), and readers of what the
 * tables hold.
 */
import { expect, vi, type Mock } from 'vitest';
import fc from 'fast-check';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '#shared/config.ts';
import { stores } from '#shared/deps.ts';
import { makeAggregate } from '#functions/handlers/aggregate.ts';
import { makeEvaluate } from '#functions/handlers/evaluate.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { feedRecords, toRecords, type ImportResult } from '#cli/import.ts';
import type { AggregateResult } from '#shared/usecases/aggregate.ts';
import type { EvaluateResult } from '#shared/usecases/evaluate.ts';
import type { DecisionStore } from '#shared/store/decisions.ts';
import { freshTables, useTestStack } from './stack.ts';
import { arbProfiles, render, timeOf, type LogicalEvent } from './events.ts';
import { reference, renewal2024 } from './reference.ts';

export const CAMPAIGN = 'renewal-2024';

export type Db = Awaited<ReturnType<typeof useTestStack>>['db'];
type Item = Record<string, unknown>;

let stack: Promise<{ db: Db }> | undefined;
/** The stack of this test file (one `useTestStack` per file; every season still gets its own tables). */
export function testStack(): Promise<{ db: Db }> {
  stack ??= useTestStack().then(({ db }) => ({ db }));
  return stack;
}

export interface SeasonOptions {
  /** The deployment's THRESHOLD_ORDERS (`makeEvaluate`'s `thresholdOrders`); undefined = the campaign's 10,000. */
  configuredThreshold?: number;
  /** Replaces the decisions store handed to the evaluation (to hold a run at a chosen point). */
  decisions?: (db: Db, tables: TableNames) => DecisionStore;
}

export interface Season {
  db: Db;
  tables: TableNames;
  stores: ReturnType<typeof stores>;
  /** The outcome-mail hand-off given to the evaluation. */
  mail: Mock<(campaignId: string) => Promise<void>>;
  /** The public notice's hand-off given to the evaluation (called when a final revision changed the list). */
  publication: Mock<(campaignId: string) => Promise<void>>;
  /** Feeds NDJSON lines through the real intake handler, as `renewal import` would. */
  feed(lines: readonly string[], opts?: { concurrency?: number; source?: string }): Promise<ImportResult>;
  aggregate(payload?: unknown): Promise<AggregateResult>;
  evaluate(payload?: unknown): Promise<EvaluateResult>;
  /** Every item of one table, strongly consistent. */
  scan(table: keyof TableNames): Promise<Item[]>;
}

/** A season on fresh tables. Aggregation overlap 0: dynalite's indexes do not lag. */
export async function newSeason(opts: SeasonOptions = {}): Promise<Season> {
  const { db } = await testStack();
  const tables = await freshTables();
  const s = stores(tables, db);
  const mail = vi.fn(async (_campaignId: string) => {});
  const publication = vi.fn(async (_campaignId: string) => {});
  const intake = makeIntake(new IngestStore(db, tables));
  const aggregateHandler = makeAggregate(s, { overlapMs: 0 });
  const decisions = opts.decisions ? opts.decisions(db, tables) : s.decisions;
  const evaluateHandler = makeEvaluate(
    { ...s, decisions, requestOutcomeMail: mail, requestPublication: publication },
    { overlapMs: 0, ...(opts.configuredThreshold !== undefined ? { thresholdOrders: opts.configuredThreshold } : {}) },
  );
  let feeds = 0;
  return {
    db,
    tables,
    stores: s,
    mail,
    publication,
    feed: (lines, o = {}) => feedRecords(intake, toRecords(lines.join('\n'), o.source ?? `feed-${++feeds}.ndjson`), { quiet: true, concurrency: o.concurrency ?? 4 }),
    aggregate: (payload = { campaignId: CAMPAIGN }) => aggregateHandler(payload),
    evaluate: (payload = { campaignId: CAMPAIGN }) => evaluateHandler(payload),
    scan: (table) => scanTable(db, tables[table]),
  };
}

/** A season on fresh tables (as `newSeason`) fed `lines`, every one of them accepted. */
export async function fedSeason(lines: readonly string[], opts: SeasonOptions = {}): Promise<Season> {
  const season = await newSeason(opts);
  expect(await season.feed(lines)).toMatchObject({ accepted: lines.length, rejected: 0 });
  return season;
}

export async function scanTable(db: Db, table: string): Promise<Item[]> {
  const items: Item[] = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: table, ExclusiveStartKey, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items.sort((a, b) => `${a.pk}\u0000${a.sk}`.localeCompare(`${b.pk}\u0000${b.sk}`));
}

/** Items of a pk-prefixed partition family (`CUR#`, `REV#`, `PRE#`, `RUNS#`, `SC#`, `PC#`, …). */
export const withPk = (items: Item[], prefix: string) => items.filter((i) => String(i.pk).startsWith(prefix));

// ---------------------------------------------------------------------------------------------
// Event lines, written the way the platform sends them. Instants are passed through verbatim, so a
// test chooses its form (`Z` or `+08:00`) and the intake must normalize it.

/**
 * Instants the hand-written seasons share: providers certified and regularized long before the season
 * (in scope, assessed), stores bound to them before it starts, deposits paid on its first day (CST).
 */
export const AT = {
  certified: '2023-01-01T00:00:00+08:00',
  regularized: '2023-02-01T00:00:00+08:00',
  boundBefore: '2023-11-01T00:00:00+08:00',
  depositPaid: '2023-12-01T10:00:00+08:00',
} as const;

// An integer-like key ('123') would be listed before the others by JavaScript, not where it is written.
const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

export const ev = {
  provider: (providerId: string, certifiedAt: string, regularizedAt?: string, name = `Provider ${providerId}`): string =>
    JSON.stringify({
      type: 'provider.upserted',
      providerId,
      name,
      email: `${providerId.toLowerCase()}@example.com`,
      certifiedAt,
      ...(regularizedAt !== undefined ? { regularizedAt } : {}),
    }),
  bind: (providerId: string, storeId: string, at: string) => JSON.stringify({ type: 'binding.started', providerId, storeId, at }),
  unbind: (providerId: string, storeId: string, at: string) => JSON.stringify({ type: 'binding.ended', providerId, storeId, at }),
  order: (orderId: string, storeId: string, paidAt: string, gift?: boolean) => JSON.stringify({ type: 'order.paid', orderId, storeId, paidAt, ...(gift !== undefined ? { gift } : {}) }),
  paid: (paymentId: string, providerId: string, amountFen: number, paidAt: string) => JSON.stringify({ type: 'deposit.paid', paymentId, providerId, amountFen, paidAt }),
  deducted: (paymentId: string, providerId: string, amountFen: number, at: string) => JSON.stringify({ type: 'deposit.deducted', paymentId, providerId, amountFen, at }),
  /** One profile each, all certified (and regularized, when given) at the same instants. */
  providers: (providerIds: readonly string[], certifiedAt: string, regularizedAt?: string): string[] => providerIds.map((providerId) => ev.provider(providerId, certifiedAt, regularizedAt)),
  /** One provider's bindings to several stores, all started at `at`. */
  binds: (providerId: string, storeIds: readonly string[], at: string): string[] => storeIds.map((storeId) => ev.bind(providerId, storeId, at)),
  /** Paid orders (not gifts) of one store, `{ orderId: paidAt }`, in the order written. */
  ordersAt: (storeId: string, paidAt: Readonly<Record<string, string>>): string[] =>
    Object.entries(paidAt).map(([orderId, at]) => {
      if (ARRAY_INDEX.test(orderId)) throw new Error(`ev.ordersAt: order id ${orderId} would not keep its place; use ev.order`);
      return ev.order(orderId, storeId, at);
    }),
};

/** `n` orders of one store, `<prefix>-1…n`, one per CST day from `firstDay` (a 'YYYY-MM-DD'), at 10:00 CST. */
export function dailyOrders(prefix: string, storeId: string, firstDay: string, n: number): string[] {
  const start = Date.parse(`${firstDay}T10:00:00+08:00`);
  return Array.from({ length: n }, (_, i) => {
    const local = new Date(start + i * 86_400_000 + 8 * 3_600_000).toISOString().slice(0, 19);
    return ev.order(`${prefix}-${i + 1}`, storeId, `${local}+08:00`);
  });
}

// ---------------------------------------------------------------------------------------------
// What a decision is, reduced to what the rules decide (for comparing two runs or a run and the oracle).

export interface Verdict {
  outcome: string;
  reasons: string[];
  paidOrders?: number;
  depositBalanceFen?: number;
}

export function verdicts(assessments: readonly { providerId: string; outcome: string; reasons: string[]; paidOrders?: number; depositBalanceFen?: number }[]): Record<string, Verdict> {
  return Object.fromEntries(
    [...assessments]
      .sort((a, b) => (a.providerId < b.providerId ? -1 : 1))
      .map((a) => [
        a.providerId,
        {
          outcome: a.outcome,
          reasons: a.reasons,
          ...(a.paidOrders !== undefined ? { paidOrders: a.paidOrders } : {}),
          ...(a.depositBalanceFen !== undefined ? { depositBalanceFen: a.depositBalanceFen } : {}),
        },
      ]),
  );
}

/**
 * The decisions of a stream as the reference evaluator (test/support/reference.ts, written from
 * RULES.md alone) has them for the 2024 season at `thresholdOrders`: `events` rendered as the platform
 * sends them, or raw bodies in the order they arrived.
 */
export function oracle(events: readonly LogicalEvent[] | readonly string[], thresholdOrders: number): Record<string, Verdict> {
  const bodies = events.map((e) => (typeof e === 'string' ? e : render(e)));
  return verdicts(reference(renewal2024(thresholdOrders), bodies).decisions);
}

// ---------------------------------------------------------------------------------------------
// A generator of valid seasons aimed at the evaluation: instants crowd the period's edges, most
// providers are assessed, most orders fall in the period, deposits come near the 10,000,000 fen line.
// (The intake's `arbStream` spreads instants over eleven months, so a `retained` is rare there.)

const PERIOD_START = Date.parse('2023-11-30T16:00:00Z');
const PERIOD_END = Date.parse('2024-02-29T16:00:00Z');
const DAY = 86_400_000;

const wholeSeconds = (min: number, max: number) => fc.integer({ min: min / 1000, max: max / 1000 }).map((s) => s * 1000);
const edges = fc.constantFrom(PERIOD_START - 1, PERIOD_START, PERIOD_END - 1, PERIOD_END);
/** Paid instants: mostly in the period, some just outside, some on its edges, some with milliseconds. */
const arbPaidAt = fc.oneof(
  { weight: 6, arbitrary: wholeSeconds(PERIOD_START, PERIOD_END - 1000) },
  { weight: 1, arbitrary: fc.integer({ min: PERIOD_START - 3 * DAY, max: PERIOD_END + 3 * DAY }) },
  { weight: 2, arbitrary: edges },
);
/** Scope and regularization instants: mostly before 2023-12-01 CST, some exactly on it or after. */
const arbStatusAt = fc.oneof(
  { weight: 5, arbitrary: wholeSeconds(PERIOD_START - 200 * DAY, PERIOD_START - 1000) },
  { weight: 1, arbitrary: fc.constantFrom(PERIOD_START - 1, PERIOD_START) },
  { weight: 1, arbitrary: wholeSeconds(PERIOD_START, PERIOD_END) },
);
/** Binding instants: before the season (bound all along), in it, or on an edge. */
const arbBindingAt = fc.oneof(
  { weight: 3, arbitrary: wholeSeconds(PERIOD_START - 90 * DAY, PERIOD_START) },
  { weight: 3, arbitrary: fc.integer({ min: PERIOD_START, max: PERIOD_END }) },
  { weight: 1, arbitrary: edges },
);
/** Deposit instants: mostly before the close, some exactly at it or after. */
const arbDepositAt = fc.oneof(
  { weight: 5, arbitrary: wholeSeconds(PERIOD_START - 30 * DAY, PERIOD_END - 1000) },
  { weight: 2, arbitrary: edges },
  { weight: 1, arbitrary: wholeSeconds(PERIOD_END, PERIOD_END + 10 * DAY) },
);
/** True about one time in five: gift orders, deductions. */
const sometimes = fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
const arbAmountFen = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(10_000_000, 5_000_000, 9_999_999, 1) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 12_000_000 }) });

/**
 * A valid season: 1–4 providers with one profile each, 1–4 stores, binding starts and ends (some ends
 * without a start, some repeated starts), up to 20 orders and up to 6 deposit movements, all distinct
 * facts, in time order, as `LogicalEvent`s of test/support/events.ts (so `render` and `arbDeliveries`
 * deliver them).
 */
export function arbSeason(): fc.Arbitrary<LogicalEvent[]> {
  return fc.record({ providers: fc.integer({ min: 1, max: 4 }), stores: fc.integer({ min: 1, max: 4 }) }).chain(({ providers, stores: storeCount }) => {
    const providerIds = Array.from({ length: providers }, (_, i) => `P${i + 1}`);
    const storeIds = Array.from({ length: storeCount }, (_, i) => `S${i + 1}`);
    const provider = fc.constantFrom(...providerIds);
    const store = fc.constantFrom(...storeIds);
    const profiles = arbProfiles(providerIds, {
      name: (providerId) => fc.constantFrom('义乌小商品产业带服务商', `<b>${providerId}</b> & "Co"`, `Provider ${providerId}`),
      email: (providerId) => fc.constant(`${providerId.toLowerCase()}@example.com`),
      at: arbStatusAt,
    });
    const bindings = fc.uniqueArray(
      fc.record({
        type: fc.constantFrom('binding.started' as const, 'binding.started' as const, 'binding.ended' as const),
        providerId: provider,
        storeId: store,
        at: arbBindingAt,
      }),
      { minLength: 1, maxLength: 8, selector: (b) => `${b.type}|${b.providerId}|${b.storeId}|${b.at}` },
    );
    const orders = fc
      .array(fc.record({ storeId: store, paidAt: arbPaidAt, gift: sometimes }), { maxLength: 20 })
      .map((os) => os.map((o, i) => ({ type: 'order.paid' as const, orderId: `O${i + 1}`, ...o })));
    const deposits = fc
      .array(fc.record({ deducted: sometimes, providerId: provider, amountFen: arbAmountFen, at: arbDepositAt }), { maxLength: 6 })
      .map((ds) =>
        ds.map(({ deducted, providerId, amountFen, at }, i): LogicalEvent =>
          deducted ? { type: 'deposit.deducted', paymentId: `D${i + 1}`, providerId, amountFen, at } : { type: 'deposit.paid', paymentId: `D${i + 1}`, providerId, amountFen, paidAt: at },
        ),
      );
    return fc.tuple(profiles, bindings, orders, deposits).map(([p, b, o, d]) => [...p, ...b, ...o, ...d].sort((x, y) => timeOf(x) - timeOf(y)));
  });
}
