import { describe, expect, it } from 'vitest';
import { generateSeason } from '#tools/demo-season/season.ts';
import { CAMPAIGN, newSeason, verdicts } from '../support/season-fixture.ts';
import { reference, renewal2024 } from '../support/reference.ts';

/**
 * The demo season's plan is what the system decides: a generated season delivered through the real
 * intake in the order and at the instants `deliverAtMs` gives (two waves split mid-season, the
 * aggregation schedule between them), then evaluated, decides every provider as the generator planned
 * it and as the reference evaluator (test/support/reference.ts) reads the same lines.
 */
describe('a generated demo season, delivered as the platform delivers it', () => {
  it('decides every provider as planned and as the reference has it; a re-run changes nothing and publishes nothing', async () => {
    const g = generateSeason({ providers: 24, orders: 3000, seed: 11 });
    const s = await newSeason();
    const split = g.deliverAtMs.findIndex((ms) => ms >= Date.parse('2024-01-15T02:00:00Z'));
    expect(split).toBeGreaterThan(0);
    const first = await s.feed(g.lines.slice(0, split), { concurrency: 8 });
    expect(await s.aggregate()).toMatchObject({ status: 'done' });
    const second = await s.feed(g.lines.slice(split), { concurrency: 8 });
    expect(first.failed + second.failed).toBe(0);
    expect(first.rejected + second.rejected).toBe(g.stats.malformed + g.stats.conflicts);
    expect(first.duplicates + second.duplicates).toBe(g.stats.duplicates);

    const r = await s.evaluate({ campaignId: CAMPAIGN, thresholdOrders: g.thresholdOrders });
    expect(r.mode).toBe('final');
    const plan = [...g.expected].map(([providerId, e]) => ({
      providerId,
      outcome: e.outcome,
      reasons: e.reasons,
      ...(e.outcome !== 'not_assessed' ? { paidOrders: e.paidOrders, depositBalanceFen: e.depositBalanceFen } : {}),
    }));
    expect(verdicts(r.assessments)).toEqual(verdicts(plan));
    expect(verdicts(r.assessments)).toEqual(verdicts(reference(renewal2024(g.thresholdOrders), g.lines).decisions));
    expect(r.counts.revoked).toBeGreaterThan(0);
    expect(r.publicationRequested).toBe(true);
    expect(s.publication).toHaveBeenCalledTimes(1);

    const again = await s.evaluate({ campaignId: CAMPAIGN, thresholdOrders: g.thresholdOrders });
    expect(again).toMatchObject({ revisionsCreated: 0, publicationRequested: false });
    expect(s.publication).toHaveBeenCalledTimes(1);
  });
});
