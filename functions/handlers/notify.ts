import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SESv2Client, type SESv2ClientConfig } from '@aws-sdk/client-sesv2';
import { systemClock, type Clock } from '#shared/clock.ts';
import type { MailConfig } from '#shared/config.ts';
import { MAIL_EVENT_WAIT_DEFAULT_MS } from '#shared/leases.ts';
import { SesMailer, type Mailer } from '#shared/mailer.ts';
import { METRIC } from '#shared/metric-names.ts';
import { logger, metrics } from '#shared/observability.ts';
import { notifyPayload, parsePayload } from '#shared/payloads.ts';
import { campaignRegistry } from '#shared/campaigns.ts';
import { notify, notifyPolicy, publishedEvents, type MailEvidence, type NotifyDeps, type NotifyPolicy, type NotifyResult, type NotifyStores } from '#shared/usecases/notify.ts';

/**
 * Notification: invoked by the evaluation after a final run (`{"campaignId", "kind": "outcome"}`), by
 * the weekly schedule (`"kind": "progress"`) and by ops (`renewal notify`). Sends what is due and not
 * yet sent; the outbox ledger keeps every notice to one mail.
 */

type Deps = NotifyStores & {
  /** SES on Lambda and on the embedded stack (`notifyMailer`); the tests hand in faults. */
  mailer: Mailer;
  /** Default: SES's published events, waited for MAIL_EVENT_WAIT_SECONDS (the CLI hands in the embedded SES's store). */
  evidence?: MailEvidence;
  /** Default: the wall clock (the crash tests move it past the claims' leases; the fault tests skip the waits). */
  clock?: Partial<Clock>;
  /** Default: `notifyPolicy` at MAIL_RATE_PER_SECOND (the fault tests try fewer times). */
  policy?: Partial<NotifyPolicy>;
  progress?: NotifyDeps['progress'];
  /** Every campaign the deployment knows (the campaign registry), for the seasons rules. */
  campaigns?: NotifyDeps['campaigns'];
};

/**
 * The mailer notify sends with: SES API v2 through the SDK (`client`: the endpoint, region and
 * credentials; none on Lambda), one attempt per call. notify retries itself, after asking the evidence
 * whether an ambiguous failure sent the mail anyway; a bounded request time keeps a send inside its
 * claim's lease.
 */
export function notifyMailer(config: MailConfig, client: SESv2ClientConfig = {}): Mailer {
  return new SesMailer(new SESv2Client({ ...client, maxAttempts: 1, requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 } }), config);
}

/** The handler over given stores and mailer; tests hand in a mailer with injected faults. */
export const makeNotify = (deps: Deps, config: MailConfig) => {
  const mailer = deps.mailer;
  const evidence = deps.evidence ?? publishedEvents(config.eventWaitMs ?? MAIL_EVENT_WAIT_DEFAULT_MS);
  const { decisions, aggregates, source, outbox } = deps;
  return async function notifyHandler(event: unknown): Promise<NotifyResult> {
    const p = parsePayload(notifyPayload, event);
    const campaign = campaignRegistry().require(p.campaignId);
    const result = await notify(
      campaign,
      {
        stores: { decisions, aggregates, source, outbox },
        mail: {
          sender: mailer,
          evidence,
          settings: {
            feedbackMailbox: config.feedbackMailbox ?? campaign.feedbackMailbox,
            exitRefundProcedure: config.exitRefundProcedure ?? campaign.exitRefundProcedure,
          },
        },
        clock: { ...systemClock, ...deps.clock },
        policy: { ...notifyPolicy(config.ratePerSecond), ...deps.policy },
        ...(deps.progress ? { progress: deps.progress } : {}),
        ...(deps.campaigns ? { campaigns: deps.campaigns } : {}),
      },
      { kind: p.kind, ...(p.asOf ? { asOf: p.asOf } : {}), ...(config.thresholdOrders ? { thresholdOrders: config.thresholdOrders } : {}) },
    );
    logger.info('notify', {
      kind: result.kind,
      due: result.due,
      sent: result.sent,
      recovered: result.recovered,
      uncertain: result.uncertain,
      failed: result.failed.length,
      bounced: result.bounced.length,
    });
    metrics.addMetric(METRIC.mailSent, MetricUnit.Count, result.sent);
    metrics.addMetric(METRIC.mailFailed, MetricUnit.Count, result.failed.length);
    // Notices nobody can settle yet: the alarm tells ops to run notify again after their `after` time.
    metrics.addMetric(METRIC.mailUncertain, MetricUnit.Count, result.uncertain.length);
    return result;
  };
};
