import { randomUUID } from 'node:crypto';
import { systemClock } from '../clock.ts';
import { LOCK_WAIT_MS } from '../leases.ts';
import type { Actor, DecisionChange, StoredDecision, ThresholdChange, ThresholdSource } from '../model.ts';
import { isPeriodClosed, requireThreshold, resolveThreshold, type Campaign, type ThresholdedCampaign } from '../rules/campaign.ts';
import { decide } from '../rules/rules.ts';
import { seasonEligibility, type Revocation } from '../rules/seasons.ts';
import { earlierRevocations, profileVersions } from './seasons.ts';
import { parseInstant, toUtcIso } from '../rules/time.ts';
import { retry, type Attempt, type RetryPolicy } from '../retry.ts';
import { uses, type Needs } from '../store/access.ts';
import { AGGREGATES_ACCESS, type LockHolder } from '../store/aggregates.ts';
import { DECISIONS_ACCESS } from '../store/decisions.ts';
import { mapLimit } from '../limit.ts';
import { SOURCE_ACCESS, type StoredProfile } from '../store/source.ts';
import { aggregate, AGGREGATE_AGGREGATES, AGGREGATE_SOURCE, type AggregateResult } from './aggregate.ts';
import { LockBusyError, LockLostError } from './run-lock.ts';

/**
 * Period-end evaluation (RULES.md 2.2.3, 3): decides retained / revoked / not_assessed for every
 * provider from the aggregates (one item per provider, never the orders), and records each decision
 * with its evidence. Run after the close it is final; before (by the clock or `asOf`) a preview that
 * changes no status; as a dry run it writes nothing at all. A final re-run that reaches the same
 * decisions adds nothing; a changed decision becomes the next revision, the earlier ones kept.
 */

/** What the evaluation uses of each store (its catch-up aggregation included): its IAM policy is derived from this. */
export const EVALUATE_SOURCE = uses(SOURCE_ACCESS, [...AGGREGATE_SOURCE.methods, 'providers', 'profilesOf']);
export const EVALUATE_AGGREGATES = uses(AGGREGATES_ACCESS, [...AGGREGATE_AGGREGATES.methods, 'providerTotals', 'providerTotalsOf', 'scratch']);
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

/**
 * The catch-up's wait for a held aggregation lock: it tries again when the holder's lease would end if
 * no heartbeat came, but at least every 2 s and at most every 15 s, for up to LOCK_WAIT_MS.
 */
export const LOCK_WAIT_RETRY: RetryPolicy = { attempts: Infinity, baseMs: 2_000, capMs: 15_000, jitter: 0, withinMs: LOCK_WAIT_MS };

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
  assessments: StoredDecision[];
}

/** Fields whose change makes a new revision; the rest (time, actor, daily split) is evidence. */
const DECISION_FIELDS = ['outcome', 'reasons', 'paidOrders', 'thresholdOrders', 'depositBalanceFen', 'depositRequiredFen', 'noticeDate', 'reapplyFrom', 'rulesVersion'] as const;

