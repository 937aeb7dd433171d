import type { StoredDecision, ThresholdChange, ThresholdSource } from '../model.ts';
import type { ThresholdedCampaign } from '../rules/campaign.ts';
import { ThresholdChangeError, thresholdSourceText, type ThresholdChangePreview } from './evaluate-errors.ts';
import { diff } from './evaluate-shard.ts';
import type { EvaluateRequest } from './evaluate.ts';

/**
 * The guard on a decided threshold (OPS.md, "Changing a decided threshold"), run by the evaluation's
 * plan before any shard writes: a final run whose threshold differs from that of the current final
 * decisions is refused with what it would change, unless it states exactly that change.
 */

/**
 * A final run whose threshold differs from that of the current final decisions it would replace is
 * refused, with what it would change, unless `changeThreshold` states exactly that change (from the
 * decided threshold to the run's). Returns the change to record. `fresh` (the run's decisions) is
 * asked for only to say what a refused change would do: a guard that lets the run through never
 * assesses anyone, so the plan stays one small step.
 */
export async function thresholdGuard(
  c: ThresholdedCampaign,
  source: ThresholdSource,
  fresh: () => Promise<readonly StoredDecision[]>,
  current: ReadonlyMap<string, StoredDecision>,
  req: Pick<EvaluateRequest, 'changeThreshold' | 'by'>,
  run: { runId: string; at: string },
): Promise<ThresholdChange | undefined> {
  const decided = [...new Set([...current.values()].flatMap((d) => (d.thresholdOrders !== undefined ? [d.thresholdOrders] : [])))].sort((a, b) => a - b);
  const differing = decided.filter((t) => t !== c.thresholdOrders);
  const ask = req.changeThreshold;
  if (!differing.length) {
    if (!ask) return undefined;
    throw new ThresholdChangeError(
      'changeThreshold',
      decided.length
        ? `nothing to change: the current final decisions of ${c.campaignId} already use thresholdOrders ${c.thresholdOrders}; run it without changeThreshold`
        : `nothing to change: ${c.campaignId} has no final decisions with a threshold yet; run it without changeThreshold`,
    );
  }
  const preview = wouldChange(c, source, decided, await fresh(), current);
  const what = `${summaryOf(preview)} Nothing was changed.`;
  const from = differing.length === 1 ? differing[0]! : undefined;
  const howTo =
    from !== undefined
      ? ` To make the change, state it: "changeThreshold": {"from": ${from}, "to": ${c.thresholdOrders}, "reason": "…"} (renewal evaluate --change-threshold ${from}:${c.thresholdOrders} --reason TEXT).`
      : '';
  const list = providerLines(preview);
  if (!ask) {
    throw new ThresholdChangeError(
      'changeThreshold',
      `is required: the current final decisions of ${c.campaignId} used thresholdOrders ${decided.join(', ')}; this run's is ${c.thresholdOrders} (${thresholdSourceText(source)}). ${what}${howTo}${list}`,
      preview,
    );
  }
  if (from === undefined) {
    throw new ThresholdChangeError(
      'changeThreshold.from',
      `the current final decisions of ${c.campaignId} used several thresholds (${decided.join(', ')}): change them one at a time, choosing the providers of each with providerIds. ${what}${list}`,
      preview,
    );
  }
  if (ask.from !== from) {
    throw new ThresholdChangeError('changeThreshold.from', `must be ${from}, the threshold of the current final decisions of ${c.campaignId}, got ${ask.from}. ${what}${list}`, preview);
  }
  if (ask.to !== c.thresholdOrders) {
    throw new ThresholdChangeError('changeThreshold.to', `must be ${c.thresholdOrders}, this run's threshold (${thresholdSourceText(source)}), got ${ask.to}. ${what}${list}`, preview);
  }
  return { from, to: c.thresholdOrders, reason: ask.reason, by: req.by, at: run.at, runId: run.runId };
}

const sameTold = (a: StoredDecision, b: StoredDecision) => a.outcome === b.outcome && JSON.stringify(a.reasons) === JSON.stringify(b.reasons);

/** What the fresh decisions would change against the current ones (only providers that have one). */
function wouldChange(c: ThresholdedCampaign, source: ThresholdSource, decided: number[], fresh: readonly StoredDecision[], current: ReadonlyMap<string, StoredDecision>): ThresholdChangePreview {
  const p: ThresholdChangePreview = {
    campaignId: c.campaignId,
    decided,
    to: c.thresholdOrders,
    source,
    providers: [],
    outcomes: 0,
    revocations: 0,
    reinstatements: 0,
    noticeEntries: 0,
    figuresOnly: 0,
  };
  for (const d of fresh) {
    const before = current.get(d.providerId);
    if (!before) continue;
    if (sameTold(before, d)) {
      if (diff(before, d).length) p.figuresOnly++;
      continue;
    }
    p.providers.push({
      providerId: d.providerId,
      providerName: d.providerName,
      from: { outcome: before.outcome, reasons: [...before.reasons] },
      to: { outcome: d.outcome, reasons: [...d.reasons], ...(d.paidOrders !== undefined ? { paidOrders: d.paidOrders } : {}) },
    });
    if (before.outcome !== d.outcome) p.outcomes++;
    if (d.outcome === 'revoked' && before.outcome !== 'revoked') p.revocations++;
    if (before.outcome === 'revoked' && d.outcome !== 'revoked') p.reinstatements++;
    if (d.outcome === 'revoked' || before.outcome === 'revoked') p.noticeEntries++;
  }
  return p;
}

/** The preview's counts in one sentence. */
export function summaryOf(p: ThresholdChangePreview): string {
  return `It would change ${p.outcomes} outcome(s) (${p.revocations} revoked, ${p.reinstatements} reinstated), ${p.providers.length - p.outcomes} provider(s)' reasons, ${p.noticeEntries} entr(ies) of the public notice, and ${p.figuresOnly} decision(s) in figures only (no mail).`;
}

const LISTED = 20;
function providerLines(p: ThresholdChangePreview): string {
  if (!p.providers.length) return '';
  const lines = p.providers
    .slice(0, LISTED)
    .map(
      (x) => `\n  ${x.providerId}: ${x.from.outcome}${x.from.reasons.length ? ` (${x.from.reasons.join(', ')})` : ''} -> ${x.to.outcome}${x.to.reasons.length ? ` (${x.to.reasons.join(', ')})` : ''}`,
    );
  return `${lines.join('')}${p.providers.length > LISTED ? `\n  … and ${p.providers.length - LISTED} more` : ''}`;
}
