import { randomUUID } from 'node:crypto';
import type { StoredDecision } from '../model.ts';
import { renderOutcomeMail, renderProgressMail, type MailSettings, type RenderedMail } from '../mail/templates.ts';
import { isTransient, isValidAddress, type Mailer } from '../mailer.ts';
import { periodWindow, withThreshold, type Campaign } from '../rules/campaign.ts';
import { depositBalanceAtClose, eligibility } from '../rules/rules.ts';
import { daysBetween, localDate, parseInstant } from '../rules/time.ts';
import { uses, type Needs } from '../store/access.ts';
import { AGGREGATES_ACCESS } from '../store/aggregates.ts';
import { DECISIONS_ACCESS } from '../store/decisions.ts';
import { OUTBOX_ACCESS, type NoticeKind } from '../store/outbox.ts';
import { mapLimit, SOURCE_ACCESS } from '../store/source.ts';

/**
 * Sends the notices that are due and not yet sent (RULES.md 2.2.3, 3): the outcome of every
 * assessed provider's current final decision (a new revision is a new, marked notice), or the
 * season's weekly progress. The outbox ledger makes each notice go out once, however often or
 * concurrently this runs; transient SES errors are retried with backoff; permanent ones are
 * recorded and never block the rest; sending is paced to the configured rate.
 */

/** What notify uses of each store: its IAM policy is derived from this. */
export const NOTIFY_DECISIONS = uses(DECISIONS_ACCESS, ['current']);
export const NOTIFY_AGGREGATES = uses(AGGREGATES_ACCESS, ['providerTotalsOf']);
export const NOTIFY_SOURCE = uses(SOURCE_ACCESS, ['providers', 'depositsOfProvider']);
export const NOTIFY_OUTBOX = uses(OUTBOX_ACCESS, ['claim', 'markSent', 'markFailed']);
export const NOTIFY_NEEDS = [NOTIFY_DECISIONS, NOTIFY_AGGREGATES, NOTIFY_SOURCE, NOTIFY_OUTBOX];

export interface NotifyDeps {
  decisions: Needs<typeof NOTIFY_DECISIONS>;
  aggregates: Needs<typeof NOTIFY_AGGREGATES>;
  source: Needs<typeof NOTIFY_SOURCE>;
  outbox: Needs<typeof NOTIFY_OUTBOX>;
  mailer: Mailer;
  settings: MailSettings;
  /** Mails per second (the SES sending quota). */
  ratePerSecond: number;
  now: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** Sends per notice before a transient failure is recorded (a later run tries again). */
  maxAttempts?: number;
  progress?: (done: number, total: number, phase: string) => void;
}

export interface NotifyRequest {
  kind: NoticeKind;
  /** Progress mail: the instant the figures are as of (default now). */
  asOf?: string;
  /** Progress mail: the threshold to show, when configured apart from the campaign. */
  thresholdOrders?: number;
}

export interface Notice {
  providerId: string;
  seq: number;
  to: string;
  render: () => RenderedMail;
}

export interface NotifyResult {
  campaignId: string;
  kind: NoticeKind;
  due: number;
  sent: number;
  alreadySent: number;
  /** Claimed by another run that is sending it right now. */
  inFlight: number;
  failed: { providerId: string; seq: number; reason: string; permanent: boolean }[];
  /** Sent, but the ledger could not record it: a run after the claim's lease (5 min) may send it again. */
  unrecorded: { providerId: string; seq: number; reason: string }[];
  /** Why nothing was due, when that is the answer. */
  note?: string;
  seconds: number;
}

export async function notify(c: Campaign, deps: NotifyDeps, req: NotifyRequest): Promise<NotifyResult> {
  const started = deps.now();
  const { notices, note } = req.kind === 'outcome' ? await outcomeNotices(c, deps) : await progressNotices(c, deps, req, started);
  const result: NotifyResult = { campaignId: c.campaignId, kind: req.kind, due: notices.length, sent: 0, alreadySent: 0, inFlight: 0, failed: [], unrecorded: [], ...(note ? { note } : {}), seconds: 0 };
  const pace = pacer(deps.ratePerSecond, deps.now, deps.sleep ?? sleep);
  const owner = randomUUID();
  let done = 0;
  await mapLimit(notices, Math.max(1, Math.min(16, Math.ceil(deps.ratePerSecond))), async (n) => {
    const outcome = await deliver(c, deps, req.kind, n, owner, pace);
    if (outcome.status === 'sent') {
      result.sent++;
      if (outcome.unrecorded) result.unrecorded.push({ providerId: n.providerId, seq: n.seq, reason: outcome.unrecorded });
    }
    else if (outcome.status === 'already') result.alreadySent++;
    else if (outcome.status === 'in-flight') result.inFlight++;
    else if (outcome.status === 'failed') result.failed.push({ providerId: n.providerId, seq: n.seq, reason: outcome.reason, permanent: outcome.permanent });
    deps.progress?.(++done, notices.length, `${req.kind} mail`);
  });
  result.failed.sort((a, b) => a.providerId.localeCompare(b.providerId));
  result.seconds = (deps.now().getTime() - started.getTime()) / 1000;
  return result;
}

type Delivery =
  | { status: 'sent'; unrecorded?: string }
  | { status: 'already' | 'in-flight' }
  | { status: 'failed'; reason: string; permanent: boolean };

