import { randomUUID } from 'node:crypto';
import { systemClock } from '../clock.ts';
import { FANOUT } from '../config.ts';
import { LOCK_WAIT_MS } from '../leases.ts';
import type { ThresholdSource } from '../model.ts';
import { isPeriodClosed, requireThreshold, resolveThreshold, type Campaign } from '../rules/campaign.ts';
import { parseInstant, toUtcIso } from '../rules/time.ts';
import { retry, type Attempt, type RetryPolicy } from '../retry.ts';
import type { FencingToken, LockHolder } from '../store/aggregates.ts';
import { byKey } from '../store/source.ts';
import { aggregate } from './aggregate.ts';
import { UnknownProvidersError } from './evaluate-errors.ts';
import { assess, type CaughtUp, type EvaluateContext, type EvaluateShard } from './evaluate-shard.ts';
import { thresholdGuard } from './evaluate-threshold.ts';
import type { EvaluateDeps, EvaluateRequest, Mode } from './evaluate.ts';

/**
 * The evaluation's plan (plan → shards → finish, shared/usecases/fanout.ts). It resolves once what
 * every shard must agree on: the threshold and where it came from, `asOf` and the mode, the guard on
 * a decided threshold. It runs the catch-up aggregation, whose run lock and fencing token are the
 * run's: every decision the shards record carries that token, so a shard that outlived its run has
 * its revision refused on top of a newer run's. Then it cuts the providers into shards of at most
 * `providersShardSize`: id ranges of the `providers` index (plan reads ids, not profiles), or index
 * ranges of the chosen ids.
 */

export type EvaluatePlan =
  { status: 'planned'; runId: string; fence: FencingToken; campaignId: string; shards: { shard: EvaluateShard }[]; context: EvaluateContext } | { status: 'busy'; holder: LockHolder | undefined };

/**
 * The catch-up's wait for a held aggregation lock: it tries again when the holder's lease would end if
 * no heartbeat came, but at least every 2 s and at most every 15 s, for up to LOCK_WAIT_MS.
 */
export const LOCK_WAIT_RETRY: RetryPolicy = { attempts: Infinity, baseMs: 2_000, capMs: 15_000, jitter: 0, withinMs: LOCK_WAIT_MS };

export interface PlanOptions {
  /** Providers per decision shard (default FANOUT.providersShardSize). */
  providersShardSize?: number;
}

/**
 * Plans a run: `busy` when the aggregation lock stayed held past the wait (nothing was done). Chosen
 * providers that no event recorded are refused before anything runs (UnknownProvidersError), and so
 * is an unstated change of a decided threshold (ThresholdChangeError, with what it would change).
 */
export async function planEvaluation(campaign: Campaign, deps: EvaluateDeps, req: EvaluateRequest, opts: PlanOptions = {}): Promise<EvaluatePlan> {
  // RULES.md "threshold": the run's own, else the campaign file's, else the deployment's; none refuses the run (MissingThresholdError).
  const given = { run: req.thresholdOrders, deployment: req.deploymentThresholdOrders };
  const c = requireThreshold(campaign, given);
  const thresholdSource: ThresholdSource = resolveThreshold(campaign, given)!.source;
  const started = deps.now();
  const asOfMs = req.asOf !== undefined ? parseInstant(req.asOf)! : started.getTime();
  const mode: Mode = req.dryRun ? 'dry-run' : isPeriodClosed(c, asOfMs) ? 'final' : 'preview';
  const runId = randomUUID();

  // Chosen providers must exist: an empty result for a mistyped id would look like a run that worked.
  const chosen = req.providerIds ? [...new Set(req.providerIds)].sort(byKey) : undefined;
  if (chosen) {
    const known = new Set((await deps.source.profilesOf(chosen)).map((p) => p.providerId));
    const unknown = [...new Set(req.providerIds!.filter((id) => !known.has(id)))];
    if (unknown.length) throw new UnknownProvidersError(unknown);
  }
  const caught = await catchUp(c, deps);
  if ('busy' in caught) return { status: 'busy', holder: caught.busy };
  const aggregation = caught.done;

  const size = opts.providersShardSize ?? FANOUT.providersShardSize;
  const ids = chosen ?? (await deps.source.providerIds());
  const shards: EvaluateShard[] = [];
  for (let i = 0; i < ids.length; i += size) {
    shards.push(chosen ? { kind: 'chosen', from: i, to: Math.min(i + size, ids.length) } : { kind: 'range', first: ids[i]!, last: ids[Math.min(i + size, ids.length) - 1]! });
  }
  const context: EvaluateContext = {
    mode,
    asOf: toUtcIso(asOfMs),
    decidedAt: started.toISOString(),
    by: req.by,
    thresholdOrders: c.thresholdOrders,
    thresholdSource,
    ...(chosen ? { providerIds: chosen } : {}),
    aggregation,
    providers: ids.length,
    providersRead: chosen?.length ?? 0,
  };
  if (mode === 'final') {
    // A decided threshold changes only when the run says so (OPS.md, "Changing a decided threshold"):
    // checked against every current decision of the run before any shard writes.
    const recorded = chosen ? await deps.decisions.currentOf(c.campaignId, chosen) : await deps.decisions.current(c.campaignId);
    const current = new Map(recorded.map((d) => [d.providerId, d]));
    const everyone = async () => assess(c, deps, chosen ? await deps.source.profilesOf(chosen) : await deps.source.providers(), context);
    const change = await thresholdGuard(c, thresholdSource, everyone, current, req, { runId, at: context.decidedAt });
    if (change) context.thresholdChange = change;
  }
  return { status: 'planned', runId, fence: aggregation.fence, campaignId: c.campaignId, shards: shards.map((shard) => ({ shard })), context };
}

/**
 * Runs the aggregation to the present, waiting out a run that holds the lock: a live one finishes (its
 * heartbeat keeps the lease), a dead one's lease runs out within a minute. Says what it waits for.
 */
async function catchUp(c: Campaign, deps: EvaluateDeps): Promise<{ done: CaughtUp } | { busy: LockHolder | undefined }> {
  const started = deps.now().getTime();
  const policy = deps.lockWaitMs === undefined ? LOCK_WAIT_RETRY : { ...LOCK_WAIT_RETRY, withinMs: deps.lockWaitMs };
  const run = async (): Promise<Attempt<CaughtUp, LockHolder | undefined>> => {
    const r = await aggregate(
      c,
      { source: deps.source, aggregates: deps.aggregates, now: deps.now, ...(deps.progress ? { progress: deps.progress } : {}), ...(deps.holder ? { holder: deps.holder } : {}) },
      deps.overlapMs !== undefined ? { overlapMs: deps.overlapMs } : {},
    );
    if (r.status === 'done') return { done: r };
    // Worth trying again when the holder's lease would end if no heartbeat came.
    const leaseLeft = r.holder ? Date.parse(r.holder.leaseUntil) - deps.now().getTime() : 0;
    return { again: r.holder, afterMs: leaseLeft + 100 };
  };
  const caughtUp = await retry(policy, run, {
    now: deps.now,
    sleep: deps.sleep ?? systemClock.sleep,
    onWait: (holder) => deps.waiting?.(holder, deps.now().getTime() - started),
  });
  return caughtUp.ok ? { done: caughtUp.value } : { busy: caughtUp.last };
}
