import { z } from 'zod';
import { id } from './events.ts';
import { campaignRegistry } from './campaigns.ts';
import { parseInstant } from './rules/time.ts';

/**
 * Payloads of the scheduled functions (OPS.md "Lambda payloads"), validated with zod. A bad one is
 * answered with `PayloadError`, whose message names the field.
 */

export class PayloadError extends Error {
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

export const evaluatePayload = z.strictObject({
  campaignId,
  thresholdOrders: z.number({ error: 'must be a number' }).int({ error: 'must be an integer' }).positive({ error: 'must be positive' }).optional(),
  providerIds: z.array(id, { error: 'must be an array of provider ids' }).min(1, { error: 'must name at least one provider' }).optional(),
  dryRun: z.boolean({ error: 'must be true or false' }).optional(),
  asOf: z
    .string({ error: 'must be a string' })
    .refine((s) => parseInstant(s) !== undefined, { error: 'must be an ISO-8601 instant with an offset (Z or +08:00)' })
    .optional(),
  /** Who asks, for the audit trail; the schedule sends none. */
  requestedBy: z.string().min(1).max(200).optional(),
});

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

export type AggregatePayload = z.output<typeof aggregatePayload>;
export type EvaluatePayload = z.output<typeof evaluatePayload>;
export type NotifyPayload = z.output<typeof notifyPayload>;

/** Parses a payload or throws `PayloadError` naming the first bad field. */
export function parsePayload<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PayloadError('payload: must be a JSON object');
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw new PayloadError(`${issue.keys.join(', ')}: not a field of this payload`);
  const path = issue.path.join('.') || 'payload';
  throw new PayloadError(`${path}: ${issue.path.length && (value as Record<string, unknown>)[String(issue.path[0])] === undefined ? 'is required' : issue.message}`);
}
