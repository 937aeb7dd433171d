import type { SesEvent } from '../ses-events.ts';
import { uses, type Needs } from '../store/access.ts';
import { NOTICE_TAG, OUTBOX_ACCESS, parseNoticeTag, type MailEvidenceEvent, type NoticeRef } from '../store/outbox.ts';

/** What recording SES's events uses of the ledger: the mail-events function's IAM policy is derived from this. */
export const MAIL_EVENTS_OUTBOX = uses(OUTBOX_ACCESS, ['recordEvent']);
export const MAIL_EVENTS_NEEDS = [MAIL_EVENTS_OUTBOX];

/**
 * Records what SES says about a mail on its notice's ledger entry: the notice is found by the
 * `notice` message tag every mail carries. The mail-events function calls this for each event SES
 * publishes through SNS; on the embedded stack, notify feeds it the same Send events read from the
 * embedded SES's store. A Send (or any later event) settles an entry its sender left `sending`.
 */

export type MailEventOutcome =
  | { outcome: 'recorded'; type: SesEvent['eventType']; notice: NoticeRef; messageId: string }
  /** No notice tag: a mail this system did not send (or sent before tags existed). Logged, dropped. */
  | { outcome: 'untagged'; type: SesEvent['eventType']; messageId: string }
  /** A notice tag that names no ledger entry (another stage's table, a deleted entry). Logged, dropped. */
  | { outcome: 'unknown-notice'; type: SesEvent['eventType']; tag: string; messageId: string }
  /** An event type the ledger does not track (Open, Click, …). */
  | { outcome: 'ignored'; type: SesEvent['eventType']; messageId: string };

export async function recordMailEvent(outbox: Needs<typeof MAIL_EVENTS_OUTBOX>, e: SesEvent, now: Date): Promise<MailEventOutcome> {
  const messageId = e.mail.messageId;
  const tag = e.mail.tags?.[NOTICE_TAG]?.[0];
  const notice = tag !== undefined ? parseNoticeTag(tag) : undefined;
  const evidence = toEvidence(e);
  if (!evidence) return { outcome: 'ignored', type: e.eventType, messageId };
  if (!notice) return tag === undefined ? { outcome: 'untagged', type: e.eventType, messageId } : { outcome: 'unknown-notice', type: e.eventType, tag, messageId };
  if (!(await outbox.recordEvent(notice, evidence, now))) return { outcome: 'unknown-notice', type: e.eventType, tag: tag!, messageId };
  return { outcome: 'recorded', type: e.eventType, notice, messageId };
}

function toEvidence(e: SesEvent): MailEvidenceEvent | undefined {
  const base = { messageId: e.mail.messageId, acceptedAt: new Date(e.mail.timestamp).toISOString() };
  switch (e.eventType) {
    case 'Send':
      return { ...base, type: 'Send' };
    case 'Delivery':
      return { ...base, type: 'Delivery', at: new Date(e.delivery.timestamp).toISOString() };
    case 'Bounce': {
      const diagnostic = e.bounce.bouncedRecipients?.find((r) => r.diagnosticCode)?.diagnosticCode;
      return {
        ...base,
        type: 'Bounce',
        at: new Date(e.bounce.timestamp).toISOString(),
        bounceType: e.bounce.bounceType,
        bounceSubType: e.bounce.bounceSubType,
        ...(diagnostic ? { diagnostic: diagnostic.slice(0, 500) } : {}),
      };
    }
    case 'Complaint':
      return { ...base, type: 'Complaint', at: new Date(e.complaint.timestamp).toISOString(), ...(e.complaint.complaintFeedbackType ? { feedbackType: e.complaint.complaintFeedbackType } : {}) };
    case 'Reject':
      return { ...base, type: 'Reject', reason: e.reject.reason.slice(0, 500) };
    case 'DeliveryDelay':
      return {
        ...base,
        type: 'DeliveryDelay',
        at: new Date(e.deliveryDelay.timestamp).toISOString(),
        delayType: e.deliveryDelay.delayType,
        ...(e.deliveryDelay.expirationTime ? { expiresAt: new Date(e.deliveryDelay.expirationTime).toISOString() } : {}),
      };
    default:
      return undefined;
  }
}
