/**
 * The provider mails' inputs for the unit tests: the settings a deployment gives, a progress snapshot
 * of renewal-2024 with only what a test varies left to it, and the two renderers bound to the campaign.
 */
import { expect } from 'vitest';

import type { StoredDecision } from '#shared/model.ts';
import { type MailSettings, type ProgressSnapshot, type RenderedMail, renderOutcomeMail, renderProgressMail } from '#shared/mail/templates.ts';
import { RENEWAL_2024 } from './campaigns.ts';

/** The mail settings of the real campaign: the platform's feedback mailbox, the exit procedure by its title. */
export const SETTINGS: MailSettings = { feedbackMailbox: 'douyinpartner@bytedance.com', exitRefundProcedure: '《抖店服务市场服务商退出退保流程说明》' };

/** What a progress snapshot says of one provider; the season's figures come from `progressSnapshot`. */
export type ProviderProgress = Pick<ProgressSnapshot, 'providerId' | 'providerName' | 'email' | 'asOfDate' | 'paidOrders' | 'ordersByDay' | 'depositBalanceFen'>;

/** A snapshot of renewal-2024: threshold 10,000 orders, deposit 10,000,000 fen, season 2023-12-01..2024-02-29. */
export function progressSnapshot(p: ProviderProgress): ProgressSnapshot {
  return {
    providerId: p.providerId,
    providerName: p.providerName,
    email: p.email,
    asOfDate: p.asOfDate,
    paidOrders: p.paidOrders,
    thresholdOrders: 10_000,
    ordersByDay: p.ordersByDay,
    depositBalanceFen: p.depositBalanceFen,
    depositRequiredFen: 10_000_000,
    periodStartDate: '2023-12-01',
    periodEndDate: '2024-02-29',
  };
}

/** The outcome mail of `decision` for renewal-2024. */
export const outcomeMail = (decision: StoredDecision, settings: MailSettings = SETTINGS): RenderedMail => renderOutcomeMail({ decision, campaign: RENEWAL_2024, settings });

/** The progress mail of `snapshot` for renewal-2024. */
export const progressMail = (snapshot: ProgressSnapshot, settings: MailSettings = SETTINGS): RenderedMail => renderProgressMail({ snapshot, campaign: RENEWAL_2024, settings });

/** Both parts of a mail, the plain text and the HTML: what a provider reads must stand in each. */
export const bothParts = (m: Pick<RenderedMail, 'text' | 'html'>): [string, string] => [m.text, m.html];

/** Each phrase stands in both parts of `mail`: one assertion a phrase and part, so a failure names the one missing. */
export function expectPhrases(mail: Pick<RenderedMail, 'text' | 'html'>, phrases: readonly string[]): void {
  for (const part of bothParts(mail)) for (const phrase of phrases) expect(part).toContain(phrase);
}
