import { z } from 'zod';
import { id } from './events.ts';
import { campaignRegistry } from './campaigns.ts';
import { parseInstant } from './rules/time.ts';
import { BadInputError } from '#shared/errors.ts';

/**
 * Payloads of the scheduled functions (OPS.md "Lambda payloads"), validated with zod. A bad one is
 * answered with `PayloadError`, whose message names the field.
 */

export class PayloadError extends BadInputError {
  override name = 'PayloadError';
}

/** A campaign of this deployment (the files bundled at synth, or read by the CLI); an unknown one is refused, listing the known ones. */
const campaignId = z
  .string({ error: 'is required' })
  .refine((id) => campaignRegistry().get(id) !== undefined, { error: (i) => `unknown campaign ${JSON.stringify(i.input)} (known: ${campaignRegistry().ids.join(', ')})` });

export const aggregatePayload = z.strictObject({
  campaignId,
  full: z.boolean({ error: 'must be true or false' }).optional(),
});

/**
 * The aggregation's steps as a state machine runs them (shared/usecases/aggregate.ts, plan → shard →
 * finish): each is the `aggregate` function's payload with a `step`. Without one, the whole job.
 */
const natural = () => z.number({ error: 'must be a number' }).int({ error: 'must be an integer' }).nonnegative({ error: 'must be 0 or more' });
const instant = () => z.string({ error: 'must be a string' }).refine((s) => parseInstant(s) !== undefined, { error: 'must be an ISO-8601 instant with an offset (Z or +08:00)' });
export const aggregateShardDescriptor = z.union(
  [z.strictObject({ kind: z.literal('stores'), bucket: natural(), buckets: natural().min(1) }), z.strictObject({ kind: z.literal('segment'), segment: natural(), segments: natural().min(1) })],
  { error: 'must be {"kind":"stores","bucket","buckets"} or {"kind":"segment","segment","segments"}' },
);
export const aggregateContext = z.strictObject({
  mode: z.enum(['full', 'incremental'], { error: 'must be "full" or "incremental"' }),
  from: instant().nullable(),
  to: instant(),
  watermark: instant().nullable(),
  startedAt: instant(),
  doneFence: natural(),
  ordersSeen: natural(),
  ordersRead: natural(),
  groupedSegments: natural().min(1).optional(),
});
const runOf = { runId: z.string({ error: 'must be a string' }).min(1).max(100), fence: natural().min(1) };
export const aggregateStepPayload = z.discriminatedUnion(
  'step',
  [
    z.strictObject({ campaignId, step: z.literal('plan'), full: z.boolean({ error: 'must be true or false' }).optional() }),
    z.strictObject({ campaignId, step: z.literal('shard'), ...runOf, shard: aggregateShardDescriptor, context: aggregateContext }),
    z
      .strictObject({
        campaignId,
        step: z.literal('finish'),
        ...runOf,
        context: aggregateContext,
        // A grouped full recount's finish has none: its shards' figures are in the store (shared/usecases/recount-groups.ts).
        results: z
          .array(
            z.strictObject({
              status: z.literal('done'),
              shard: aggregateShardDescriptor,
              counted: z.strictObject({ ordersRead: natural(), storesRecounted: natural(), storeDaysWritten: natural() }),
              touched: z.array(z.string()),
              rebind: z.array(z.string()),
            }),
            { error: "must be the shards' results" },
          )
          .optional(),
      })
      .refine((p) => p.results !== undefined || p.context.groupedSegments !== undefined, {
        error: "is required: the shards' results (only a grouped full recount's finish has none)",
        path: ['results'],
      }),
    // A shard that failed for good: gives the lock back without moving the watermark.
    z.strictObject({ campaignId, step: z.literal('abandon'), ...runOf, context: aggregateContext, error: z.unknown().optional() }),
  ],
  { error: 'must be "plan", "shard", "finish" or "abandon"' },
);
export type AggregateStepPayload = z.output<typeof aggregateStepPayload>;

