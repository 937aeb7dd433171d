/**
 * A dry run decides what the evaluation would decide now, from everything ingested, while writing
 * nothing: it catches the aggregation up in memory.
 */
import { describe, expect, it } from 'vitest';
import { CAMPAIGN, ev, newSeason, verdicts } from '../support/pipeline.ts';

describe('dry run on data the aggregation has not seen yet', () => {
  it('decides from the fresh counts and writes nothing', async () => {
    const season = await newSeason({ configuredThreshold: 2 });
    await season.feed([
      ev.provider('PB', '2023-01-01T00:00:00+08:00', '2023-02-01T00:00:00+08:00'),
      ev.bind('PB', 'SB', '2023-11-01T00:00:00+08:00'),
      ev.order('OB1', 'SB', '2023-12-03T10:00:00+08:00'),
      ev.order('OB2', 'SB', '2024-01-03T10:00:00+08:00'),
      ev.paid('PAY-B', 'PB', 10_000_000, '2023-12-01T10:00:00+08:00'),
    ]);
    const before = { aggregates: await season.scan('aggregates'), decisions: await season.scan('decisions') };
    const dry = await season.evaluate({ campaignId: CAMPAIGN, dryRun: true });
    expect(dry.mode).toBe('dry-run');
    expect(verdicts(dry.assessments)).toEqual({ PB: { outcome: 'retained', reasons: [], paidOrders: 2, depositBalanceFen: 10_000_000 } });
    expect(await season.scan('aggregates')).toEqual(before.aggregates);
    expect(await season.scan('decisions')).toEqual(before.decisions);
    expect(season.mail).not.toHaveBeenCalled();

    // The final run that follows agrees.
    const final = await season.evaluate();
    expect(verdicts(final.assessments)).toEqual(verdicts(dry.assessments));
  });
});
