import type { Actor, DecisionChange, StoredDecision, ThresholdChange, ThresholdSource } from '../model.ts';
import { requireThreshold, type Campaign, type ThresholdedCampaign } from '../rules/campaign.ts';
import { decide } from '../rules/rules.ts';
import { seasonEligibility, type Revocation } from '../rules/seasons.ts';
import { mapLimit } from '../limit.ts';
import type { FencingToken } from '../store/aggregates.ts';
import type { StoredProfile } from '../store/source.ts';
import type { AggregateResult } from './aggregate.ts';
import { earlierRevocations, profileVersions } from './seasons.ts';
import { LockLostError } from './run-lock.ts';
import type { EvaluateDeps, Mode } from './evaluate.ts';

/**
 * One shard of the evaluation (plan → shards → finish, shared/usecases/fanout.ts): decides its
 * providers from their aggregates and records each decision under the run's fencing token. A
 * revision on top of one a newer evaluation wrote (a higher token) is refused, and the shard stops
 * with LockLostError, which the state machine does not retry. Decisions are recomputed, never
 * accumulated: a retried shard finds what it recorded unchanged and writes nothing more.
 */

/**
 * A decision shard, small whatever the season: the providers whose ids lie in `[first, last]` (key
 * order of the `providers` index), or, for a run of chosen providers, the chosen ids `[from, to)` of
 * the context's sorted list (which the run's own input carried).
 */
export type EvaluateShard = { kind: 'range'; first: string; last: string } | { kind: 'chosen'; from: number; to: number };

/** The catch-up aggregation that got through (its token fences the run's decisions). */
export type CaughtUp = Extract<AggregateResult, { status: 'done' }>;

/** What plan resolved once for every step: a few fields (and, for chosen providers, their ids). */
export interface EvaluateContext {
  mode: Mode;
  asOf: string;
  /** The run's start: every decision's `decidedAt`, and its log's `startedAt`. */
  decidedAt: string;
  by: Actor;
  thresholdOrders: number;
  thresholdSource: ThresholdSource;
  /** The change of the decided threshold the run makes (plan's guard let it through). */
  thresholdChange?: ThresholdChange;
  /** The chosen providers, sorted, unique (`providerIds`); absent: every provider. */
  providerIds?: string[];
  aggregation: CaughtUp;
  /** Providers in the run when plan cut it. */
  providers: number;
  /** Profiles plan read (the chosen providers it checked exist; none for a whole run). */
  providersRead: number;
}

export interface EvaluateShardResult {
  status: 'done';
  shard: EvaluateShard;
  counted: { providers: number; retained: number; revoked: number; not_assessed: number; revisionsCreated: number; figuresOnly: number; unchanged: number };
  /** A final revision changed the public delisting list (someone delisted, reinstated, or with other reasons). */
  listChanged: boolean;
}

/** Told once per provider decided (the in-process run's progress across shards). */
export type ShardDeps = EvaluateDeps & { decided?: () => void };

/** Fields whose change makes a new revision; the rest (time, actor, daily split) is evidence. */
const DECISION_FIELDS = ['outcome', 'reasons', 'paidOrders', 'thresholdOrders', 'depositBalanceFen', 'depositRequiredFen', 'noticeDate', 'reapplyFrom', 'rulesVersion'] as const;
const TOLD: readonly string[] = ['outcome', 'reasons'];

/** The shard's decisions as the step answers them; in-process, `assessments` too (a step's answer never carries them: they grow with providers). */
export async function evaluateShard(
  campaign: Campaign,
  deps: ShardDeps,
  step: { fence: FencingToken; shard: EvaluateShard; context: EvaluateContext },
): Promise<EvaluateShardResult & { assessments: StoredDecision[] }> {
  const { context: ctx, shard } = step;
  const c = requireThreshold(campaign, { run: ctx.thresholdOrders });
  const profiles = shard.kind === 'range' ? await deps.source.providersBetween(shard.first, shard.last) : await deps.source.profilesOf(ctx.providerIds!.slice(shard.from, shard.to));
  const fresh = await assess(c, deps, profiles, ctx);
  const counted = { providers: fresh.length, retained: 0, revoked: 0, not_assessed: 0, revisionsCreated: 0, figuresOnly: 0, unchanged: 0 };
  let listChanged = false;
  let assessments = fresh;
  if (ctx.mode === 'preview' && fresh.length) await deps.decisions.putPreviews(fresh);
  if (ctx.mode === 'final' && fresh.length) {
    const current = new Map(
      (
        await deps.decisions.currentOf(
          c.campaignId,
          fresh.map((d) => d.providerId),
        )
      ).map((d) => [d.providerId, d]),
    );
    assessments = await mapLimit(fresh, 16, async (d) => {
      const before = current.get(d.providerId);
      const recorded = await record(deps.decisions, ctx.thresholdChange ? { ...d, thresholdChange: ctx.thresholdChange } : d, before, step.fence);
      if (recorded.created) {
        counted.revisionsCreated++;
        if (recorded.decision.mailRevision !== undefined) counted.figuresOnly++;
        // The public list shows revoked providers with their reasons (clause 3): it changed if this
        // revision or the one it replaces is a revocation, and more than figures changed.
        else if (recorded.decision.outcome === 'revoked' || before?.outcome === 'revoked') listChanged = true;
      } else counted.unchanged++;
      deps.decided?.();
      return recorded.decision;
    });
  } else for (let i = 0; i < fresh.length; i++) deps.decided?.();
  for (const a of assessments) counted[a.outcome]++;
  return { status: 'done', shard, counted, listChanged, assessments };
}

/** Fresh decisions of the given providers, from their totals and earlier campaigns' revocations (nothing written). */
export async function assess(
  c: ThresholdedCampaign,
  deps: EvaluateDeps,
  profiles: readonly StoredProfile[],
  ctx: Pick<EvaluateContext, 'decidedAt' | 'by' | 'asOf' | 'mode'>,
): Promise<StoredDecision[]> {
  if (!profiles.length) return [];
  const ids = profiles.map((p) => p.providerId);
  const [totals, revoked] = await Promise.all([deps.aggregates.providerTotalsOf(c, ids), earlierRevocations(c, deps.campaigns?.() ?? [], deps.decisions, ids)]);
  const totalsOf = new Map(totals.map((t) => [t.providerId, t]));
  const meta = { decidedAt: ctx.decidedAt, decidedBy: ctx.by, asOf: ctx.asOf, final: ctx.mode === 'final' };
  return profiles.map((p) => decisionFor(c, p, revoked.get(p.providerId) ?? [], totalsOf.get(p.providerId), meta));
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

/** The decision fields that differ between two decisions, as a revision records them. */
export function diff(a: StoredDecision, b: StoredDecision): DecisionChange[] {
  const out: DecisionChange[] = [];
  for (const f of DECISION_FIELDS) {
    if (JSON.stringify(a[f] ?? null) !== JSON.stringify(b[f] ?? null)) out.push({ field: f, from: a[f] ?? null, to: b[f] ?? null });
  }
  return out;
}
