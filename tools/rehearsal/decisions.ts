/**
 * The decisions check: the report's figures, provider by provider, against the season's own
 * expectation. A unit of its own, so that what the expectation is can change without touching the rest.
 */
import { withThreshold, type Campaign } from '#shared/rules/campaign.ts';
import { decide, eligibility } from '#shared/rules/rules.ts';
import type { Report } from '#shared/usecases/report.ts';
import type { RehearsalResult } from './result.ts';
import type { RehearsalSeason } from './season-feed.ts';

/** The report's figures against the season's own expectation, provider by provider. */
export function compareDecisions(c: Campaign, season: RehearsalSeason, report: Report | undefined, deployedThreshold: number | undefined): RehearsalResult['decisions'] {
  const threshold = season.thresholdOrders ?? deployedThreshold;
  const campaign = threshold !== undefined ? withThreshold(c, threshold) : c;
  const rows = report?.assessments ?? [];
  if (!season.expected) return { total: rows.length, mismatches: null, detail: [], ...(threshold !== undefined ? { thresholdOrders: threshold } : {}) };
  const detail: RehearsalResult['decisions']['detail'] = [];
  const byId = new Map(rows.map((r) => [r.providerId, r]));
  for (const [providerId, profile] of season.providers) {
    const row = byId.get(providerId);
    const exp = season.expected.get(providerId);
    const el = eligibility(campaign, { certifiedAtMs: Date.parse(profile.certifiedAt), ...(profile.regularizedAt ? { regularizedAtMs: Date.parse(profile.regularizedAt) } : {}) });
    const expected = el.assessed && exp
      ? decide(campaign, { certifiedAtMs: Date.parse(profile.certifiedAt), ...(profile.regularizedAt ? { regularizedAtMs: Date.parse(profile.regularizedAt) } : {}), paidOrders: exp.paidOrders, depositBalanceFen: exp.depositBalanceFen })
      : undefined;
    if (!row) {
      detail.push({ providerId, field: 'decision', expected: expected?.outcome ?? 'not_assessed', actual: null });
      continue;
    }
    const want = { outcome: expected?.outcome ?? 'not_assessed', ...(expected ? { paidOrders: exp!.paidOrders, depositBalanceFen: exp!.depositBalanceFen } : {}) };
    for (const [field, value] of Object.entries(want)) {
      const actual = (row as unknown as Record<string, unknown>)[field];
      if (actual !== value) detail.push({ providerId, field, expected: value, actual });
    }
  }
  return { total: rows.length, mismatches: detail.length, detail, ...(threshold !== undefined ? { thresholdOrders: threshold } : {}) };
}