const positiveInt = () => z.number({ error: 'must be a number' }).int({ error: 'must be an integer' }).positive({ error: 'must be positive' });

/** The fields of the `evaluate` function's payload (OPS.md "Lambda payloads"), with or without a `step`. */
const evaluateFields = {
  campaignId,
  thresholdOrders: positiveInt().optional(),
  /**
   * The explicit change of a decided threshold (OPS.md, "Changing a decided threshold"): `from` the
   * threshold of the current final decisions, `to` the run's (it stands in for `thresholdOrders`).
   */
  changeThreshold: z
    .strictObject(
      {
        from: positiveInt(),
        to: positiveInt(),
        reason: z.string({ error: 'must be a string' }).trim().min(1, { error: 'must say why' }).max(1000, { error: 'must be at most 1000 characters' }),
      },
      { error: 'must be {"from": N, "to": N, "reason": "…"}' },
    )
    .optional(),
  providerIds: z.array(id, { error: 'must be an array of provider ids' }).min(1, { error: 'must name at least one provider' }).optional(),
  dryRun: z.boolean({ error: 'must be true or false' }).optional(),
  asOf: instant().optional(),
  /** Who asks, for the audit trail; the schedule sends none. */
  requestedBy: z.string().min(1).max(200).optional(),
};

function checkChange(p: { thresholdOrders?: number | undefined; changeThreshold?: { to: number } | undefined; requestedBy?: string | undefined }, ctx: z.RefinementCtx) {
  const change = p.changeThreshold;
  if (!change) return;
  if (p.thresholdOrders !== undefined && change.to !== p.thresholdOrders) {
    ctx.addIssue({ code: 'custom', path: ['changeThreshold', 'to'], message: `must equal thresholdOrders (${p.thresholdOrders}), got ${change.to}` });
  }
  // A change of a decided threshold is recorded with who made it.
  if (p.requestedBy === undefined) ctx.addIssue({ code: 'custom', path: ['requestedBy'], message: 'is required with changeThreshold (who changes the threshold)' });
}

export const evaluatePayload = z.strictObject(evaluateFields).superRefine(checkChange);

/**
 * The evaluation's steps as a state machine runs them (shared/usecases/evaluate-plan.ts, -shard.ts,
 * evaluate.ts `finishEvaluation`): plan takes the whole-job fields; shard and finish what plan answered.
 */
