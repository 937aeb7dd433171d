import { parsePayload, reportPayload } from '#shared/payloads.ts';
import type { DecisionStore } from '#shared/store/decisions.ts';
import type { OutboxStore } from '#shared/store/outbox.ts';
import { buildReport, mailStatusLookup, type Report } from '#shared/usecases/report.ts';

/**
 * The decisions as `renewal report --json` prints them, for `renewal report --aws`, with each
 * provider's mail status from the outbox ledger, as the local report shows it. Read only.
 */
export const makeReport = (deps: { decisions: DecisionStore; outbox: OutboxStore }) =>
  async function reportHandler(event: unknown): Promise<Report> {
    const { campaignId } = parsePayload(reportPayload, event);
    return buildReport(deps.decisions, campaignId, mailStatusLookup(deps));
  };
