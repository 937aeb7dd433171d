import { describe, expect, it } from 'vitest';
import { generateSeason } from '#tools/demo-season/season.ts';
import { CAMPAIGN, newSeason } from '../support/season-fixture.ts';

/**
 * The demo season's brute-force expectation is exact: a generated season delivered through the real
 * intake in the order and at the instants `deliverAtMs` gives (two waves split mid-season, the
 * aggregation schedule between them), then evaluated, finds every provider's figures as expected.
 */
describe('a generated demo season, delivered as the platform delivers it', () => {
  it('decides every provider from exactly the figures the generator expects; a re-run changes nothing and publishes nothing', async () => {
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
    for (const a of r.assessments) {
      if (a.outcome === 'not_assessed') continue;
      const e = g.expected.get(a.providerId)!;
      expect({ id: a.providerId, paidOrders: a.paidOrders, depositBalanceFen: a.depositBalanceFen }).toEqual({ id: a.providerId, paidOrders: e.paidOrders, depositBalanceFen: e.depositBalanceFen });
    }
    expect(r.counts.revoked).toBeGreaterThan(0);
    expect(r.publicationRequested).toBe(true);
    expect(s.publication).toHaveBeenCalledTimes(1);

    const again = await s.evaluate({ campaignId: CAMPAIGN, thresholdOrders: g.thresholdOrders });
    expect(again).toMatchObject({ revisionsCreated: 0, publicationRequested: false });
    expect(s.publication).toHaveBeenCalledTimes(1);
  });
});
