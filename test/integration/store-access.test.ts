/**
 * The stores' access declarations (shared/store/access.ts), against what the code really sends. A
 * whole small season runs through the real use cases on dynalite, with every store call attributed
 * to the store method that made it (a proxy sets the method for the async context, an SDK middleware
 * records each request with its table and index). Then, method by method:
 *  - every request sent is covered by the declaration (else the derived IAM policy would refuse it);
 *  - every declared action was sent at least once (else the policy grants something unused).
 * A method the season's flows do not reach is called directly, so every declaration is exercised.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TableNames } from '#shared/config.ts';
import type { Mailer } from '#shared/mailer.ts';

import type { Access, BucketId, StoreAccess } from '#shared/store/access.ts';
import { AGGREGATES_ACCESS, AggregateStore } from '#shared/store/aggregates.ts';
import { DECISIONS_ACCESS, DecisionStore } from '#shared/store/decisions.ts';
import { EXCEPTIONS_ACCESS, ReapplyExceptionStore } from '#shared/store/exceptions.ts';
import { checkReapply, recordException } from '#shared/usecases/reapply.ts';
import { INGEST_ACCESS, IngestStore } from '#shared/store/ingest.ts';
import { NOTICE_TAG, noticeTag, OUTBOX_ACCESS, OutboxStore } from '#shared/store/outbox.ts';
import type { SesEvent } from '#shared/ses-events.ts';
import { recordMailEvent } from '#shared/usecases/mail-events.ts';
import { SOURCE_ACCESS, SourceStore } from '#shared/store/source.ts';
import type { TableId } from '#shared/tables.ts';
import { aggregate } from '#shared/usecases/aggregate.ts';
import { evaluate } from '#shared/usecases/evaluate.ts';
import { notify, notifyPolicy, publishedEvents } from '#shared/usecases/notify.ts';
import { buildReport } from '#shared/usecases/report.ts';
import { feedRecords, toRecords } from '#cli/import.ts';
import { generateSeason } from '#tools/demo-season/season.ts';
import { freshNoticeBucket, useTestStack } from '../support/stack.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { NOTICE_BUCKET_ACCESS } from '#shared/store/notice-bucket.ts';
import { publish } from '#shared/usecases/publish.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

type Call = { store: string; method: string; action: string; table: TableId | `bucket:${BucketId}`; index?: string };

const context = new AsyncLocalStorage<{ store: string; method: string }>();
const calls: Call[] = [];
const unattributed: string[] = [];

/** The store as the use cases see it, with every method call attributed to `store.method`. */
function attributed<T extends object>(store: string, target: T): T {
  return new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t) as unknown;
      if (typeof v !== 'function' || prop === 'constructor') return v;
      return (...args: unknown[]) => {
        if (context.getStore()) return (v as (...a: unknown[]) => unknown).apply(t, args);
        const at = { store, method: String(prop) };
        const out = context.run(at, () => (v as (...a: unknown[]) => unknown).apply(t, args));
        // A view of the same store (the dry run's scratch aggregates) is attributed like the store.
        if (out instanceof (t.constructor as new (...a: never[]) => object)) return attributed(store, out);
        // An async generator's requests are sent as it is iterated: each step runs as the method.
        if (out && typeof out === 'object' && Symbol.asyncIterator in out) {
          const it = out as AsyncGenerator<unknown>;
          return { [Symbol.asyncIterator]: () => ({ next: (x?: unknown) => context.run(at, () => it.next(x)), return: (x?: unknown) => context.run(at, () => it.return(x)) }) };
        }
        return out;
      };
    },
  });
}

// eslint calls the cast below unnecessary; tsc needs it for the stores' different method names.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
const ACCESS: Record<string, StoreAccess<unknown>> = {
  source: SOURCE_ACCESS,
  aggregates: AGGREGATES_ACCESS,
  decisions: DECISIONS_ACCESS,
  outbox: OUTBOX_ACCESS,
  ingest: INGEST_ACCESS,
  noticeBucket: NOTICE_BUCKET_ACCESS,
  exceptions: EXCEPTIONS_ACCESS,
} as Record<string, StoreAccess<unknown>>;

let tables: TableNames;

