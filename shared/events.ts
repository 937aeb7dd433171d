import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseInstant, toUtcIso } from './rules/time.ts';

/**
 * The input contract of RULES.md ("Platform events"): one JSON object per event. Parsing either
 * yields a normalized event (instants in UTC ISO-8601, `gift` defaulted) or a reason naming the field.
 */

/**
 * The one id pattern: every id of the contract (provider, store, order, payment) and every id a payload
 * or a notice names. `:` is allowed (the platform's ids use it); `#`, `/` and white space are not.
 */
export const ID = /^[A-Za-z0-9_.:-]{1,128}$/;
/** An id field: a string matching `ID`; the message names the rule. */
export const id = z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') }).regex(ID, { error: 'must be 1 to 128 characters from [A-Za-z0-9_.:-]' });

const instant = z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') }).transform((s, ctx) => {
  const ms = parseInstant(s);
  if (ms === undefined) {
    ctx.issues.push({
      code: 'custom',
      input: s,
      message: /(Z|[+-]\d\d:\d\d)$/.test(s) ? 'is not a valid ISO-8601 instant (no such date or time)' : 'must be an ISO-8601 instant with an offset (Z or +08:00); one without is ambiguous',
    });
    return z.NEVER;
  }
  return toUtcIso(ms);
});

const amountFen = z
  .number({ error: (i) => (i.input === undefined ? 'is required' : 'must be a number of fen (integer), not a string') })
  .refine(Number.isSafeInteger, { error: 'must be an integer number of fen' })
  .refine((n) => n > 0, { error: 'must be positive' });

/**
 * The one email validator: a provider's address, the feedback mailbox, the sender, the deployment's
 * addresses and every recipient the mailer takes are checked against it.
 *
 * RFC 5322 is larger than any mailbox a provider has; this is the practical subset SES accepts,
 * and it excludes CR/LF, angle brackets and commas, so an address can never carry a header or a second address.
 */
export const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
/** The longest address SMTP carries (RFC 5321's path limit less its angle brackets). */
export const EMAIL_MAX_LENGTH = 254;

/** Exactly one address SES will take as one recipient: no display name, no CR/LF, no second address. */
export function isEmailAddress(s: string): boolean {
  return s.length <= EMAIL_MAX_LENGTH && EMAIL.test(s);
}

/** An email field, by `isEmailAddress`'s rule; `invalid` is the message for a string that is not one address. */
export const emailAddress = (invalid = 'must be one valid email address') =>
  z
    .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
    .max(EMAIL_MAX_LENGTH, { error: `must be at most ${EMAIL_MAX_LENGTH} characters` })
    .regex(EMAIL, { error: invalid });

export const providerUpserted = z.strictObject({
  type: z.literal('provider.upserted'),
  providerId: id,
  name: z
    .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
    .min(1, { error: 'must not be empty' })
    .max(200, { error: 'must be at most 200 characters' }),
  email: emailAddress(),
  certifiedAt: instant,
  regularizedAt: instant.optional(),
});
export const bindingStarted = z.strictObject({ type: z.literal('binding.started'), providerId: id, storeId: id, at: instant });
export const bindingEnded = z.strictObject({ type: z.literal('binding.ended'), providerId: id, storeId: id, at: instant });
export const orderPaid = z.strictObject({
  type: z.literal('order.paid'),
  orderId: id,
  storeId: id,
  paidAt: instant,
  gift: z.boolean({ error: 'must be true or false' }).default(false),
});
export const depositPaid = z.strictObject({ type: z.literal('deposit.paid'), paymentId: id, providerId: id, amountFen, paidAt: instant });
export const depositDeducted = z.strictObject({ type: z.literal('deposit.deducted'), paymentId: id, providerId: id, amountFen, at: instant });

const SCHEMAS = {
  'provider.upserted': providerUpserted,
  'binding.started': bindingStarted,
  'binding.ended': bindingEnded,
  'order.paid': orderPaid,
  'deposit.paid': depositPaid,
  'deposit.deducted': depositDeducted,
} as const;
export type EventType = keyof typeof SCHEMAS;
export const EVENT_TYPES = Object.keys(SCHEMAS) as EventType[];

export type ProviderUpserted = z.output<typeof providerUpserted>;
export type BindingEvent = z.output<typeof bindingStarted> | z.output<typeof bindingEnded>;
export type OrderPaid = z.output<typeof orderPaid>;
export type DepositEvent = z.output<typeof depositPaid> | z.output<typeof depositDeducted>;
export type PlatformEvent = ProviderUpserted | BindingEvent | OrderPaid | DepositEvent;

