/**
 * The custom metrics the functions emit (Powertools, embedded metric format) and the CloudWatch
 * dashboard reads: one list for both, so a renamed metric cannot leave a dashboard widget empty.
 * Every metric carries the Powertools `service` dimension.
 */
export const SERVICE_NAME = 'provider-renewal';
export const METRICS_NAMESPACE = 'ProviderRenewal';

export const METRIC = {
  eventsAccepted: 'eventsAccepted',
  eventsDuplicate: 'eventsDuplicate',
  eventsRejected: 'eventsRejected',
  ordersAggregated: 'ordersAggregated',
  storeDaysWritten: 'storeDaysWritten',
  /** Seconds between the previous aggregation's watermark and this run: how stale the counts were. */
  aggregationLagSeconds: 'aggregationLagSeconds',
  /** A state machine's plan found the campaign's run lock held: the execution started nothing. */
  aggregationRunSkipped: 'aggregationRunSkipped',
  /** The evaluation's plan found the aggregation lock held past its wait: the execution decided nothing (run it again). */
  evaluationRunSkipped: 'evaluationRunSkipped',
  providersRetained: 'providersRetained',
  providersRevoked: 'providersRevoked',
  providersNotAssessed: 'providersNotAssessed',
  decisionRevisions: 'decisionRevisions',
  mailSent: 'mailSent',
  mailFailed: 'mailFailed',
  /** Notices a run could not settle (it died, or SES timed out): run notify again after their time. */
  mailUncertain: 'mailUncertain',
  /** SES events recorded by mail-events, one metric per event type (`mailEventMetric`). */
  mailDelivery: 'mailDelivery',
  mailBounce: 'mailBounce',
  mailComplaint: 'mailComplaint',
  /** An outcome mail that bounced: that provider has not received its result. */
  outcomeMailBounced: 'outcomeMailBounced',
} as const;

/** The metric of an SES event type: `Delivery` → `mailDelivery`, `DeliveryDelay` → `mailDeliveryDelay`. */
export const mailEventMetric = (eventType: string) => `mail${eventType.replace(/\s/g, '')}`;
