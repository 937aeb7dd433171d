import { RENEWAL_2024, type Campaign } from '#shared/rules/campaign.ts';

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