const actor = z.strictObject({ kind: z.enum(['schedule', 'person'], { error: 'must be "schedule" or "person"' }), id: z.string().min(1).max(200) });
export const evaluateShardDescriptor = z.union([z.strictObject({ kind: z.literal('range'), first: id, last: id }), z.strictObject({ kind: z.literal('chosen'), from: natural(), to: natural() })], {
  error: 'must be {"kind":"range","first","last"} or {"kind":"chosen","from","to"}',
});
export const evaluateContext = z.strictObject({
  mode: z.enum(['final', 'preview', 'dry-run'], { error: 'must be "final", "preview" or "dry-run"' }),
  asOf: instant(),
  decidedAt: instant(),
  by: actor,
  thresholdOrders: positiveInt(),
  thresholdSource: z.enum(['run', 'deployment', 'campaign'], { error: 'must be "run", "deployment" or "campaign"' }),
  thresholdChange: z.strictObject({ from: positiveInt(), to: positiveInt(), reason: z.string().min(1).max(1000), by: actor, at: instant(), runId: z.string().min(1).max(100) }).optional(),
  providerIds: z.array(id).optional(),
  aggregation: z.strictObject({
    status: z.literal('done'),
    mode: z.enum(['full', 'incremental']),
    window: z.strictObject({ from: instant().nullable(), to: instant() }),
    lagSeconds: natural().nullable(),
    ordersSeen: natural(),
    storesRecounted: natural(),
    storeDaysWritten: natural(),
    providersUpdated: natural(),
    fence: natural(),
    shards: natural(),
    maxOrdersPerInvocation: natural(),
  }),
  providers: natural(),
  providersRead: natural(),
});
const decidedCounts = z.strictObject({
  providers: natural(),
  retained: natural(),
  revoked: natural(),
  not_assessed: natural(),
  revisionsCreated: natural(),
  figuresOnly: natural(),
  unchanged: natural(),
});
export const evaluateStepPayload = z.discriminatedUnion(
  'step',
  [
    z
      .strictObject({ ...evaluateFields, step: z.literal('plan') })
      .superRefine(checkChange)
      .superRefine((p, ctx) => {
        // A dry run's catch-up lives in the memory of its one process: steps in other invocations could not see it.
        if (p.dryRun) ctx.addIssue({ code: 'custom', path: ['dryRun'], message: 'a dry run runs as one invocation: send the payload without "step"' });
      }),
    z.strictObject({ campaignId, step: z.literal('shard'), ...runOf, shard: evaluateShardDescriptor, context: evaluateContext }),
    z.strictObject({
      campaignId,
      step: z.literal('finish'),
      ...runOf,
      context: evaluateContext,
      results: z.array(z.strictObject({ status: z.literal('done'), shard: evaluateShardDescriptor, counted: decidedCounts, listChanged: z.boolean() }), { error: "must be the shards' results" }),
    }),
  ],
  { error: 'must be "plan", "shard" or "finish"' },
);
export type EvaluateStepPayload = z.output<typeof evaluateStepPayload>;

export const notifyPayload = z.strictObject({
  campaignId,
  kind: z.enum(['outcome', 'progress'], { error: 'must be "outcome" or "progress"' }).default('outcome'),
  /** For progress mail: the instant the figures are as of (default: now). */
  asOf: z
    .string()
    .refine((s) => parseInstant(s) !== undefined, { error: 'must be an ISO-8601 instant with an offset (Z or +08:00)' })
    .optional(),
});

export const reportPayload = z.strictObject({ campaignId });

/** The publish function: the one-time schedule on the notice date and the evaluation send only the campaign. */
export const publishPayload = z.strictObject({ campaignId });

/** The reapply function (OPS.md): may this provider apply for certification at `at` (default now)? */
export const reapplyPayload = z.strictObject({
  providerId: id,
  at: z
    .string({ error: 'must be a string' })
    .refine((s) => parseInstant(s) !== undefined, { error: 'must be an ISO-8601 instant with an offset (Z or +08:00)' })
    .optional(),
});

/** `renewal reapply except` (OPS.md): an exception to the 90-day bar, or with `withdraw` its withdrawal; who and why are required. */
export const reapplyExceptPayload = z.strictObject({
  providerId: id,
  by: z.string({ error: 'is required' }).trim().min(1, { error: 'must name who records it' }).max(200, { error: 'must be at most 200 characters' }),
  reason: z.string({ error: 'is required' }).trim().min(1, { error: 'must say why' }).max(2000, { error: 'must be at most 2,000 characters' }),
  withdraw: z.boolean({ error: 'must be true or false' }).optional(),
});

export type AggregatePayload = z.output<typeof aggregatePayload>;
export type EvaluatePayload = z.output<typeof evaluatePayload>;
export type NotifyPayload = z.output<typeof notifyPayload>;

/** Parses a payload or throws `PayloadError` naming the first bad field. */
export function parsePayload<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PayloadError('payload: must be a JSON object');
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw new PayloadError(`${issue.keys.map((k) => [...issue.path, k].join('.')).join(', ')}: not a field of this payload`);
  const path = issue.path.join('.') || 'payload';
  const missing = issue.code !== 'custom' && issue.path.length && (value as Record<string, unknown>)[String(issue.path[0])] === undefined;
  throw new PayloadError(`${path}: ${missing ? 'is required' : issue.message}`);
}
