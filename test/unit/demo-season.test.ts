import { describe, expect, it } from 'vitest';
import { DEMO_SEASON, demoThreshold, generateSeason, HOSTILE_NAME, lastLateArrival, type Season } from '#tools/demo-season/season.ts';
import type { Campaign } from '#shared/rules/campaign.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';
import { instant, reference, referenceWindow, renewal2024, type ReferenceCampaign } from '../support/reference.ts';

/**
 * The demo season (`npm start`) is what people judge the product by: it must be believable (most
 * assessed providers pass, a minority fail on orders, on the deposit or on both), keep every rule case,
 * and say when the platform delivers each line, so a rehearsal can play it in time. Its expectation is
 * the generator's plan: the reference evaluator (written from RULES.md) must find that plan in its lines.
 */
const season = generateSeason(DEMO_SEASON);
const w = referenceWindow(renewal2024(DEMO_SEASON.thresholdOrders));
type Ev = Record<string, unknown> & { type?: string };
const parseLine = (l: string): Ev | undefined => {
  try {
    const e = JSON.parse(l);
    return e && typeof e === 'object' && !Array.isArray(e) ? e : undefined;
  } catch {
    return undefined;
  }
};
const parsed = season.lines.map(parseLine);
const ms = (s: unknown) => instant(s);
/** The instant an event happened on the platform, by its own fields. */
const eventTime = (e: Ev) => ms(e.paidAt ?? e.at ?? e.certifiedAt);
/** The entity a line is a version of (a redelivery or a conflicting version has the same one). */
const identity = (e: Ev) =>
  e.orderId ? `order:${e.orderId}` : e.paymentId ? `payment:${e.paymentId}` : e.type === 'provider.upserted' ? `provider:${e.providerId}` : `${e.type}:${e.providerId}:${e.storeId}:${ms(e.at)}`;

const profiles = new Map<string, Ev>();
for (const e of parsed) if (e?.type === 'provider.upserted' && typeof e.providerId === 'string' && !profiles.has(e.providerId)) profiles.set(e.providerId, e);
const verdicts = [...season.expected].map(([providerId, x]) => ({ providerId, ...x }));

/** What the system must decide by the plan, in the reference's shape: figures only for assessed providers. */
const planned = (s: Season) =>
  [...s.expected].map(([providerId, x]) => ({
    providerId,
    outcome: x.outcome,
    reasons: x.reasons,
    ...(x.outcome !== 'not_assessed' ? { paidOrders: x.paidOrders, depositBalanceFen: x.depositBalanceFen } : {}),
  }));
const decided = (c: ReferenceCampaign, lines: readonly string[]) =>
  reference(c, lines).decisions.map(({ providerId, outcome, reasons, paidOrders, depositBalanceFen }) => ({
    providerId,
    outcome,
    reasons,
    ...(paidOrders !== undefined ? { paidOrders, depositBalanceFen } : {}),
  }));

describe('the plan is what the events say', () => {
  it('the reference evaluator decides every provider of the demo season as planned', () => {
    expect(decided(renewal2024(season.thresholdOrders), season.lines)).toEqual(planned(season));
    const r = reference(renewal2024(season.thresholdOrders), season.lines);
    expect({ rejected: r.rejected.length, duplicates: r.duplicates.length }).toEqual({ rejected: season.stats.malformed + season.stats.conflicts, duplicates: season.stats.duplicates });
  });

  it('the plan says why, in one line: the figures and the outcome they make', () => {
    expect(season.expected.get('P0012')!.plan).toBe('P0012: 299 counted orders (threshold 300), deposit 1 fen short, so revoked on both');
    expect(season.expected.get('P0014')!.plan).toBe('P0014: 300 counted orders (threshold 300), deposit paid in full, so retained');
    expect(season.expected.get('P0015')!.plan).toBe('P0015: 299 counted orders (threshold 300), deposit paid in full, so revoked on orders');
  });

  it('also the figures of providers not assessed (the aggregates hold them): with cuts that let everyone in, as planned', () => {
    const small = generateSeason({ providers: 40, orders: 4000, seed: 3 });
    const everyone = { ...renewal2024(small.thresholdOrders), certifiedBeforeDate: '2100-01-01', regularizedBeforeDate: '2100-01-01' };
    const figures = reference(everyone, small.lines).decisions.filter((d) => d.paidOrders !== undefined);
    expect(figures.length).toBeGreaterThan(35);
    for (const d of figures)
      expect([d.providerId, d.paidOrders, d.depositBalanceFen]).toEqual([d.providerId, small.expected.get(d.providerId)!.paidOrders, small.expected.get(d.providerId)!.depositBalanceFen]);
  });
});

