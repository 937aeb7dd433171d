import { loadCampaigns, REPO_CAMPAIGNS_DIR } from '#shared/campaigns.ts';
import { withThreshold, type Campaign, type ThresholdedCampaign } from '#shared/rules/campaign.ts';

/** The repository's campaign files, read as the CLI reads them. */
export const REPO_CAMPAIGNS = loadCampaigns(REPO_CAMPAIGNS_DIR);

/** renewal-2024 as campaigns/renewal-2024.json says it: no threshold (null). */
export const RENEWAL_2024_FILE: Campaign = REPO_CAMPAIGNS.require('renewal-2024');

/**
 * renewal-2024 with the 10,000-order threshold the tests of the rules were written against (the file
 * leaves the threshold to ops: null).
 */
export const RENEWAL_2024: ThresholdedCampaign = withThreshold(RENEWAL_2024_FILE, 10_000);

/** The repository's campaign with this id, as its file says. */
export const campaignOf = (id: string): Campaign => REPO_CAMPAIGNS.require(id);

/**
 * A second season for the tests of "Seasons after the first" (RULES.md): 2026-12-01..2027-02-28
 * (90 days), certified and regularized before 2026-12-01, a deposit of CNY 200,000, notice on
 * 2027-03-01, re-application 90 days later. Handed to the code under test as a campaign it knows,
 * as the registry of campaign files would hand it.
 */
export const RENEWAL_2027: Campaign = Object.freeze({
  ...RENEWAL_2024,
  campaignId: 'renewal-2027',
  rulesVersion: 'renewal-2027/1',
  periodStartDate: '2026-12-01',
  periodEndDate: '2027-02-28',
  certifiedBeforeDate: '2026-12-01',
  regularizedBeforeDate: '2026-12-01',
  depositRequiredFen: 20_000_000,
  noticeDate: '2027-03-01',
  reapplyAfterDays: 90,
});

/** Both seasons, as a deployment that knows them both hands them in. */
export const TWO_SEASONS: readonly Campaign[] = Object.freeze([RENEWAL_2024, RENEWAL_2027]);
