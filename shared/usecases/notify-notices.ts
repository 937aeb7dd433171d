/**
 * What notify sends (notify.ts): the notices due, each with its address and its mail rendered on
 * demand, for the outcome of every assessed provider's current final decision or for the season's
 * weekly progress.
 */
import type { StoredDecision } from '../model.ts';
import { renderOutcomeMail, renderProgressMail } from '../mail/templates.ts';
import { periodWindow, requireThreshold, type Campaign } from '../rules/campaign.ts';
import { depositBalanceAtClose } from '../rules/rules.ts';
import { seasonEligibility } from '../rules/seasons.ts';
import { localDate, parseInstant } from '../rules/time.ts';
import { weekOf } from '../rules/progress.ts';
import { mapLimit } from '../limit.ts';
import { earlierRevocations, profileVersions } from './seasons.ts';
import type { Notice, NotifyDeps, NotifyRequest } from './notify.ts';

/** The outcome notices: one per assessed provider's current final decision, as the provider is told it. */
export async function outcomeNotices(c: Campaign, { stores, mail }: NotifyDeps): Promise<{ notices: Notice[]; note?: string }> {
  const current = await stores.decisions.current(c.campaignId);
  if (!current.length) return { notices: [], note: 'no final decisions yet: run the evaluation after the close' };
  // Not assessed providers get no outcome mail (RULES.md 2.1).
  const assessed = current.filter((d) => d.final && d.outcome !== 'not_assessed');
  // The mail goes to the provider's address and name as they are now, not as they were at the decision.
  const profiles = new Map((await stores.source.profilesOf(assessed.map((d) => d.providerId))).map((p) => [p.providerId, p]));
  return {
    notices: assessed.map((decided: StoredDecision) => {
      const p = profiles.get(decided.providerId);
      const now = p ? { ...decided, email: p.email, providerName: p.name } : decided;
      // A revision that changed only figures has no mail of its own (RULES.md, "correction mail"): its
      // notice is that of the revision the provider is told by, sent already or (still due) with today's figures.
      const seq = now.mailRevision ?? now.revision;
      const { changes: _figures, ...asTold } = now;
      const d = seq === now.revision ? now : { ...asTold, revision: seq };
      return { providerId: d.providerId, seq, to: d.email, render: () => renderOutcomeMail({ decision: d, campaign: c, settings: mail.settings }) };
    }),
  };
}

/** The progress notices of the week of `req.asOf` (default now): the assessed providers' counts so far. */
export async function progressNotices(c: Campaign, { stores, mail, campaigns }: NotifyDeps, req: NotifyRequest, now: Date): Promise<{ notices: Notice[]; note?: string }> {
  const asOfMs = req.asOf ? parseInstant(req.asOf)! : now.getTime();
  const w = periodWindow(c);
  if (asOfMs < w.startMs || asOfMs >= w.endMs)
    return { notices: [], note: `progress mail is sent during the season only (${w.startIso} .. ${w.endIso}); as of ${new Date(asOfMs).toISOString()} it is not` };
  const camp = requireThreshold(c, { deployment: req.thresholdOrders });
  const asOfDate = localDate(asOfMs, c.utcOffsetMinutes);
  const week = weekOf(c, asOfDate);
  // The assessed only, across seasons: scope and regularization as the evaluation judges them.
  const revoked = await earlierRevocations(c, campaigns?.() ?? [], stores.decisions);
  const providers = (await stores.source.providers()).filter((p) => seasonEligibility(c, profileVersions(p), revoked.get(p.providerId) ?? []).eligibility.assessed);
  const totals = new Map(
    (
      await stores.aggregates.providerTotalsOf(
        c,
        providers.map((p) => p.providerId),
      )
    ).map((t) => [t.providerId, t]),
  );
  const notices = await mapLimit(providers, 8, async (p) => {
    const t = totals.get(p.providerId);
    // Orders of days before the as-of day: that day is still running.
    const ordersByDay = Object.fromEntries(Object.entries(t?.byDay ?? {}).filter(([day]) => day < asOfDate));
    const deposits = await stores.source.depositsOfProvider(p.providerId);
    const depositBalanceFen = depositBalanceAtClose(
      camp,
      deposits.map((d) => ({ kind: d.kind, amountFen: d.amountFen, atMs: Date.parse(d.at) })).filter((d) => d.atMs < asOfMs),
    );
    const snapshot = {
      providerId: p.providerId,
      providerName: p.name,
      email: p.email,
      asOfDate,
      paidOrders: Object.values(ordersByDay).reduce((a, b) => a + b, 0),
      thresholdOrders: camp.thresholdOrders,
      ordersByDay,
      depositBalanceFen,
      depositRequiredFen: camp.depositRequiredFen,
      periodStartDate: camp.periodStartDate,
      periodEndDate: camp.periodEndDate,
    };
    return { providerId: p.providerId, seq: week, to: p.email, render: () => renderProgressMail({ snapshot, campaign: camp, settings: mail.settings }) };
  });
  return { notices };
}
