import { randomUUID } from 'node:crypto';
import { systemClock } from '../clock.ts';
import { LOCK_WAIT_MS } from '../leases.ts';
import type { Actor, DecisionChange, ProviderProfile, StoredDecision } from '../model.ts';
import { isPeriodClosed, requireThreshold, type Campaign, type ThresholdedCampaign } from '../rules/campaign.ts';
import { decide } from '../rules/rules.ts';
import { parseInstant, toUtcIso } from '../rules/time.ts';
import { retry, type Attempt, type RetryPolicy } from '../retry.ts';
import { uses, type Needs } from '../store/access.ts';
import { AGGREGATES_ACCESS, type LockHolder } from '../store/aggregates.ts';
import { DECISIONS_ACCESS } from '../store/decisions.ts';
import { mapLimit } from '../limit.ts';
import { SOURCE_ACCESS } from '../store/source.ts';
import { aggregate, AGGREGATE_AGGREGATES, AGGREGATE_SOURCE, type AggregateResult } from './aggregate.ts';
import { LockBusyError } from './run-lock.ts';

/**
 * Period-end evaluation (RULES.md 2.2.3, 3): decides retained / revoked / not_assessed for every
 * provider from the aggregates (one item per provider, never the orders), and records each decision
 * with its evidence. Run after the close it is final; before (by the clock or `asOf`) a preview that
 * changes no status; as a dry run it writes nothing at all. A final re-run that reaches the same
 * decisions adds nothing; a changed decision becomes the next revision, the earlier ones kept.
 */

/** What the evaluation uses of each store (its catch-up aggregation included): its IAM policy is derived from this. */
export const EVALUATE_SOURCE = uses(SOURCE_ACCESS, [...AGGREGATE_SOURCE.methods, 'providers']);
export const EVALUATE_AGGREGATES = uses(AGGREGATES_ACCESS, [...AGGREGATE_AGGREGATES.methods, 'providerTotals', 'providerTotalsOf', 'scratch']);
export const EVALUATE_DECISIONS = uses(DECISIONS_ACCESS, ['current', 'currentOf', 'putPreviews', 'logRun', 'addRevision', 'makeCurrent', 'revisions']);
export const EVALUATE_NEEDS = [EVALUATE_SOURCE, EVALUATE_AGGREGATES, EVALUATE_DECISIONS];

