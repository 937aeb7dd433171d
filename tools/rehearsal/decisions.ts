/**
 * The decisions check: the report's figures, provider by provider, against the season's own
 * expectation. A unit of its own, so that what the expectation is can change without touching the rest.
 */
import type { Report } from '#shared/usecases/report.ts';
import type { RehearsalResult } from './result.ts';
import type { RehearsalSeason } from './season-feed.ts';

/**
 * The report's decisions against the season's expectation, provider by provider: the demo season's
 * plan (outcome, reasons, and for assessed providers the figures). The expectation is data the season
 * brings, never computed here with the rules module, so a wrong rule shows up as a difference (and so
 * does a deployment configured with another threshold than the season's).
 */
export function compareDecisions(season: RehearsalSeason, report: Report | undefined, deployedThreshold: number | undefined): RehearsalResult['decisions'] {
  const threshold = season.thresholdOrders ?? deployedThreshold;
  const rows = report?.assessments ?? [];
  if (!season.expected) return { total: rows.length, mismatches: null, detail: [], ...(threshold !== undefined ? { thresholdOrders: threshold } : {}) };
  const detail: RehearsalResult['decisions']['detail'] = [];
  const byId = new Map(rows.map((r) => [r.providerId, r]));
  for (const providerId of season.providers.keys()) {
    const row = byId.get(providerId);
    const exp = season.expected.get(providerId);
    const outcome = exp?.outcome ?? 'not_assessed';
    if (!row) {
      detail.push({ providerId, field: 'decision', expected: outcome, actual: null });
      continue;
    }
    const want = { outcome, reasons: (exp?.reasons ?? []).join('+'), ...(outcome !== 'not_assessed' ? { paidOrders: exp!.paidOrders, depositBalanceFen: exp!.depositBalanceFen } : {}) };
    const got: Record<string, unknown> = { outcome: row.outcome, reasons: row.reasons.join('+'), paidOrders: row.paidOrders, depositBalanceFen: row.depositBalanceFen };
    for (const [field, value] of Object.entries(want)) if (got[field] !== value) detail.push({ providerId, field, expected: value, actual: got[field] });
  }
  return { total: rows.length, mismatches: detail.length, detail, ...(threshold !== undefined ? { thresholdOrders: threshold } : {}) };
}