export async function evaluate(campaign: Campaign, deps: EvaluateDeps, req: EvaluateRequest): Promise<EvaluateResult> {
  // RULES.md "threshold": the run's own, else the campaign file's, else the deployment's; none refuses the run (MissingThresholdError).
  const given = { run: req.thresholdOrders, deployment: req.deploymentThresholdOrders };
  const c = requireThreshold(campaign, given);
  const thresholdSource: ThresholdSource = resolveThreshold(campaign, given)!.source;
  const started = deps.now();
  const asOfMs = req.asOf !== undefined ? parseInstant(req.asOf)! : started.getTime();
  const mode: Mode = req.dryRun ? 'dry-run' : isPeriodClosed(c, asOfMs) ? 'final' : 'preview';
  const runId = randomUUID();

  // The aggregates must include everything ingested up to now. A dry run writes nothing, so it
  // catches up on a scratch view whose writes stay in memory.
  const aggregates = req.dryRun ? deps.aggregates.scratch() : deps.aggregates;
  // Chosen providers must exist: an empty result for a mistyped id would look like a run that worked.
  const chosen = req.providerIds ? await deps.source.profilesOf(req.providerIds) : undefined;
  if (req.providerIds) {
    const known = new Set(chosen!.map((p) => p.providerId));
    const unknown = [...new Set(req.providerIds.filter((id) => !known.has(id)))];
    if (unknown.length) throw new UnknownProvidersError(unknown);
  }
  const aggregation = await catchUp(c, { ...deps, aggregates });

  const [providers, totals, revoked] = await Promise.all([
    chosen ?? deps.source.providers(),
    req.providerIds ? aggregates.providerTotalsOf(c, req.providerIds) : aggregates.providerTotals(c),
    earlierRevocations(c, deps.campaigns?.() ?? [], deps.decisions, req.providerIds),
  ]);
  const totalsOf = new Map(totals.map((t) => [t.providerId, t]));
  const decidedAt = started.toISOString();
  const asOf = toUtcIso(asOfMs);
  const fresh = providers.map((p) => decisionFor(c, p, revoked.get(p.providerId) ?? [], totalsOf.get(p.providerId), { decidedAt, decidedBy: req.by, asOf, final: mode === 'final' }));

  let revisionsCreated = 0;
  let figuresOnly = 0;
  let unchanged = 0;
  let listChanged = false;
  let assessments = fresh;
  let thresholdChange: ThresholdChange | undefined;
  if (mode === 'preview') await deps.decisions.putPreviews(fresh);
  if (mode === 'final') {
    const recorded = req.providerIds ? await deps.decisions.currentOf(c.campaignId, req.providerIds) : await deps.decisions.current(c.campaignId);
    const current = new Map(recorded.map((d) => [d.providerId, d]));
    // A decided threshold changes only when the run says so (OPS.md, "Changing a decided threshold").
    thresholdChange = thresholdGuard(c, thresholdSource, fresh, current, req, { runId, at: decidedAt });
    let done = 0;
    assessments = await mapLimit(fresh, 16, async (d) => {
      const before = current.get(d.providerId);
      const recorded = await record(deps.decisions, thresholdChange ? { ...d, thresholdChange } : d, before, aggregation.status === 'done' ? aggregation.fence : 0);
      if (recorded.created) {
        revisionsCreated++;
        if (recorded.decision.mailRevision !== undefined) figuresOnly++;
        // The public list shows revoked providers with their reasons (clause 3): it changed if this
        // revision or the one it replaces is a revocation, and more than figures changed.
        else if (recorded.decision.outcome === 'revoked' || before?.outcome === 'revoked') listChanged = true;
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
      thresholdSource,
      ...(thresholdChange ? { thresholdChange } : {}),
      ...(req.providerIds ? { providerIds: req.providerIds } : {}),
      counts,
      revisionsCreated,
      figuresOnly,
    });
  }
  const result: EvaluateResult = {
    runId,
    campaignId: c.campaignId,
    mode,
    final: mode === 'final',
    asOf,
    thresholdOrders: c.thresholdOrders,
    thresholdSource,
    ...(thresholdChange ? { thresholdChange } : {}),
    aggregation,
    counts,
    revisionsCreated,
    figuresOnly,
    unchanged,
    mailRequested: false,
    publicationRequested: false,
    assessments,
  };
  if (mode === 'final') await handOver(result, listChanged, deps);
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

/** One step of a final evaluation, as a failure reports it. */
export interface EvaluateStep {
  step: 'decisions' | 'mail' | 'notice';
  status: 'done' | 'failed' | 'not_run';
  detail: string;
}

/**
 * A later step of a final evaluation failed (the decisions are recorded): which steps are done,
 * which are not, and the commands that finish the work. Its message says all of it in one line.
 */
export class EvaluateStepError extends Error {
  override name = 'EvaluateStepError';
  constructor(
    readonly result: EvaluateResult,
    readonly steps: EvaluateStep[],
    readonly next: string[],
    cause: unknown,
  ) {
    super(`${steps.map((s) => s.detail).join(', ')}; run ${next.map((n) => `\`${n}\``).join(', then ')}`, { cause });
  }
}

/** Bad input the evaluation finds only against the stores; its message starts with the payload field. */
export class EvaluateInputError extends Error {
  override name = 'EvaluateInputError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** `providerIds` named providers that no event ever recorded. */
export class UnknownProvidersError extends EvaluateInputError {
  override name = 'UnknownProvidersError';
  constructor(readonly unknown: string[]) {
    super(
      'providerIds',
      `unknown provider(s) ${unknown.map((p) => JSON.stringify(p)).join(', ')}: no provider.upserted event was recorded for ${unknown.length > 1 ? 'them' : 'it'}; nothing was evaluated`,
    );
  }
}

/** What a change of the decided threshold would change, computed before anything is written. */
export interface ThresholdChangePreview {
  campaignId: string;
  /** The threshold(s) of the current final decisions the run would replace. */
  decided: number[];
  to: number;
  source: ThresholdSource;
  /** Providers whose outcome or reasons would change, with before and after. */
  providers: { providerId: string; providerName: string; from: { outcome: string; reasons: string[] }; to: { outcome: string; reasons: string[]; paidOrders?: number } }[];
  /** Providers whose outcome would change; of them, newly revoked and reinstated. */
  outcomes: number;
  revocations: number;
  reinstatements: number;
  /** Entries of the public delisting notice that would appear, go, or change reasons. */
  noticeEntries: number;
  /** Revisions that would change only figures (no mail). */
  figuresOnly: number;
}

/** A final run's threshold differs from the decided one and the change was not stated (or stated wrong). */
export class ThresholdChangeError extends EvaluateInputError {
  override name = 'ThresholdChangeError';
  constructor(
    field: string,
    message: string,
    readonly preview?: ThresholdChangePreview,
  ) {
    super(field, message);
  }
}

const SOURCE_TEXT: Record<ThresholdSource, string> = {
  run: "the run's thresholdOrders",
  deployment: "the deployment's THRESHOLD_ORDERS",
  campaign: "the campaign's thresholdOrders",
};

/** Where a threshold came from, in words. */
export const thresholdSourceText = (s: ThresholdSource) => SOURCE_TEXT[s];

/**
 * The guard on a decided threshold: a final run whose threshold differs from that of the current
 * final decisions it would replace is refused, with what it would change, unless `changeThreshold`
 * states exactly that change (from the decided threshold to the run's). Returns the change to record.
 */
function thresholdGuard(
  c: ThresholdedCampaign,
  source: ThresholdSource,
  fresh: readonly StoredDecision[],
  current: ReadonlyMap<string, StoredDecision>,
  req: EvaluateRequest,
  run: { runId: string; at: string },
): ThresholdChange | undefined {
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
  const preview = wouldChange(c, source, decided, fresh, current);
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
      `is required: the current final decisions of ${c.campaignId} used thresholdOrders ${decided.join(', ')}; this run's is ${c.thresholdOrders} (${SOURCE_TEXT[source]}). ${what}${howTo}${list}`,
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
    throw new ThresholdChangeError('changeThreshold.to', `must be ${c.thresholdOrders}, this run's threshold (${SOURCE_TEXT[source]}), got ${ask.to}. ${what}${list}`, preview);
  }
  return { from, to: c.thresholdOrders, reason: ask.reason, by: req.by, at: run.at, runId: run.runId };
}

const TOLD: readonly string[] = ['outcome', 'reasons'];
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
  p: StoredProfile,
  revocations: readonly Revocation[],
  totals: { paidOrders: number; depositBalanceFen: number; byDay: Record<string, number> } | undefined,
  meta: Pick<StoredDecision, 'decidedAt' | 'decidedBy' | 'asOf' | 'final'>,
): StoredDecision {
  // Scope and regularization across seasons: on the version carrying the certification in force.
  const season = seasonEligibility(c, profileVersions(p), revocations);
  const version = season.version ?? { certifiedAtMs: Date.parse(p.certifiedAt) };
  const d = decide(c, { ...version, paidOrders: totals?.paidOrders ?? 0, depositBalanceFen: totals?.depositBalanceFen ?? 0 }, season.eligibility);
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
 * of its first revocation: re-runs never move it. `fence` is the token of this run's catch-up
 * aggregation: a newer evaluation's revision (a higher token) stops this run (LockLostError).
 */
async function record(store: EvaluateDeps['decisions'], d: StoredDecision, current: StoredDecision | undefined, fence: number): Promise<{ decision: StoredDecision; created: boolean }> {
  for (;;) {
    if (current && d.outcome === 'revoked' && current.outcome === 'revoked') {
      d = { ...d, noticeDate: current.noticeDate!, reapplyFrom: current.reapplyFrom! };
    }
    const changes = current ? diff(current, d) : [];
    if (current && changes.length === 0) return { decision: current, created: false };
    // The record of a threshold change stays with the decisions made under it, until the next change.
    const next: StoredDecision = {
      ...(current?.thresholdChange ? { thresholdChange: current.thresholdChange } : {}),
      ...d,
      revision: (current?.revision ?? 0) + 1,
      ...(current ? { changes, ...toldIn(current, changes) } : {}),
    };
    const written = await store.addRevision(next, fence);
    if (written === 'added') return { decision: next, created: true };
    if (written === 'superseded') {
      throw new LockLostError(
        `a newer evaluation of ${d.campaignId} recorded ${d.providerId}'s decision while this run (fencing token ${fence}) was deciding from older aggregates: ` +
          `this run stopped, the newer decisions stand; it logged nothing and handed no mail or notice over`,
      );
    }
    // The revision exists: another run recorded it first, or a run died between the revision and the
    // current pointer. Make the latest revision current, then judge against it.
    const revisions = await store.revisions(d.campaignId, d.providerId);
    current = revisions.at(-1);
    if (current) await store.makeCurrent(current);
  }
}

/**
 * Which mail tells a new revision (RULES.md, "correction mail"): one that changes only figures keeps
 * the mail of the revision it replaces (`mailRevision`); one that changes the outcome or reasons is
 * mailed as a correction of the revision the provider was last told (`corrects`, when not the previous).
 */
function toldIn(current: StoredDecision, changes: readonly DecisionChange[]): Pick<StoredDecision, 'mailRevision' | 'corrects'> {
  const told = current.mailRevision ?? current.revision;
  if (!changes.some((ch) => TOLD.includes(ch.field))) return { mailRevision: told };
  return current.mailRevision !== undefined ? { corrects: told } : {};
}

function diff(a: StoredDecision, b: StoredDecision): DecisionChange[] {
  const out: DecisionChange[] = [];
  for (const f of DECISION_FIELDS) {
    if (JSON.stringify(a[f] ?? null) !== JSON.stringify(b[f] ?? null)) out.push({ field: f, from: a[f] ?? null, to: b[f] ?? null });
  }
  return out;
}