/** A made-up later season: 90 days across a new year, no 29 February, twice the deposit. */
const LATER: Campaign = Object.freeze({
  ...RENEWAL_2024,
  campaignId: 'renewal-2027-test',
  rulesVersion: 'renewal-2027-test/1',
  periodStartDate: '2026-12-01',
  periodEndDate: '2027-02-28',
  certifiedBeforeDate: '2026-12-01',
  regularizedBeforeDate: '2026-12-01',
  depositRequiredFen: 20_000_000,
  noticeDate: '2027-03-01',
});
const LATER_REF: ReferenceCampaign = {
  periodStartDate: '2026-12-01',
  periodEndDate: '2027-02-28',
  certifiedBeforeDate: '2026-12-01',
  regularizedBeforeDate: '2026-12-01',
  thresholdOrders: 0,
  depositRequiredFen: 20_000_000,
  noticeDate: '2027-03-01',
  reapplyAfterDays: 90,
};

describe("a season in another campaign's period", () => {
  const later = generateSeason({ providers: 40, orders: 4000, seed: 3, campaign: LATER });
  const events = later.lines.map(parseLine);
  const lw = referenceWindow(LATER_REF);

  it("is decided by the reference as planned, with that campaign's period, cuts and deposit", () => {
    expect(decided({ ...LATER_REF, thresholdOrders: later.thresholdOrders }, later.lines)).toEqual(planned(later));
    const outcomes = new Set(planned(later).map((p) => (p.outcome === 'revoked' ? p.reasons.join('+') : p.outcome)));
    expect(outcomes).toContain('retained');
    expect(outcomes).toContain('deposit_not_paid_in_full');
    expect(outcomes).toContain('orders_below_threshold');
  });

  it('every event of it happens around that period, none in the 2024 season', () => {
    const times = events.flatMap((e) => (e ? [eventTime(e)].filter((t): t is number => t !== undefined) : []));
    expect(times.length).toBeGreaterThan(4000);
    expect(Math.min(...times)).toBeGreaterThan(lw.startMs - 250 * 86_400_000);
    expect(Math.max(...times)).toBeLessThan(lw.endMs + 20 * 86_400_000);
    const orders = events.filter((e): e is Ev => e?.type === 'order.paid');
    for (const edge of [lw.startMs - 1, lw.startMs, lw.endMs - 1, lw.endMs])
      expect(
        orders.some((e) => ms(e.paidAt) === edge),
        String(edge),
      ).toBe(true);
    const deposits = events.filter((e): e is Ev => e?.type === 'deposit.paid' && e.amountFen === 20_000_000);
    expect(deposits.length).toBeGreaterThan(10);
    expect(lastLateArrival(LATER)).toBe(lw.endMs + 15 * 60_000);
    expect(later.expected.get('P0007')!.story).toBe('certified exactly at 2026-12-01 00:00 CST: not in scope');
  });
});

describe('the demo season is believable', () => {
  it('its threshold is the one exported for the CLI, the embedded stack and the rehearsal, and scales with the season', () => {
    expect(season.thresholdOrders).toBe(DEMO_SEASON.thresholdOrders);
    expect(demoThreshold({ providers: 120, orders: 10_000 })).toBe(Math.round(DEMO_SEASON.thresholdOrders / 10));
    expect(demoThreshold({ providers: 1, orders: 1 })).toBe(1);
  });

  it('most assessed providers pass; a minority fail, on orders, on the deposit and on both', () => {
    const assessed = verdicts.filter((v) => v.outcome !== 'not_assessed');
    const revoked = assessed.filter((v) => v.outcome === 'revoked');
    expect(assessed.length).toBeGreaterThan(90);
    expect(revoked.length / assessed.length).toBeGreaterThan(0.08);
    expect(revoked.length / assessed.length).toBeLessThan(0.3);
    const combos = new Set(revoked.map((v) => v.reasons.join('+')));
    expect([...combos].sort()).toEqual(['deposit_not_paid_in_full', 'orders_below_threshold', 'orders_below_threshold+deposit_not_paid_in_full']);
  });

  it('the provider with the hostile name is delisted, so the public notice shows it (escaped)', () => {
    expect(profiles.get('P0013')!.name).toBe(HOSTILE_NAME);
    expect(verdicts.find((v) => v.providerId === 'P0013')!.outcome).toBe('revoked');
  });
});