beforeAll(async () => {
  const stack = await useTestStack();
  tables = stack.tables;
  const db = stack.db;
  const tableOf = new Map(Object.entries(tables).map(([id, name]) => [name, id as TableId]));
  db.middlewareStack.add(
    (next, ctx) => async (args) => {
      const input = args.input as { TableName?: string; IndexName?: string; RequestItems?: Record<string, unknown> };
      const action = String(ctx.commandName)
        .replace(/Command$/, '')
        .replace(/^Batch(Get|Write)$/, 'Batch$1Item')
        .replace(/^(Get|Put|Update|Delete)$/, '$1Item');
      const at = context.getStore();
      const names = input.RequestItems ? Object.keys(input.RequestItems) : input.TableName ? [input.TableName] : [];
      for (const name of names) {
        if (!at) unattributed.push(`${action} ${name}`);
        else calls.push({ ...at, action, table: tableOf.get(name)!, ...(input.IndexName ? { index: input.IndexName } : {}) });
      }
      return next(args);
    },
    { step: 'initialize', name: 'recordAccess' },
  );
  const notice = await freshNoticeBucket();
  notice.s3.middlewareStack.add(
    (next, ctx) => async (args) => {
      const at = context.getStore();
      const action = String(ctx.commandName).replace(/Command$/, '');
      if (!at) unattributed.push(`${action} ${notice.name}`);
      else calls.push({ ...at, action, table: 'bucket:notice' });
      return next(args);
    },
    { step: 'initialize', name: 'recordAccess' },
  );
  const bucket = attributed('noticeBucket', notice.bucket);
  const s = {
    source: attributed('source', new SourceStore(db, tables)),
    aggregates: attributed('aggregates', new AggregateStore(db, tables)),
    decisions: attributed('decisions', new DecisionStore(db, tables)),
    outbox: attributed('outbox', new OutboxStore(db, tables)),
    exceptions: attributed('exceptions', new ReapplyExceptionStore(db, tables)),
  };
  const ingest = attributed('ingest', new IngestStore(db, tables));
  const season = generateSeason({ providers: 14, orders: 600, seed: 11 });
  const half = Math.floor(season.lines.length / 2);
  const clock = () => new Date();
  const c = RENEWAL_2024;

  // The season arrives in two waves, aggregated as the schedule would: full first, then incremental.
  await feedRecords(makeIntake(ingest), toRecords(season.lines.slice(0, half).join('\n'), 'wave1'), { quiet: true });
  await aggregate(c, { ...s, now: clock }, { overlapMs: 5000 });
  await feedRecords(makeIntake(ingest), toRecords(season.lines.slice(half).join('\n'), 'wave2'), { quiet: true });
  // SQS redelivers a whole batch: what it finds stored has its change records looked up (several at once).
  await feedRecords(makeIntake(ingest), toRecords(season.lines.slice(half, half + 30).join('\n'), 'redelivered'), { quiet: true });
  // Two runs at once: one of them finds the lock held and asks who holds it.
  await Promise.all([aggregate(c, { ...s, now: clock }, { overlapMs: 5000 }), aggregate(c, { ...s, now: clock }, { overlapMs: 5000 })]);

  // Evaluations: a preview, a dry run, the final run, and a person's run for one provider.
  const by = { kind: 'person' as const, id: 'store-access-test' };
  await evaluate(c, { ...s, now: clock, overlapMs: 5000 }, { by, asOf: '2024-01-15T00:00:00Z', thresholdOrders: 20 });
  await evaluate(c, { ...s, now: clock, overlapMs: 5000 }, { by, dryRun: true, thresholdOrders: 20 });
  const final = await evaluate(c, { ...s, now: clock, overlapMs: 5000 }, { by, thresholdOrders: 20 });
  await evaluate(
    c,
    { ...s, now: clock, overlapMs: 5000 },
    { by, thresholdOrders: 25, providerIds: [final.assessments[0]!.providerId], changeThreshold: { from: 20, to: 25, reason: 'store-access test' } },
  );

  // Mail, both kinds, through a mailer that sends nothing (this test is about DynamoDB).
  const mailer: Mailer = { send: async () => ({ messageId: 'm' }) };
  const settings = { feedbackMailbox: c.feedbackMailbox, exitRefundProcedure: 'x' };
  const mailDeps = { stores: s, mail: { sender: mailer, settings, evidence: publishedEvents(0) }, clock: { now: clock, sleep: async () => {} }, policy: notifyPolicy(1000) };
  await notify(c, mailDeps, { kind: 'outcome' });
  await notify(c, mailDeps, { kind: 'progress', asOf: '2024-01-15T10:00:00+08:00', thresholdOrders: 20 });
  await buildReport(s.decisions, c.campaignId);
  // The delisting notice, published after the notice date's hour, then read back.
  await publish(c, { decisions: s.decisions, bucket, now: () => new Date('2024-03-01T03:00:00Z'), settings: { publicBaseUrl: notice.baseUrl, feedbackMailbox: c.feedbackMailbox } });
  await bucket.latestJson(c.campaignId);

  // The re-application check, and the exception ledger: a grant and its withdrawal.
  const revoked = final.assessments.find((a) => a.outcome === 'revoked') ?? final.assessments[0]!;
  await recordException({ exceptions: s.exceptions, now: clock }, { providerId: revoked.providerId, by: 'ops', reason: 'test' });
  await recordException({ exceptions: s.exceptions, now: clock }, { providerId: revoked.providerId, by: 'ops', reason: 'test', withdraw: true });
  await checkReapply({ ...s, campaigns: () => [c], now: clock }, { providerId: revoked.providerId });

  // What the flows above do not reach.
  await s.decisions.previews(c.campaignId);
  await s.decisions.runs(c.campaignId);
  await s.decisions.revisions(c.campaignId, final.assessments[0]!.providerId);
  await s.decisions.makeCurrent(final.assessments[0]!);
  await s.aggregates.providerTotals(c);
  await s.aggregates.watermark(c.campaignId);
  // A heartbeat beats only in a run longer than its period: renew a lock by hand.
  await s.aggregates.begin(c.campaignId, 'owner-x', new Date(), 60_000);
  await s.aggregates.renewLock(c.campaignId, 'owner-x', new Date(), 60_000);
  await s.aggregates.finish(c.campaignId, 'owner-x');
  // A grouped full recount's shard figures (shared/usecases/recount-groups.ts): the demo season plans inline.
  await s.aggregates.putShardFigures(c.campaignId, 1, 0, { ordersRead: 1, storesRecounted: 1, storeDaysWritten: 1 }, new Date());
  await s.aggregates.shardFigures(c.campaignId, 1);
  await s.outbox.entries(c.campaignId, 'outcome');
  const failing = { campaignId: c.campaignId, kind: 'outcome' as const, providerId: 'PX', seq: 1, to: 'px@example.com' };
  await s.outbox.claim(failing, 'owner-a', new Date(), 60_000);
  await s.outbox.claim(failing, 'owner-b', new Date(), 60_000); // held: reads the entry
  await s.outbox.markFailed(failing, 'owner-a', 'test', true, new Date());
  const other = { ...failing, providerId: 'PY' };
  await s.outbox.claim(other, 'owner-c', new Date(), 60_000);
  await s.outbox.renewClaim(other, 'owner-c', new Date(), 60_000);
  await s.outbox.get(other);
  await s.outbox.markUncertain(other, 'owner-c', 'test', new Date());
  await recordMailEvent(
    s.outbox,
    { eventType: 'Send', mail: { messageId: 'm-py', timestamp: new Date().toISOString(), tags: { [NOTICE_TAG]: [noticeTag(other)] } } } as unknown as SesEvent,
    new Date(),
  );
}, 120_000);