async function deliver(c: Campaign, deps: NotifyDeps, kind: NoticeKind, n: Notice, owner: string, pace: () => Promise<void>): Promise<Delivery> {
  const id = { campaignId: c.campaignId, kind, providerId: n.providerId, seq: n.seq };
  const claim = await deps.outbox.claim({ ...id, to: n.to }, owner, deps.now(), 5 * 60_000);
  if (!claim.claimed) {
    const e = claim.entry;
    if (e.status === 'sent') return { status: 'already' };
    if (e.status === 'failed') return { status: 'failed', reason: e.error ?? 'failed', permanent: true };
    return { status: 'in-flight' };
  }
  const fail = async (reason: string, permanent: boolean): Promise<Delivery> => {
    try {
      await deps.outbox.markFailed(id, owner, reason, permanent, deps.now());
    } catch (err) {
      // Our lease ran out and another run holds the notice now: it is theirs to settle.
      if ((err as Error).name === 'ConditionalCheckFailedException') return { status: 'in-flight' };
      throw err;
    }
    return { status: 'failed', reason, permanent };
  };
  // The address is checked before anything goes out: it is the provider's own input.
  if (!isValidAddress(n.to)) return fail(`invalid address ${JSON.stringify(n.to)}`, true);
  let mail: RenderedMail;
  try {
    mail = n.render();
  } catch (err) {
    return fail(`cannot render: ${(err as Error).message}`, true);
  }
  const maxAttempts = deps.maxAttempts ?? 6;
  const wait = deps.sleep ?? sleep;
  let messageId: string | undefined;
  for (let attempt = 1; messageId === undefined; attempt++) {
    await pace();
    try {
      ({ messageId } = await deps.mailer.send({ to: n.to, ...mail }));
    } catch (err) {
      const reason = `${(err as Error).name}: ${(err as Error).message}`;
      if (!isTransient(err)) return fail(reason, true);
      if (attempt >= maxAttempts) return fail(`${reason} (after ${attempt} attempts; a later run retries)`, false);
      await wait(Math.min(20_000, 200 * 2 ** attempt) * (0.5 + Math.random() / 2));
    }
  }
  // SES has the mail: from here on nothing sends it again in this run. Recording it is retried on
  // its own; if that still fails, the claim's lease keeps other runs off it for a while, and the
  // result says the notice went out unrecorded.
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.outbox.markSent(id, owner, { messageId, subject: mail.subject }, deps.now());
      return { status: 'sent' };
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException' || attempt >= 5) return { status: 'sent', unrecorded: `${(err as Error).name}: ${(err as Error).message}` };
      await wait(100 * 2 ** attempt);
    }
  }
}

async function outcomeNotices(c: Campaign, deps: NotifyDeps): Promise<{ notices: Notice[]; note?: string }> {
  const current = await deps.decisions.current(c.campaignId);
  if (!current.length) return { notices: [], note: 'no final decisions yet: run the evaluation after the close' };
  // Not assessed providers get no outcome mail (RULES.md 2.1).
  const assessed = current.filter((d) => d.final && d.outcome !== 'not_assessed');
  // The mail goes to the provider's address and name as they are now, not as they were at the decision.
  const profiles = new Map((await deps.source.providers(assessed.map((d) => d.providerId))).map((p) => [p.providerId, p]));
  return {
    notices: assessed.map((decided: StoredDecision) => {
      const p = profiles.get(decided.providerId);
      const d = p ? { ...decided, email: p.email, providerName: p.name } : decided;
      return { providerId: d.providerId, seq: d.revision, to: d.email, render: () => renderOutcomeMail({ decision: d, campaign: c, settings: deps.settings }) };
    }),
  };
}

async function progressNotices(c: Campaign, deps: NotifyDeps, req: NotifyRequest, now: Date): Promise<{ notices: Notice[]; note?: string }> {
  const asOfMs = req.asOf ? parseInstant(req.asOf)! : now.getTime();
  const w = periodWindow(c);
  if (asOfMs < w.startMs || asOfMs >= w.endMs) return { notices: [], note: `progress mail is sent during the season only (${w.startIso} .. ${w.endIso}); as of ${new Date(asOfMs).toISOString()} it is not` };
  const camp = req.thresholdOrders ? withThreshold(c, req.thresholdOrders) : c;
  const asOfDate = localDate(asOfMs, c.utcOffsetMinutes);
  const week = Math.floor(daysBetween(w.days[0]!, asOfDate) / 7) + 1;
  const providers = (await deps.source.providers()).filter(
    (p) => eligibility(c, { certifiedAtMs: Date.parse(p.certifiedAt), ...(p.regularizedAt ? { regularizedAtMs: Date.parse(p.regularizedAt) } : {}) }).assessed,
  );
  const totals = new Map((await deps.aggregates.providerTotalsOf(c.campaignId, providers.map((p) => p.providerId))).map((t) => [t.providerId, t]));
  const notices = await mapLimit(providers, 8, async (p) => {
    const t = totals.get(p.providerId);
    // Orders of days before the as-of day: that day is still running.
    const ordersByDay = Object.fromEntries(Object.entries(t?.byDay ?? {}).filter(([day]) => day < asOfDate));
    const deposits = await deps.source.depositsOfProvider(p.providerId);
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
    return { providerId: p.providerId, seq: week, to: p.email, render: () => renderProgressMail({ snapshot, campaign: camp, settings: deps.settings }) };
  });
  return { notices };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A shared pace for every send of a run: at most `rate` starts per second. */
function pacer(rate: number, now: () => Date, wait: (ms: number) => Promise<void>) {
  const interval = 1000 / rate;
  let next = 0;
  return async () => {
    const t = now().getTime();
    const slot = Math.max(t, next);
    next = slot + interval;
    if (slot > t) await wait(slot - t);
  };
}
