import { z } from 'zod';

/**
 * The SES event-publishing record, as a configuration set publishes it to SNS and SNS hands it to a
 * Lambda subscriber (`Records[].Sns.Message`, a JSON string). Only what the ledger records is
 * required; the rest of SES's record (headers, commonHeaders, …) passes through unread. Shapes:
 * "Examples of event data that Amazon SES publishes to Amazon SNS" in the SES developer guide.
 */

const iso = z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') }).refine((s) => !Number.isNaN(Date.parse(s)), { error: 'must be an ISO-8601 timestamp' });
const text = z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') });

export const sesMail = z.object({
  timestamp: iso,
  messageId: text.min(1, { error: 'must not be empty' }),
  destination: z.array(text).optional(),
  /** Tag name → values; SES adds its own (`ses:configuration-set`, …) beside ours. */
  tags: z.record(z.string(), z.array(z.string())).optional(),
});

export const sesEvent = z.discriminatedUnion(
  'eventType',
  [
    z.object({ eventType: z.literal('Send'), mail: sesMail, send: z.object({}).optional() }),
    z.object({
      eventType: z.literal('Delivery'),
      mail: sesMail,
      delivery: z.object({ timestamp: iso, recipients: z.array(text).optional(), smtpResponse: text.optional() }),
    }),
    z.object({
      eventType: z.literal('Bounce'),
      mail: sesMail,
      bounce: z.object({
        bounceType: z.enum(['Permanent', 'Transient', 'Undetermined'], { error: 'must be Permanent, Transient or Undetermined' }),
        bounceSubType: text,
        timestamp: iso,
        bouncedRecipients: z.array(z.object({ emailAddress: text, diagnosticCode: text.optional(), status: text.optional() })).optional(),
      }),
    }),
    z.object({
      eventType: z.literal('Complaint'),
      mail: sesMail,
      complaint: z.object({ timestamp: iso, complaintFeedbackType: text.optional(), complainedRecipients: z.array(z.object({ emailAddress: text })).optional() }),
    }),
    z.object({ eventType: z.literal('Reject'), mail: sesMail, reject: z.object({ reason: text }) }),
    z.object({
      eventType: z.literal('DeliveryDelay'),
      mail: sesMail,
      deliveryDelay: z.object({ timestamp: iso, delayType: text, expirationTime: iso.optional() }),
    }),
    // Published by the same configuration set but not recorded (no template rendering, no tracking).
    z.object({ eventType: z.enum(['Rendering Failure', 'RenderingFailure', 'Open', 'Click', 'Subscription']), mail: sesMail }),
  ],
  { error: (i) => `must be one of Send, Delivery, Bounce, Complaint, Reject, DeliveryDelay (got ${JSON.stringify((i.input as { eventType?: unknown } | undefined)?.eventType ?? null)})` },
);
export type SesEvent = z.output<typeof sesEvent>;

/** The Lambda event of an SNS subscription. */
export const snsEvent = z.object({
  Records: z
    .array(
      z.object({
        EventSource: z.literal('aws:sns', { error: 'must be "aws:sns"' }),
        Sns: z.object({ MessageId: text, TopicArn: text, Message: text, Timestamp: iso }),
      }),
    )
    .min(1, { error: 'must hold at least one record' }),
});
