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
