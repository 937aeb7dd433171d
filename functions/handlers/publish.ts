import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { NoticeConfig } from '#shared/config.ts';
import { logger, metrics } from '#shared/observability.ts';
import { parsePayload, publishPayload } from '#shared/payloads.ts';
import { campaignRegistry } from '#shared/campaigns.ts';
import { publish, type PublishDeps, type PublishResult } from '#shared/usecases/publish.ts';

/**
 * Publication of the public delisting notice (摘牌公示): invoked by the one-time schedule on the notice
 * date (`{"campaignId": …}`), asynchronously by the evaluation when a final revision changed the list,
 * and by ops (`renewal publish`). Writes the next version to the notice bucket when the list changed;
 * the same list writes nothing.
 */
type Deps = Omit<PublishDeps, 'now' | 'settings'>;

/** The handler over given stores: the CLI and the tests hand in theirs. */
export const makePublish = (deps: Deps, config: Pick<NoticeConfig, 'publicBaseUrl' | 'feedbackMailbox'>, now: () => Date = () => new Date()) =>
  async function publishHandler(event: unknown): Promise<PublishResult> {
    const p = parsePayload(publishPayload, event);
    const campaign = campaignRegistry().require(p.campaignId);
    const result = await publish(campaign, {
      ...deps,
      now,
      settings: { publicBaseUrl: config.publicBaseUrl, feedbackMailbox: config.feedbackMailbox ?? campaign.feedbackMailbox },
    });
    logger.info('publish', { status: result.status, version: result.version, providers: result.providers, written: result.written.length });
    metrics.addMetric('noticeObjectsWritten', MetricUnit.Count, result.written.length);
    return result;
  };
