import { FANOUT } from '../config.ts';
import type { Actor, StoredDecision, ThresholdChange, ThresholdSource } from '../model.ts';
import type { Campaign } from '../rules/campaign.ts';
import { uses, type Needs } from '../store/access.ts';
import { AGGREGATES_ACCESS, type LockHolder } from '../store/aggregates.ts';
import { DECISIONS_ACCESS } from '../store/decisions.ts';
import { mapLimit } from '../limit.ts';
import { SOURCE_ACCESS } from '../store/source.ts';
import { AGGREGATE_AGGREGATES, AGGREGATE_SOURCE, type AggregateResult } from './aggregate.ts';
import { EvaluateStepError, type EvaluateStep } from './evaluate-errors.ts';
import { planEvaluation } from './evaluate-plan.ts';
import { evaluateShard, type EvaluateContext, type EvaluateShardResult } from './evaluate-shard.ts';
import { LockBusyError } from './run-lock.ts';

export { EvaluateInputError, EvaluateStepError, ThresholdChangeError, UnknownProvidersError, thresholdSourceText, type EvaluateStep, type ThresholdChangePreview } from './evaluate-errors.ts';
export { summaryOf } from './evaluate-threshold.ts';
export { LOCK_WAIT_RETRY, planEvaluation, type EvaluatePlan } from './evaluate-plan.ts';
export { evaluateShard, type EvaluateContext, type EvaluateShard, type EvaluateShardResult } from './evaluate-shard.ts';

/**
 * Period-end evaluation (RULES.md 2.2.3, 3): decides retained / revoked / not_assessed for every
 * provider from the aggregates (one item per provider, never the orders), and records each decision
 * with its evidence. Run after the close it is final; before (by the clock or `asOf`) a preview that
 * changes no status; as a dry run it writes nothing at all. A final re-run that reaches the same
 * decisions adds nothing; a changed decision becomes the next revision, the earlier ones kept.
 *
 * Past one invocation: a run is plan → shards → finish (evaluate-plan.ts, evaluate-shard.ts, and
 * `finishEvaluation` here), one step per invocation when a state machine runs it
 * (shared/usecases/fanout.ts `evaluationStep`), all three in this process with bounded concurrency
 * here: one code path.
 */

/** What the evaluation uses of each store (its catch-up aggregation included): its IAM policy is derived from this. */
export const EVALUATE_SOURCE = uses(SOURCE_ACCESS, [...AGGREGATE_SOURCE.methods, 'providers', 'providerIds', 'providersBetween', 'profilesOf']);
export const EVALUATE_AGGREGATES = uses(AGGREGATES_ACCESS, [...AGGREGATE_AGGREGATES.methods, 'providerTotalsOf', 'scratch']);
export const EVALUATE_DECISIONS = uses(DECISIONS_ACCESS, ['current', 'currentOf', 'putPreviews', 'logRun', 'addRevision', 'makeCurrent', 'revisions']);
export const EVALUATE_NEEDS = [EVALUATE_SOURCE, EVALUATE_AGGREGATES, EVALUATE_DECISIONS];