export interface EvaluateDeps {
  source: Needs<typeof EVALUATE_SOURCE>;
  aggregates: Needs<typeof EVALUATE_AGGREGATES>;
  decisions: Needs<typeof EVALUATE_DECISIONS>;
  now: () => Date;
  /** Hands the outcome mail over once final decisions are recorded. */
  requestOutcomeMail?: (campaignId: string) => Promise<void>;
  /**
   * Hands the public delisting notice over when a final revision changed its list (someone delisted,
   * reinstated, or delisted for other reasons); the publish function decides whether a new version is due.
   */
  requestPublication?: (campaignId: string) => Promise<void>;
  progress?: (done: number, total: number, phase: string) => void;
  /** Passed to the catch-up aggregation (see AggregateOptions). */
  overlapMs?: number;
  /** Who runs it, as an aggregation that finds the lock busy is told. */
  holder?: string;
  /** Told each time the catch-up finds the aggregation lock held, before it waits. */
  waiting?: (holder: LockHolder | undefined, waitedMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  /** How long the catch-up waits for a live holder before giving up with LockBusyError (default LOCK_WAIT_MS). */
  lockWaitMs?: number;
}

/**
 * The catch-up's wait for a held aggregation lock: it tries again when the holder's lease would end if
 * no heartbeat came, but at least every 2 s and at most every 15 s, for up to LOCK_WAIT_MS.
 */
export const LOCK_WAIT_RETRY: RetryPolicy = { attempts: Infinity, baseMs: 2_000, capMs: 15_000, jitter: 0, withinMs: LOCK_WAIT_MS };

export interface EvaluateRequest {
  /** The run's own threshold (OPS.md `--threshold`): wins over the campaign's and the deployment's. */
  thresholdOrders?: number;
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
  aggregation: AggregateResult;
  counts: { retained: number; revoked: number; not_assessed: number };
  revisionsCreated: number;
  unchanged: number;
  mailRequested: boolean;
  /** A final revision changed the public delisting list, and its publication was handed over. */
  publicationRequested: boolean;
  assessments: StoredDecision[];
}

/** Fields whose change makes a new revision; the rest (time, actor, daily split) is evidence. */
const DECISION_FIELDS = ['outcome', 'reasons', 'paidOrders', 'thresholdOrders', 'depositBalanceFen', 'depositRequiredFen', 'noticeDate', 'reapplyFrom', 'rulesVersion'] as const;

export async function evaluate(campaign: Campaign, deps: EvaluateDeps, req: EvaluateRequest): Promise<EvaluateResult> {
  // RULES.md "threshold": no threshold from the run, the campaign or the deployment refuses the run (MissingThresholdError).
  const c = requireThreshold(campaign, { run: req.thresholdOrders, deployment: req.deploymentThresholdOrders });
  const started = deps.now();
  const asOfMs = req.asOf !== undefined ? parseInstant(req.asOf)! : started.getTime();
  const mode: Mode = req.dryRun ? 'dry-run' : isPeriodClosed(c, asOfMs) ? 'final' : 'preview';
  const runId = randomUUID();

  // The aggregates must include everything ingested up to now. A dry run writes nothing, so it
  // catches up on a scratch view whose writes stay in memory.
  const aggregates = req.dryRun ? deps.aggregates.scratch() : deps.aggregates;
  const aggregation = await catchUp(c, { ...deps, aggregates });

  const [providers, totals] = await Promise.all([
    deps.source.providers(req.providerIds),
    req.providerIds ? aggregates.providerTotalsOf(c, req.providerIds) : aggregates.providerTotals(c),
  ]);
  const totalsOf = new Map(totals.map((t) => [t.providerId, t]));
  const decidedAt = started.toISOString();
  const asOf = toUtcIso(asOfMs);
  const fresh = providers.map((p) => decisionFor(c, p, totalsOf.get(p.providerId), { decidedAt, decidedBy: req.by, asOf, final: mode === 'final' }));

  let revisionsCreated = 0;
  let unchanged = 0;
  let listChanged = false;
  let assessments = fresh;
  if (mode === 'preview') await deps.decisions.putPreviews(fresh);
  if (mode === 'final') {
    const recorded = req.providerIds ? await deps.decisions.currentOf(c.campaignId, req.providerIds) : await deps.decisions.current(c.campaignId);
    const current = new Map(recorded.map((d) => [d.providerId, d]));
    let done = 0;
    assessments = await mapLimit(fresh, 16, async (d) => {
      const before = current.get(d.providerId);
      const recorded = await record(deps.decisions, d, before);
      if (recorded.created) {
        revisionsCreated++;
        // The public list shows revoked providers with their reasons (clause 3): it changed if this
        // revision or the one it replaces is a revocation.
        if (recorded.decision.outcome === 'revoked' || before?.outcome === 'revoked') listChanged = true;
      } else unchanged++;
      deps.progress?.(++done, fresh.length, 'decisions');
      return recorded.decision;
    });
  }
  const counts = { retained: 0, revoked: 0, not_assessed: 0 };
  for (const a of assessments) counts[a.outcome]++;
  if (mode !== 'dry-run') {
    await deps.decisions.logRun({
      runId,
      campaignId: c.campaignId,
      startedAt: decidedAt,
      asOf,
      by: req.by,
      mode,
      thresholdOrders: c.thresholdOrders,
      ...(req.providerIds ? { providerIds: req.providerIds } : {}),
      counts,
      revisionsCreated,
    });
  }
  let mailRequested = false;
  if (mode === 'final' && deps.requestOutcomeMail) {
    await deps.requestOutcomeMail(c.campaignId);
    mailRequested = true;
  }
  let publicationRequested = false;
  if (mode === 'final' && listChanged && deps.requestPublication) {
    await deps.requestPublication(c.campaignId);
    publicationRequested = true;
  }
  return { runId, campaignId: c.campaignId, mode, final: mode === 'final', asOf, thresholdOrders: c.thresholdOrders, aggregation, counts, revisionsCreated, unchanged, mailRequested, publicationRequested, assessments };
}

/**
 * Runs the aggregation to the present, waiting out a run that holds the lock: a live one finishes (its
 * heartbeat keeps the lease), a dead one's lease runs out within a minute. Says what it waits for.
 */
async function catchUp(c: Campaign, deps: EvaluateDeps): Promise<AggregateResult> {
  const started = deps.now().getTime();
  const policy = deps.lockWaitMs === undefined ? LOCK_WAIT_RETRY : { ...LOCK_WAIT_RETRY, withinMs: deps.lockWaitMs };
  type Done = Extract<AggregateResult, { status: 'done' }>;
  const run = async (): Promise<Attempt<Done, LockHolder | undefined>> => {
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
  if (!caughtUp.ok) throw new LockBusyError(caughtUp.last);
  return caughtUp.value;
}

function decisionFor(
  c: ThresholdedCampaign,
  p: ProviderProfile,
  totals: { paidOrders: number; depositBalanceFen: number; byDay: Record<string, number> } | undefined,
  meta: Pick<StoredDecision, 'decidedAt' | 'decidedBy' | 'asOf' | 'final'>,
): StoredDecision {
  const d = decide(c, {
    certifiedAtMs: Date.parse(p.certifiedAt),
    ...(p.regularizedAt ? { regularizedAtMs: Date.parse(p.regularizedAt) } : {}),
    paidOrders: totals?.paidOrders ?? 0,
    depositBalanceFen: totals?.depositBalanceFen ?? 0,
  });
  return {
    ...d,
    campaignId: c.campaignId,
    providerId: p.providerId,
    providerName: p.name,
    email: p.email,
    revision: 0,
    ...meta,
    ...(d.outcome !== 'not_assessed' ? { ordersByDay: totals?.byDay ?? {} } : {}),
  };
}

/**
 * Records a final decision against the current one: unchanged → nothing written, the recorded one
 * returned; changed → the next revision with what changed. A revoked provider keeps the notice date
 * of its first revocation: re-runs never move it.
 */
async function record(store: EvaluateDeps['decisions'], d: StoredDecision, current: StoredDecision | undefined): Promise<{ decision: StoredDecision; created: boolean }> {
  for (;;) {
    if (current && d.outcome === 'revoked' && current.outcome === 'revoked') {
      d = { ...d, noticeDate: current.noticeDate!, reapplyFrom: current.reapplyFrom! };
    }
    const changes = current ? diff(current, d) : [];
    if (current && changes.length === 0) return { decision: current, created: false };
    const next: StoredDecision = { ...d, revision: (current?.revision ?? 0) + 1, ...(current ? { changes } : {}) };
    if (await store.addRevision(next)) return { decision: next, created: true };
    // The revision exists: another run recorded it first, or a run died between the revision and the
    // current pointer. Make the latest revision current, then judge against it.
    const revisions = await store.revisions(d.campaignId, d.providerId);
    current = revisions.at(-1);
    if (current) await store.makeCurrent(current);
  }
}

function diff(a: StoredDecision, b: StoredDecision): DecisionChange[] {
  const out: DecisionChange[] = [];
  for (const f of DECISION_FIELDS) {
    if (JSON.stringify(a[f] ?? null) !== JSON.stringify(b[f] ?? null)) out.push({ field: f, from: a[f] ?? null, to: b[f] ?? null });
  }
  return out;
}
