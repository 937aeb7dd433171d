/**
 * Fencing: a writer that outlived its lock cannot undo a newer run. Taking the aggregation lock yields
 * a fencing token that only grows; every store-counts and provider-totals write carries it and is
 * refused when the item was written by a newer run; the run that finds out stops (LockLostError) and
 * leaves the watermark alone. The evaluation's revisions are fenced the same way against a late
 * evaluation.
 *
 * The late writer is reproduced on the wire: run 1 talks to dynalite through a DocumentClient of the
 * test's own (`ownDocumentClient`) with a middleware that fails one chosen request and holds another
 * behind a barrier the test opens. Barriers, not sleeps: every step waits for the event it needs.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RENEWAL_2024 } from '../support/campaigns.ts';
import { AggregateStore } from '#shared/store/aggregates.ts';
import { DecisionStore } from '#shared/store/decisions.ts';
import type { StoredDecision } from '#shared/model.ts';
import { aggregate } from '#shared/usecases/aggregate.ts';
import { evaluate } from '#shared/usecases/evaluate.ts';
import { deferred } from '../support/barrier.ts';
import { ownDocumentClient } from '../support/stack.ts';
import { AT, CAMPAIGN, dailyOrders, ev, fedSeason, withPk, type Season } from '../support/season-fixture.ts';

const c = RENEWAL_2024;
const THRESHOLD = 20;
const by = { kind: 'person' as const, id: 'fencing-test' };
/** A heartbeat that never beats: the run stalls past its lease, as a run whose requests hang does. */
const stalled = () => () => {};

/** A season of three providers, each with its deposit paid: P0048 has 16 orders, P0001 30, P0002 25. */
async function season(): Promise<Season> {
  return fedSeason([
    ...ev.providers(['P0001', 'P0002', 'P0048'], AT.certified, AT.regularized),
    ev.bind('P0001', 'S01', AT.boundBefore),
    ev.bind('P0002', 'S02', AT.boundBefore),
    ev.bind('P0048', 'S48', AT.boundBefore),
    ...['P0001', 'P0002', 'P0048'].map((p) => ev.paid(`PAY-${p}`, p, 10_000_000, AT.depositPaid)),
    ...dailyOrders('O01', 'S01', '2023-12-02', 30),
    ...dailyOrders('O02', 'S02', '2023-12-02', 25),
    ...dailyOrders('O48', 'S48', '2023-12-02', 16),
  ]);
}

/** Six more orders of P0048's store, arrived after run 1 started: 22 in all. */
const sixMore = dailyOrders('O48-late', 'S48', '2024-01-10', 6);

/** A string attribute of a request's item or key, whether the document client has marshalled it yet or not. */
const attr = (v: unknown) => (v && typeof v === 'object' && 'S' in v ? (v as { S: string }).S : (v as string | undefined));

type Rule = { match: (cmd: string, item: Record<string, unknown>) => boolean; run: (send: () => Promise<unknown>) => Promise<unknown> };

/**
 * The test's own DocumentClient over dynalite, with a middleware that hands the first request each
 * rule matches to that rule (to fail it, hold it, or watch its answer); every other request goes
 * through. `sent` records each PutItem as `<pk>|<sk>`.
 */
function faultyClient(rules: Rule[]): { doc: DynamoDBDocumentClient; sent: string[] } {
  const doc = ownDocumentClient();
  const used = new Set<Rule>();
  const sent: string[] = [];
  doc.middlewareStack.add(
    (next, ctx) => async (args) => {
      const input = args.input as { Item?: Record<string, unknown> };
      const item = input.Item ?? {};
      const cmd = String(ctx.commandName);
      if (input.Item) sent.push(`${attr(item.pk)}|${attr(item.sk)}`);
      const rule = rules.find((r) => !used.has(r) && r.match(cmd, item));
      if (!rule) return next(args);
      used.add(rule);
      return rule.run(() => next(args)) as ReturnType<typeof next>;
    },
    { step: 'initialize', name: 'injectFault' },
  );
  return { doc, sent };
}

const totalsPut = (providerId: string) => (cmd: string, item: Record<string, unknown>) => cmd.startsWith('Put') && attr(item.pk) === `PC#${CAMPAIGN}` && attr(item.sk) === providerId;

