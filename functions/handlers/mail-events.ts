import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { mailEventMetric, METRIC } from '#shared/metric-names.ts';
import { logger, metrics } from '#shared/observability.ts';
import { PayloadError } from '#shared/payloads.ts';
import { sesEvent, snsEvent, type SesEvent } from '#shared/ses-events.ts';
import type { OutboxStore } from '#shared/store/outbox.ts';
import { recordMailEvent, type MailEventOutcome } from '#shared/usecases/mail-events.ts';

/**
 * SES mail events: subscribed to the MailEventsTopic, to which the configuration set publishes Send,
 * Delivery, Bounce, Complaint, Reject and DeliveryDelay. Records each on its notice's ledger entry
 * (the `notice` message tag names it), which is how notify knows a mail went out even when its
 * sender died before marking it, and how `report` shows delivered, bounced and complained.
 *
 * A record that is not an SNS notification of an SES event is a PayloadError naming the field: the
 * invocation fails, SNS's asynchronous invoke retries it and then parks it in the dead-letter queue
 * (alarmed), so nothing SES said is dropped silently.
 */

export interface MailEventsSummary {
  recorded: number;
  untagged: number;
  unknownNotice: number;
  ignored: number;
  events: MailEventOutcome[];
}

/** Parses the SNS event and each SES record in it, or throws PayloadError naming the field. */
export function parseMailEvents(event: unknown): SesEvent[] {
  const envelope = snsEvent.safeParse(event);
  if (!envelope.success) {
    const issue = envelope.error.issues[0]!;
    throw new PayloadError(`${issue.path.join('.') || 'event'}: ${issue.message}`);
  }
  return envelope.data.Records.map((r, i) => {
    let message: unknown;
    try {
      message = JSON.parse(r.Sns.Message);
    } catch {
      throw new PayloadError(`Records.${i}.Sns.Message: not JSON (SNS message ${r.Sns.MessageId})`);
    }
    const parsed = sesEvent.safeParse(message);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new PayloadError(`Records.${i}.Sns.Message.${issue.path.join('.') || 'eventType'}: ${issue.message}`);
    }
    return parsed.data;
  });
}

/** The handler over a given ledger and clock: tests and the embedded stack hand in their own. */
export const makeMailEvents = (deps: { outbox: OutboxStore; now?: () => Date }) =>
  async function mailEventsHandler(event: unknown): Promise<MailEventsSummary> {
    const records = parseMailEvents(event);
    const summary: MailEventsSummary = { recorded: 0, untagged: 0, unknownNotice: 0, ignored: 0, events: [] };
    for (const e of records) {
      const r = await recordMailEvent(deps.outbox, e, (deps.now ?? (() => new Date()))());
      summary.events.push(r);
      if (r.outcome === 'recorded') summary.recorded++;
      else if (r.outcome === 'untagged') summary.untagged++;
      else if (r.outcome === 'unknown-notice') summary.unknownNotice++;
      else summary.ignored++;
      if (r.outcome === 'untagged' || r.outcome === 'unknown-notice') logger.warn('SES event for no notice of this ledger', { event: r });
      metrics.addMetric(mailEventMetric(e.eventType), MetricUnit.Count, 1);
      // The alarms: an outcome mail that bounced never reached its provider; a complaint hurts sending.
      if (r.outcome === 'recorded' && e.eventType === 'Bounce' && r.notice.kind === 'outcome') {
        metrics.addMetric(METRIC.outcomeMailBounced, MetricUnit.Count, 1);
        logger.error('outcome mail bounced', { notice: r.notice, bounce: e.bounce });
      }
    }
    return summary;
  };