export interface EvaluateDeps {
  source: Needs<typeof EVALUATE_SOURCE>;
  aggregates: Needs<typeof EVALUATE_AGGREGATES>;
  decisions: Needs<typeof EVALUATE_DECISIONS>;
  now: () => Date;
  /** Hands the outcome mail over once final decisions are recorded; may say what it did (`sent 40`). */
  requestOutcomeMail?: (campaignId: string) => Promise<string | void>;
  /**
   * Hands the public delisting notice over when a final revision changed its list (someone delisted,
   * reinstated, or delisted for other reasons); the publish function decides whether a new version is due.
   */
  requestPublication?: (campaignId: string) => Promise<string | void>;
  progress?: (done: number, total: number, phase: string) => void;
  /** Passed to the catch-up aggregation (see AggregateOptions). */
  overlapMs?: number;
  /** Who runs it, as an aggregation that finds the lock busy is told. */
  holder?: string;
  /**
   * Every campaign the deployment knows (the campaign registry). Those whose notice date lies before
   * this campaign's certification cut are read for their revocations (RULES.md "Seasons after the
   * first"); without it the campaign is judged as if it were the first.
   */
  campaigns?: () => readonly Campaign[];
  /** Told each time the catch-up finds the aggregation lock held, before it waits. */
  waiting?: (holder: LockHolder | undefined, waitedMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  /** How long the catch-up waits for a live holder before giving up with LockBusyError (default LOCK_WAIT_MS). */
  lockWaitMs?: number;
}

export interface EvaluateRequest {
  /** The run's own threshold (OPS.md `--threshold`): wins over the campaign's and the deployment's. */
  thresholdOrders?: number;
  /**
   * The explicit change of a decided threshold (OPS.md, "Changing a decided threshold"): required
   * when a final run's threshold differs from that of the current final decisions it would replace.
   */
  changeThreshold?: { from: number; to: number; reason: string };
  /** The deployment's THRESHOLD_ORDERS: stands in for a campaign file that leaves the threshold null. */
  deploymentThresholdOrders?: number;
  providerIds?: string[];
  dryRun?: boolean;
  asOf?: string;
  by: Actor;
}

export type Mode = 'final' | 'preview' | 'dry-run';

export interface EvaluateResult {
  runId: string;
  campaignId: string;
  mode: Mode;
  final: boolean;
  asOf: string;
  thresholdOrders: number;
  thresholdSource: ThresholdSource;
  /** The change of the decided threshold this run made, recorded with its revisions and its run. */
  thresholdChange?: ThresholdChange;
  aggregation: AggregateResult;
  counts: { retained: number; revoked: number; not_assessed: number };
  revisionsCreated: number;
  /** Of `revisionsCreated`, those that changed only figures: recorded, no mail (RULES.md, "correction mail"). */
  figuresOnly: number;
  unchanged: number;
  mailRequested: boolean;
  /** A final revision changed the public delisting list, and its publication was handed over. */
  publicationRequested: boolean;
  /** Decision shards the run was cut into. */
  shards: number;
  /** The most providers any one step of the run read the profiles of (a shard, or plan's check of chosen ones). */
  maxProvidersPerInvocation: number;
  /** In-process, every decision; a state machine's finish leaves them out (they grow with providers). */
  assessments: StoredDecision[];
}

/** How the in-process run fans out. */
export interface EvaluateOptions {
  /** Providers per decision shard (default FANOUT.providersShardSize). */
  providersShardSize?: number;
  /** Shards decided at once (default 4). */
  concurrency?: number;
}

/** The whole evaluation in this process: plan → shards → finish, the steps a state machine runs one per invocation. */
export async function evaluate(campaign: Campaign, deps: EvaluateDeps, req: EvaluateRequest, opts: EvaluateOptions = {}): Promise<EvaluateResult> {
  // The aggregates must include everything ingested up to now. A dry run writes nothing, so it
  // catches up on a scratch view whose writes stay in memory (one process: its shards see them).
  const run = req.dryRun ? { ...deps, aggregates: deps.aggregates.scratch() } : deps;
  const plan = await planEvaluation(campaign, run, req, { providersShardSize: opts.providersShardSize ?? FANOUT.providersShardSize });
  if (plan.status === 'busy') throw new LockBusyError(plan.holder);
  let done = 0;
  const decided = () => deps.progress?.(++done, plan.context.providers, 'decisions');
  const shards = await mapLimit(plan.shards, opts.concurrency ?? 4, ({ shard }) => evaluateShard(campaign, { ...run, decided }, { fence: plan.fence, shard, context: plan.context }));
  const assessments = shards.flatMap((s) => s.assessments).sort((a, b) => a.providerId.localeCompare(b.providerId));
  return finishEvaluation(campaign, deps, { runId: plan.runId, results: shards, context: plan.context }, assessments);
}

/**
 * Finish: sums what the shards decided, logs the run (not a dry run), and for a final run hands the
 * outcome mail over, then the public notice when a revision changed its list. The run's fence
 * travelled with its shards' decisions; nothing here writes a decision.
 */
export async function finishEvaluation(
  c: Campaign,
  deps: EvaluateDeps,
  step: { runId: string; results: readonly EvaluateShardResult[]; context: EvaluateContext },
  assessments: StoredDecision[] = [],
): Promise<EvaluateResult> {
  const { context: ctx, runId } = step;
  const sum = (k: keyof EvaluateShardResult['counted']) => step.results.reduce((n, r) => n + r.counted[k], 0);
  const counts = { retained: sum('retained'), revoked: sum('revoked'), not_assessed: sum('not_assessed') };
  const revisionsCreated = sum('revisionsCreated');
  const figuresOnly = sum('figuresOnly');
  const { thresholdChange } = ctx;
  if (ctx.mode !== 'dry-run') {
    await deps.decisions.logRun({
      runId,
      campaignId: c.campaignId,
      startedAt: ctx.decidedAt,
      asOf: ctx.asOf,
      by: ctx.by,
      mode: ctx.mode,
      thresholdOrders: ctx.thresholdOrders,
      thresholdSource: ctx.thresholdSource,
      ...(thresholdChange ? { thresholdChange } : {}),
      ...(ctx.providerIds ? { providerIds: ctx.providerIds } : {}),
      counts,
      revisionsCreated,
      figuresOnly,
    });
  }
  const result: EvaluateResult = {
    runId,
    campaignId: c.campaignId,
    mode: ctx.mode,
    final: ctx.mode === 'final',
    asOf: ctx.asOf,
    thresholdOrders: ctx.thresholdOrders,
    thresholdSource: ctx.thresholdSource,
    ...(thresholdChange ? { thresholdChange } : {}),
    aggregation: ctx.aggregation,
    counts,
    revisionsCreated,
    figuresOnly,
    unchanged: sum('unchanged'),
    mailRequested: false,
    publicationRequested: false,
    shards: step.results.length,
    maxProvidersPerInvocation: Math.max(ctx.providersRead, ...step.results.map((r) => r.counted.providers)),
    assessments,
  };
  if (ctx.mode === 'final')
    await handOver(
      result,
      step.results.some((r) => r.listChanged),
      deps,
    );
  return result;
}

/**
 * The steps after the decisions: the outcome mail, then (when the list changed) the public notice.
 * The first that fails stops the rest (fail fast) with an EvaluateStepError that says what is done,
 * what is not, and what to run next; every step is safe to run again.
 */
async function handOver(result: EvaluateResult, listChanged: boolean, deps: EvaluateDeps): Promise<void> {
  const id = result.campaignId;
  const steps: EvaluateStep[] = [{ step: 'decisions', status: 'done', detail: `decisions recorded (${result.revisionsCreated} new revision(s), ${result.unchanged} unchanged; run ${result.runId})` }];
  const todo: { step: EvaluateStep['step']; run?: (id: string) => Promise<string | void>; what: string; next: string; mark: () => void }[] = [
    { step: 'mail', run: deps.requestOutcomeMail, what: 'outcome mail', next: `renewal notify --campaign ${id}`, mark: () => (result.mailRequested = true) },
    ...(listChanged
      ? [{ step: 'notice' as const, run: deps.requestPublication, what: 'public notice', next: `renewal publish --campaign ${id}`, mark: () => (result.publicationRequested = true) }]
      : []),
  ];
  for (const [i, t] of todo.entries()) {
    if (!t.run) continue;
    try {
      const said = await t.run(id);
      t.mark();
      steps.push({ step: t.step, status: 'done', detail: `${t.what} ${said || 'handed over'}` });
    } catch (err) {
      const rest = todo.slice(i + 1).filter((r) => r.run);
      steps.push({ step: t.step, status: 'failed', detail: `${t.what} NOT done: ${(err as Error).message ?? String(err)}` });
      for (const r of rest) steps.push({ step: r.step, status: 'not_run', detail: `${r.what} NOT done (not started)` });
      throw new EvaluateStepError(
        result,
        steps,
        [t, ...rest].map((r) => r.next),
        err,
      );
    }
  }
}