/** A rule that holds its request until `release`, telling `arrived`; `answer` settles with what DynamoDB said. */
function hold(match: Rule['match']) {
  const arrived = deferred();
  const release = deferred();
  const answer = deferred<{ ok: true } | { ok: false; name: string }>();
  const rule: Rule = {
    match,
    run: async (send) => {
      arrived.resolve();
      await release.promise;
      try {
        const out = await send();
        answer.resolve({ ok: true });
        return out;
      } catch (err) {
        answer.resolve({ ok: false, name: (err as Error).name });
        throw err;
      }
    },
  };
  return { rule, arrived: arrived.promise, release: () => release.resolve(), answer: answer.promise };
}

class Injected extends Error {
  override name = 'ProvisionedThroughputExceededException';
}

const totalsOf = async (s: Season, providerId: string) => (await s.stores.aggregates.providerTotalsOf(c, [providerId]))[0]!;

describe('a late writer cannot undo a newer aggregation', () => {
  it("run 1 has one totals write fail while another is held; run 2 takes the lock and writes P0048's 22; the held write, released, is refused; run 1 reports it lost the lock; the evaluation retains P0048 with 22", async () => {
    const s = await season();
    const held = hold(totalsPut('P0048'));
    const failed = deferred();
    const fails: Rule = {
      match: totalsPut('P0001'),
      // Fails once the held request is in flight too, as a throttled chunk fails beside a slow one.
      run: async () => {
        await held.arrived;
        failed.resolve();
        throw new Injected('Throughput exceeds the current capacity of your table (injected, after the SDK retries)');
      },
    };
    const { doc, sent } = faultyClient([held.rule, fails]);
    // Run 1 started two minutes ago with a 60 s lease, and its heartbeat never beat: its lease ran out.
    const t1 = Date.now() - 120_000;
    let run1Settled = false;
    const run1 = aggregate(c, { source: s.stores.source, aggregates: new AggregateStore(doc, s.tables), now: () => new Date(t1), every: stalled }, { full: true });
    const run1Outcome = run1
      .then(
        (r) => ({ ok: true as const, r }),
        (err: unknown) => ({ ok: false as const, err: err as Error }),
      )
      .finally(() => (run1Settled = true));
    await held.arrived;
    await failed.promise;

    // Meanwhile six more orders of P0048's store arrive, and run 2 takes the expired lock and counts them.
    expect(await s.feed(sixMore)).toMatchObject({ accepted: 6, rejected: 0 });
    const run2 = await aggregate(c, { ...s.stores, now: () => new Date() });
    expect(run2).toMatchObject({ status: 'done', mode: 'full' });
    const fence2 = run2.status === 'done' ? run2.fence : 0;
    expect(fence2).toBe(2);
    expect(await totalsOf(s, 'P0048')).toMatchObject({ paidOrders: 22 });
    expect(run1Settled, 'run 1 waits for its held write before it gives up').toBe(false);

    // The held write of run 1 lands now, with the old count.
    held.release();
    expect(await held.answer).toEqual({ ok: false, name: 'ConditionalCheckFailedException' });
    const outcome = await run1Outcome;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.err.name).toBe('LockLostError');
      expect(outcome.err.message).toMatch(/taken over .*fencing token 1.* without moving the watermark/);
      expect((outcome.err.cause as Error).message).toMatch(/injected/);
    }
    // The newer totals stand, and run 1 wrote nothing after its failure: no store counts.
    expect(await totalsOf(s, 'P0048')).toMatchObject({ paidOrders: 22, computedAt: run2.status === 'done' ? run2.window.to : '' });
    expect(sent.filter((k) => k.startsWith('SC#'))).toEqual([]);
    expect(await s.stores.aggregates.watermark(CAMPAIGN)).toBe(run2.status === 'done' ? run2.window.to : '');
    expect(await s.stores.aggregates.lockHolder(CAMPAIGN)).toBeUndefined();

    // The final evaluation decides on the newer totals.
    const r = await evaluate(c, { ...s.stores, now: () => new Date() }, { by, thresholdOrders: THRESHOLD });
    expect(r.mode).toBe('final');
    const p48 = r.assessments.find((a) => a.providerId === 'P0048')!;
    expect(p48).toMatchObject({ outcome: 'retained', paidOrders: 22, reasons: [] });
    expect(r.assessments.find((a) => a.providerId === 'P0001')).toMatchObject({ outcome: 'retained', paidOrders: 30 });
  });

  it('a run learns it lost the lock at its first refused write: it stops there, writes no store counts and leaves the watermark', async () => {
    const s = await season();
    const held = hold(totalsPut('P0001'));
    const { doc, sent } = faultyClient([held.rule]);
    const t1 = Date.now() - 120_000;
    const run1 = aggregate(c, { source: s.stores.source, aggregates: new AggregateStore(doc, s.tables), now: () => new Date(t1), every: stalled }, { full: true });
    const run1Outcome = run1.then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    await held.arrived;
    expect(await s.feed(sixMore)).toMatchObject({ accepted: 6 });
    const run2 = await aggregate(c, { ...s.stores, now: () => new Date() });
    expect(run2).toMatchObject({ status: 'done' });
    held.release();
    const err = await run1Outcome;
    expect(err?.name).toBe('LockLostError');
    expect(err?.message).toMatch(/provider totals of P0001 were refused/);
    expect(err?.cause).toBeUndefined();
    // Its other totals writes (in flight beside the held one) were made or refused on their merits;
    // the store counts, which come after the totals, were never sent.
    expect(sent.filter((k) => k.startsWith('SC#'))).toEqual([]);
    expect(await totalsOf(s, 'P0048')).toMatchObject({ paidOrders: 22 });
    expect(await totalsOf(s, 'P0001')).toMatchObject({ paidOrders: 30 });
    expect(await s.stores.aggregates.watermark(CAMPAIGN)).toBe(run2.status === 'done' ? run2.window.to : '');
  });

  it('the fencing token only grows: each take of the lock, taken over or given back, is one higher; a write of an older token is refused, of the same or a newer one made', async () => {
    const s = await season();
    const store = s.stores.aggregates;
    const t = Date.parse('2024-01-01T00:00:00Z');
    const a = await store.begin(CAMPAIGN, 'a', new Date(t), 60_000);
    const b = await store.begin(CAMPAIGN, 'b', new Date(t + 61_000), 60_000); // a's lease ran out: taken over
    expect(await store.finish(CAMPAIGN, 'a')).toBe(false);
    expect(await store.finish(CAMPAIGN, 'b')).toBe(true);
    const d = await store.begin(CAMPAIGN, 'd', new Date(t + 62_000), 60_000);
    expect([a, b, d].map((x) => (x.acquired ? x.fence : null))).toEqual([1, 2, 3]);

    const totals = (paidOrders: number) => [{ providerId: 'PX', paidOrders, byDay: {}, depositBalanceFen: 0, stores: [], computedAt: '2024-01-01T00:00:00.000Z' }];
    expect(await store.putProviderTotals(c, totals(5), 2)).toEqual({ ok: true, written: 1 });
    expect(await store.putProviderTotals(c, totals(4), 1)).toEqual({ ok: false, written: 0, refused: ['PX'], skipped: 0 });
    expect(await store.putProviderTotals(c, totals(6), 2)).toEqual({ ok: true, written: 1 });
    expect(await store.putProviderTotals(c, totals(7), 3)).toEqual({ ok: true, written: 1 });
    expect(await totalsOf(s, 'PX')).toMatchObject({ paidOrders: 7 });
    expect(Object.keys(await totalsOf(s, 'PX'))).not.toContain('fence');

    const counts = new Map([
      ['SX', { daily: { PX: [1] }, bindings: [] }],
      ['SY', { daily: { PX: [2] }, bindings: [] }],
    ]);
    expect(await store.putStoreCounts(CAMPAIGN, counts, '2024-01-01T00:00:00.000Z', 3)).toEqual({ ok: true, written: 2 });
    const older = await store.putStoreCounts(CAMPAIGN, counts, '2024-01-01T00:00:00.000Z', 2);
    expect(older.ok).toBe(false);
    // One refusal is enough: nothing more of that run is sent once it is known to have lost the lock.
    expect(older.ok ? 0 : older.refused.length + older.skipped).toBe(2);
    const stored = withPk(await s.scan('aggregates'), `SC#${CAMPAIGN}#S`);
    expect(stored.map((i) => i.fence)).toEqual([3, 3]);
  });
});