export type ParseResult = { ok: true; event: PlatformEvent } | { ok: false; field: string; reason: string; event?: unknown };

/** Parses one message body. Never throws: a bad event comes back with the field and the reason. */
export function parseEvent(body: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    return { ok: false, field: '(body)', reason: `(body): not valid JSON (${(err as Error).message})` };
  }
  return validateEvent(value);
}

export function validateEvent(value: unknown): ParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    return { ok: false, field: '(body)', reason: `(body): must be one JSON object per event, got ${what}` };
  }
  const type = (value as Record<string, unknown>).type;
  // Own keys only: 'constructor' or '__proto__' must not reach a schema lookup.
  if (typeof type !== 'string' || !Object.hasOwn(SCHEMAS, type)) {
    const got = type === undefined ? 'missing' : typeof type === 'string' ? JSON.stringify(type.slice(0, 100)) : Array.isArray(type) ? 'an array' : `a ${typeof type}`;
    return { ok: false, field: 'type', event: value, reason: `type: must be one of ${EVENT_TYPES.join(', ')} (got ${got})` };
  }
  const result = SCHEMAS[type as EventType].safeParse(value);
  if (result.success) return { ok: true, event: result.data as PlatformEvent };
  const issue = result.error.issues[0]!;
  // A field name is the sender's text too: keep it to a readable length.
  const path = (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.') || '(body)').slice(0, 200);
  const message = issue.code === 'unrecognized_keys' ? `not a field of ${type}` : issue.message;
  return { ok: false, field: path, event: value, reason: `${path}: ${message}` };
}

/**
 * The identity an event is stored under: two events with the same key are the same fact (a
 * duplicate when their content is equal, a conflict when not). Also the SQS FIFO message group.
 */
export function entityKey(e: PlatformEvent): string {
  switch (e.type) {
    case 'order.paid':
      return `order:${e.orderId}`;
    case 'deposit.paid':
    case 'deposit.deducted':
      return `payment:${e.paymentId}`;
    case 'provider.upserted':
      return `provider:${e.providerId}`;
    case 'binding.started':
    case 'binding.ended':
      // '|' cannot occur in an id (ids may contain ':'), so no two bindings share an identity.
      return `binding|${e.providerId}|${e.storeId}|${e.at}|${e.type}`;
  }
}

/**
 * The SQS FIFO message group of a raw event body: its identity (`entityKey`), except that the starts
 * and ends of one binding share the group of the provider-store pair, so they keep their order. Two
 * events with the same identity are therefore always in one group, and FIFO delivery keeps a group in
 * one batch at a time: what lets the intake read-then-write without conditional writes
 * (`store/ingest.ts`). Read from the raw ids without validating the rest: a body with no readable
 * identity lands in a group of its own (a hash of the body) and is rejected by the intake.
 */
export function messageGroupOf(body: string): string {
  let e: Record<string, unknown> | undefined;
  try {
    const v: unknown = JSON.parse(body);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) e = v as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  const rawId = (k: string) => (typeof e?.[k] === 'string' && ID.test(e[k] as string) ? (e[k] as string) : undefined);
  const group = (() => {
    switch (e?.type) {
      case 'order.paid':
        return rawId('orderId') && `order:${rawId('orderId')}`;
      case 'deposit.paid':
      case 'deposit.deducted':
        return rawId('paymentId') && `payment:${rawId('paymentId')}`;
      case 'provider.upserted':
        return rawId('providerId') && `provider:${rawId('providerId')}`;
      case 'binding.started':
      case 'binding.ended':
        return rawId('providerId') && rawId('storeId') && `binding|${rawId('providerId')}|${rawId('storeId')}`;
    }
    return undefined;
  })();
  return group || `invalid:${createHash('sha1').update(body).digest('hex').slice(0, 12)}`;
}

/** Content hash of a normalized event: equal for redeliveries whatever their key order or offset form. */
export function contentHash(e: PlatformEvent): string {
  const canonical = JSON.stringify(
    Object.keys(e)
      .sort()
      .map((k) => [k, (e as Record<string, unknown>)[k]]),
  );
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}

/** MessageDeduplicationId: the body's sha256, so a re-sent line is dropped by SQS within 5 minutes. */
export function deduplicationIdOf(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}
