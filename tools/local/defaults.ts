/**
 * The configuration of the embedded stack's functions before the shell's overrides: what ops may set
 * (`OVERRIDABLE`) and the stack's own values of it (`LOCAL_DEFAULTS`), read by `useLocalStack`.
 */
import { ENV } from '#shared/config.ts';
import { campaignRegistry } from '#shared/campaigns.ts';

/** Settings ops may set in the shell for the embedded stack too (docs/operations.md, "Configuration of the functions"); the rest is the stack's own. */
export const OVERRIDABLE = [
  ENV.mailFrom,
  ENV.mailFromName,
  ENV.mailReplyTo,
  ENV.sesConfigurationSet,
  ENV.feedbackMailbox,
  ENV.exitRefundProcedure,
  ENV.mailRatePerSecond,
  ENV.mailEventWaitSeconds,
  ENV.thresholdOrders,
  ENV.aggregationOverlapSeconds,
] as const;

/** The first campaign by its period (the demo season's): the notice `local status` shows, the reply-to of the mails. */
export const firstCampaign = () =>
  campaignRegistry().list()[0] ??
  (() => {
    throw new Error('no campaign files (campaigns/*.json)');
  })();

/**
 * The embedded stack configured as ops configure a deployment: a made-up sender whose replies go to the
 * rules' feedback mailbox, a quick pace, and a short re-read window (dynalite's indexes are current the
 * moment a write returns). No threshold: a campaign file's, the shell's THRESHOLD_ORDERS or a run's
 * --threshold gives it, and an evaluation with none is refused (RULES.md "threshold"); the demo passes
 * its own season's.
 */
export const LOCAL_DEFAULTS: Record<(typeof OVERRIDABLE)[number], string | undefined> = {
  MAIL_FROM: 'renewal-noreply@provider-renewal.example',
  MAIL_FROM_NAME: '抖音电商服务市场 Douyin Service Market',
  MAIL_REPLY_TO: undefined, // the first campaign's feedback mailbox, read when the stack is used
  SES_CONFIGURATION_SET: undefined,
  FEEDBACK_MAILBOX: undefined,
  EXIT_REFUND_PROCEDURE: undefined,
  MAIL_RATE_PER_SECOND: '50',
  MAIL_EVENT_WAIT_SECONDS: undefined,
  THRESHOLD_ORDERS: undefined,
  AGGREGATION_OVERLAP_SECONDS: '5',
};