describe('every rule case stays in it', () => {
  const stories = [...season.expected.values()].map((x) => x.story).join('\n');
  const orders = parsed.filter((e): e is Ev => e?.type === 'order.paid');

  it.each([
    'certified exactly at 2023-12-01 00:00 CST: not in scope',
    'certified mid-season: not in scope',
    'still on probation: not assessed',
    'regularized exactly at 2023-12-01 00:00 CST: not assessed',
    'regularized 2023-11-30 23:59:59 CST: assessed',
    'not regularized by 2023-11-30',
    'deposit in four instalments',
    'deposit 1 fen short',
    'second half of the deposit paid at the close instant (late)',
    'part of the deposit deducted in the season, not topped up',
    'deposit deducted, then topped up in time',
    'deposit deducted after the close (does not count)',
    'no deposit at all',
    'small: few orders',
    'close to the threshold',
    'one order short of the threshold',
    'exactly at the threshold: retained',
  ])('%s', (story) => {
    expect(stories).toContain(story);
  });

  it('gift orders, orders on each boundary instant and outside the period, orders of unbound stores', () => {
    expect(orders.some((e) => e.gift === true)).toBe(true);
    for (const edge of [w.startMs - 1, w.startMs, w.endMs - 1, w.endMs])
      expect(
        orders.some((e) => ms(e.paidAt) === edge),
        String(edge),
      ).toBe(true);
    expect(orders.some((e) => ms(e.paidAt)! > w.endMs)).toBe(true);
    expect(orders.some((e) => String(e.paidAt).endsWith('+08:00')) && orders.some((e) => String(e.paidAt).endsWith('Z'))).toBe(true);
  });

  it('stores bound to two providers, bindings that start and end mid-season', () => {
    const bindings = parsed.filter((e): e is Ev => e?.type === 'binding.started');
    const providersOf = new Map<string, Set<unknown>>();
    for (const b of bindings) (providersOf.get(String(b.storeId)) ?? providersOf.set(String(b.storeId), new Set()).get(String(b.storeId))!).add(b.providerId);
    expect([...providersOf.values()].some((s) => s.size === 2)).toBe(true);
    expect(bindings.some((b) => ms(b.at)! > w.startMs && ms(b.at)! < w.endMs)).toBe(true);
    expect(parsed.some((e) => e?.type === 'binding.ended' && ms(e.at)! > w.startMs && ms(e.at)! < w.endMs)).toBe(true);
  });

  it("the platform's imperfections: redeliveries, conflicting versions, 15 malformed lines", () => {
    expect(season.stats).toMatchObject({ orders: DEMO_SEASON.orders, duplicates: DEMO_SEASON.orders / 100, conflicts: 6, malformed: 15 });
    expect(season.lines.length).toBe(parsed.filter(Boolean).length + parsed.filter((e) => !e).length);
  });
});

describe('when each line is delivered', () => {
  it('deliverAtMs is parallel to the lines and never goes back in time', () => {
    expect(season.deliverAtMs).toHaveLength(season.lines.length);
    for (let i = 1; i < season.deliverAtMs.length; i++) expect(season.deliverAtMs[i]! >= season.deliverAtMs[i - 1]!, `line ${i + 1}`).toBe(true);
  });

  it('an event of the assessment period never first arrives after 2024-02-29T16:15:00Z (the evaluation fires at 16:30Z); some arrive late before that', () => {
    expect(new Date(lastLateArrival()).toISOString()).toBe('2024-02-29T16:15:00.000Z');
    let late = 0;
    const seen = new Set<string>();
    parsed.forEach((e, i) => {
      const t = e && eventTime(e);
      if (t === undefined || t < w.startMs || t >= w.endMs) return;
      // Redeliveries and conflicting versions may come later: they change nothing.
      if (seen.has(identity(e!))) return;
      seen.add(identity(e!));
      expect(season.deliverAtMs[i]!, season.lines[i]).toBeLessThanOrEqual(lastLateArrival());
      if (season.deliverAtMs[i]! > t) late++;
    });
    expect(late).toBeGreaterThan(1000);
  });

  it('no line arrives before its event happened, except binding ends sent ahead of their starts', () => {
    let early = 0;
    parsed.forEach((e, i) => {
      const t = e && eventTime(e);
      if (t === undefined || season.deliverAtMs[i]! >= t) return;
      expect(e!.type).toBe('binding.ended');
      early++;
    });
    expect(early).toBeGreaterThan(0);
  });

  it('a redelivery or a conflicting version arrives strictly after the first version of its entity', () => {
    const first = new Map<string, number>();
    let later = 0;
    parsed.forEach((e, i) => {
      if (!e?.type) return;
      const id = identity(e);
      const at = season.deliverAtMs[i]!;
      if (!first.has(id)) first.set(id, at);
      else {
        expect(at, season.lines[i]).toBeGreaterThan(first.get(id)!);
        later++;
      }
    });
    expect(later).toBeGreaterThanOrEqual(season.stats.duplicates + season.stats.conflicts);
  });

  it('malformed lines arrive during the season', () => {
    parsed.forEach((e, i) => {
      const bad = !e || (e.type !== undefined && e.orderId !== undefined && /^BAD|^X{129}/.test(String(e.orderId)));
      if (!bad) return;
      expect(season.deliverAtMs[i]!).toBeGreaterThanOrEqual(w.startMs);
      expect(season.deliverAtMs[i]!).toBeLessThan(w.endMs);
    });
  });

  it('the same seed gives the same season', () => {
    const again = generateSeason({ providers: 20, orders: 2000, seed: 7 });
    expect(generateSeason({ providers: 20, orders: 2000, seed: 7 }).lines).toEqual(again.lines);
    expect(generateSeason({ providers: 20, orders: 2000, seed: 8 }).lines).not.toEqual(again.lines);
  });
});
