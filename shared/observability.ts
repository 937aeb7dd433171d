import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** Powertools logger and metrics, one each per process; service name and namespace come from env. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'provider-renewal' });
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'ProviderRenewal',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'provider-renewal',
});