describe('a late evaluation cannot undo a newer one', () => {
  /** Holds the first revision write until released. */
  class HeldDecisions extends DecisionStore {
    readonly arrived = deferred();
    readonly release = deferred();
    private first = true;
    override async addRevision(d: StoredDecision, fence?: number) {
      if (this.first) {
        this.first = false;
        this.arrived.resolve();
        await this.release.promise;
      }
      return super.addRevision(d, fence);
    }
  }

  it('evaluation A decides P0048 revoked on 16 and stalls before writing; B counts 22 and records retained; A, released, is refused and stops: B stands, A logged nothing', async () => {
    const s = await season();
    const heldDecisions = new HeldDecisions(s.db, s.tables);
    const a = evaluate(c, { ...s.stores, decisions: heldDecisions, now: () => new Date(), overlapMs: 0 }, { by, thresholdOrders: THRESHOLD, providerIds: ['P0048'] });
    const aOutcome = a.then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    await heldDecisions.arrived.promise;

    expect(await s.feed(sixMore)).toMatchObject({ accepted: 6 });
    const b = await evaluate(c, { ...s.stores, now: () => new Date(), overlapMs: 0 }, { by, thresholdOrders: THRESHOLD, providerIds: ['P0048'] });
    expect(b.aggregation).toMatchObject({ status: 'done', fence: 2 });
    expect(b.assessments[0]).toMatchObject({ providerId: 'P0048', outcome: 'retained', paidOrders: 22, revision: 1 });

    heldDecisions.release.resolve();
    const err = await aOutcome;
    expect(err?.name).toBe('LockLostError');
    expect(err?.message).toMatch(/newer evaluation .* P0048.*fencing token 1/);

    const [current] = await s.stores.decisions.currentOf(CAMPAIGN, ['P0048']);
    expect(current).toMatchObject({ outcome: 'retained', paidOrders: 22, revision: 1 });
    expect((await s.stores.decisions.revisions(CAMPAIGN, 'P0048')).map((r) => [r.revision, r.outcome])).toEqual([[1, 'retained']]);
    expect((await s.stores.decisions.runs(CAMPAIGN)).length, 'only B logged its run').toBe(1);
  });

  it('the store refuses a revision on top of one a newer evaluation wrote, and takes one of the same or a newer evaluation', async () => {
    const s = await season();
    const base = { campaignId: CAMPAIGN, providerId: 'PZ', providerName: 'PZ', email: 'pz@example.com', outcome: 'retained', reasons: [], final: true } as unknown as StoredDecision;
    const rev = (revision: number, paidOrders: number) => ({ ...base, revision, paidOrders });
    expect(await s.stores.decisions.addRevision(rev(1, 22), 5)).toBe('added');
    expect(await s.stores.decisions.addRevision(rev(2, 16), 4), 'an older evaluation').toBe('superseded');
    expect(await s.stores.decisions.addRevision(rev(2, 16)), 'no token at all').toBe('superseded');
    expect(await s.stores.decisions.addRevision(rev(1, 16), 9), 'the number is taken').toBe('taken');
    expect(await s.stores.decisions.addRevision(rev(2, 23), 5), 'the same evaluation').toBe('added');
    expect(await s.stores.decisions.addRevision(rev(3, 24), 6), 'a newer one').toBe('added');
    expect((await s.stores.decisions.revisions(CAMPAIGN, 'PZ')).map((r) => r.paidOrders)).toEqual([22, 23, 24]);
    expect((await s.stores.decisions.currentOf(CAMPAIGN, ['PZ']))[0]).toMatchObject({ revision: 3, paidOrders: 24 });
    expect(Object.keys((await s.stores.decisions.currentOf(CAMPAIGN, ['PZ']))[0]!)).not.toContain('fence');
  });
});
