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
  providersRetained: 'providersRetained',
  providersRevoked: 'providersRevoked',
  providersNotAssessed: 'providersNotAssessed',
  decisionRevisions: 'decisionRevisions',
  mailSent: 'mailSent',
  mailFailed: 'mailFailed',
} as const;
