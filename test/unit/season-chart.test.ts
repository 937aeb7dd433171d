import { describe, expect, it } from 'vitest';
import { seasonChart } from '#cli/run-summaries.ts';
import { periodWindow } from '#shared/rules/campaign.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

describe('season chart (progress over the season as a picture)', () => {
  const days = periodWindow(RENEWAL_2024).days;

  it('has one bar per 7-day week of the period (13 for the 91-day leap-year season), scaled to the busiest week', () => {
    const byDay = { '2023-12-01': 10, '2023-12-07': 10, '2023-12-08': 5, '2024-02-29': 40 };
    const lines = seasonChart(days, byDay, 20).split('\n');
    expect(lines[0]).toContain('(65 in the season)');
    expect(lines).toHaveLength(14);
    expect(lines[1]).toMatch(/^week  1  2023-12-01 ~ 2023-12-07  █{10} {10}  20$/);
    expect(lines[2]).toMatch(/^week  2  2023-12-08 ~ 2023-12-14  █{3} {17}  5$/);
    expect(lines[13]).toMatch(/^week 13  2024-02-23 ~ 2024-02-29  █{20}  40$/);
  });

  it('an empty season draws empty bars, not a division by zero', () => {
    const lines = seasonChart(days, {}, 10).split('\n');
    expect(lines[0]).toContain('(0 in the season)');
    expect(lines.slice(1).every((l) => / {10}  0$/.test(l))).toBe(true);
  });
});