const key = (x: { action: string; table: string; index?: string }) => `${x.action} ${x.table}${x.index ? `/index/${x.index}` : ''}`;
const declared = (a: readonly Access[]) =>
  a.flatMap((t) =>
    'bucket' in t ? t.actions.map((action) => key({ action, table: `bucket:${t.bucket}` })) : t.actions.map((action) => key({ action, table: t.table, ...(t.index ? { index: t.index } : {}) })),
  );

describe('store access declarations', () => {
  it('every request a store sends is made inside one of its methods', () => {
    expect(unattributed).toEqual([]);
    expect(calls.length).toBeGreaterThan(100);
  });

  for (const [store, access] of Object.entries(ACCESS)) {
    // eslint calls this cast unnecessary; tsc needs it (as for ACCESS above).
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    for (const [method, decl] of Object.entries(access.methods as Record<string, readonly Access[]>)) {
      it(`${store}.${method}: sends exactly what it declares`, () => {
        const sent = [...new Set(calls.filter((c) => c.store === store && c.method === method).map(key))].sort();
        expect(
          sent.filter((k) => !declared(decl).includes(k)),
          'sent but not declared',
        ).toEqual([]);
        expect(
          declared(decl).filter((k) => !sent.includes(k)),
          'declared but never sent',
        ).toEqual([]);
      });
    }
  }
});
