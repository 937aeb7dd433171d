import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { NOTICE_CLAIM_LEASE_MS } from '../leases.ts';
import type { StoredDecision } from '../model.ts';
import { renderOutcomeMail, renderProgressMail, type MailSettings, type RenderedMail } from '../mail/templates.ts';
import { isEmailAddress } from '../events.ts';
import { isAmbiguous, isConnectionFailure, isTransient, type Mailer } from '../mailer.ts';
import { periodWindow, requireThreshold, type Campaign } from '../rules/campaign.ts';
import { depositBalanceAtClose } from '../rules/rules.ts';
import { seasonEligibility } from '../rules/seasons.ts';
import { earlierRevocations, profileVersions } from './seasons.ts';
import { localDate, parseInstant } from '../rules/time.ts';
import { weekOf } from '../rules/progress.ts';
import { again, done, retry, type Attempt, type RetryPolicy } from '../retry.ts';
import { uses, type Needs } from '../store/access.ts';
import { AGGREGATES_ACCESS } from '../store/aggregates.ts';
import { DECISIONS_ACCESS } from '../store/decisions.ts';
import { noticeTag, OUTBOX_ACCESS, type NoticeKind, type NoticeRef, type OutboxEntry } from '../store/outbox.ts';
import { mapLimit } from '../limit.ts';
import { SOURCE_ACCESS } from '../store/source.ts';

/**
 * Sends the notices that are due and not yet sent (RULES.md 2.2.3, 3): the outcome of every
 * assessed provider's current final decision (a new revision is a new, marked notice), or the
 * season's weekly progress. The outbox ledger makes each notice go out once, however often or
 * concurrently this runs; transient SES errors are retried with backoff; permanent ones are
 * recorded and never block the rest; sending is paced to the configured rate. When SES cannot be
 * reached at all (a few connection failures in a row), the run stops at once and says what is left.
 */

/** What notify uses of each store: its IAM policy is derived from this. */
export const NOTIFY_DECISIONS = uses(DECISIONS_ACCESS, ['current']);
export const NOTIFY_AGGREGATES = uses(AGGREGATES_ACCESS, ['providerTotalsOf']);
export const NOTIFY_SOURCE = uses(SOURCE_ACCESS, ['providers', 'profilesOf', 'depositsOfProvider']);
export const NOTIFY_OUTBOX = uses(OUTBOX_ACCESS, ['entries', 'claim', 'renewClaim', 'get', 'markSent', 'markFailed', 'markUncertain']);
export const NOTIFY_NEEDS = [NOTIFY_DECISIONS, NOTIFY_AGGREGATES, NOTIFY_SOURCE, NOTIFY_OUTBOX];

/** The stores notify reads and writes, each as much of it as declared above. */
export interface NotifyStores {
  decisions: Needs<typeof NOTIFY_DECISIONS>;
  aggregates: Needs<typeof NOTIFY_AGGREGATES>;
  source: Needs<typeof NOTIFY_SOURCE>;
  outbox: Needs<typeof NOTIFY_OUTBOX>;
}

/** The mail service: what sends, what it can tell afterwards, and what the copy names. */
export interface NotifyMail {
  sender: Mailer;
  /** What SES knows about mails whose sender died or could not tell (see `MailEvidence`). */
  evidence: MailEvidence;
  settings: MailSettings;
}

/** How notify paces, holds and retries. */
export interface NotifyPolicy {
  /** Mails per second (the SES sending quota). */
  ratePerSecond: number;
  /** How long a claim keeps other runs off a notice (renewed before each retry). */
  claimLeaseMs: number;
  /** The sends of one notice: a transient failure that outlasts them is recorded, and a later run tries again. */
  send: RetryPolicy;
  /** Recording a mail SES took: if that still fails, SES's evidence (the Send event, the embedded store) settles it later. */
  record: RetryPolicy;
  /**
   * Connection failures to SES in a row (any notices, no answer from SES between them) after which
   * the run stops: nothing more is tried, and what is left is a later run's.
   */
  unreachableAfter: number;
}

/** Throttling and 5xx answers: from 0.4 s, doubling to at most 20 s, jittered so that parallel sends do not return together. */
export const NOTIFY_SEND_RETRY: RetryPolicy = { attempts: 6, baseMs: 400, capMs: 20_000, jitter: 0.5 };
/** The ledger's mark after a send: quick, since the mail is already out; the fourth and last wait is 1.6 s. */
export const NOTIFY_RECORD_RETRY: RetryPolicy = { attempts: 5, baseMs: 200, capMs: 1_600, jitter: 0 };

/**
 * Five connection failures in a row, with no answer from SES between them: SES is not there (a
 * closed port, a dead endpoint, no route). Trying every notice six times would take minutes and
 * send nothing.
 */
export const NOTIFY_UNREACHABLE_AFTER = 5;

/** notify's policy at a sending rate: the named claim lease and retries. */
export const notifyPolicy = (ratePerSecond: number): NotifyPolicy => ({
  ratePerSecond,
  claimLeaseMs: NOTICE_CLAIM_LEASE_MS,
  send: NOTIFY_SEND_RETRY,
  record: NOTIFY_RECORD_RETRY,
  unreachableAfter: NOTIFY_UNREACHABLE_AFTER,
});

export interface NotifyDeps {
  stores: NotifyStores;
  mail: NotifyMail;
  clock: Clock;
  policy: NotifyPolicy;
  progress?: (done: number, total: number, phase: string) => void;
  /** Every campaign the deployment knows: a provider an earlier one revoked gets no progress mail (RULES.md "Seasons after the first"). */
  campaigns?: () => readonly Campaign[];
}

/**
 * SES's evidence about mails whose sender died (or gave up) between claiming a notice and marking it:
 * the same reconciliation runs on AWS and on the embedded stack, only the source differs.
 */
export interface MailEvidence {
  /**
   * How long after a claim ended SES may still publish the first event about a mail sent under it.
   * Without positive evidence, a notice is sent again only after this much time without any event.
   */
  publishDelayMs: number;
  /**
   * Records on the ledger what the mail service knows about these notices (through the mail-events
   * use case) and returns the notice ids it can prove it never took. On AWS there is nothing to do
   * (the mail-events function records SES's events as they arrive) and no such proof; the embedded
   * SES keeps every mail it took in a store that can be read, so it can.
   */
  gather(entries: OutboxEntry[]): Promise<{ neverSent: Set<string> }>;
}

/** AWS: SES's events reach the ledger through the mail-events function; absence proves nothing until `publishDelayMs` has passed. */
export const publishedEvents = (publishDelayMs: number): MailEvidence => ({ publishDelayMs, gather: async () => ({ neverSent: new Set() }) });

export interface NotifyRequest {
  kind: NoticeKind;
  /** Progress mail: the instant the figures are as of (default now). */
  asOf?: string;
  /** Progress mail: the deployment's THRESHOLD_ORDERS, standing in for a campaign file that leaves the threshold null. */
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
  /** Left `sending` by a run that died, and found sent by SES's evidence: marked sent, not sent again. */
  recovered: number;
  /** Claimed by another run whose lease still runs (until `inFlightUntil`): that run is sending it. */
  inFlight: number;
  inFlightUntil?: string;
  /**
   * Nobody holds these and nobody can yet tell whether SES took them (a run died, or SES timed out):
   * they are sent again only after SES's event-publishing delay passes without an event (`after`).
   */
  uncertain: { providerId: string; seq: number; after: string; reason: string }[];
  failed: { providerId: string; seq: number; reason: string; permanent: boolean }[];
  /** Sent, but the ledger could not record it: SES's evidence will settle it on a later run. */
  unrecorded: { providerId: string; seq: number; reason: string }[];
  /** Notices of this campaign and kind that bounced or drew a complaint, as SES reported them. */
  bounced: { providerId: string; seq: number; bounceType: string; bounceSubType: string; at: string }[];
  complained: { providerId: string; seq: number; at: string; feedbackType?: string }[];
  /** Why nothing was due, when that is the answer. */
  note?: string;
  /**
   * The run stopped early because SES could not be reached: why, how many notices it never tried
   * (`notTried`, none of them claimed), and how many are left to send in all (these and the
   * transient failures): a later run sends them.
   */
  stopped?: { reason: string; notTried: number; left: number };
  seconds: number;
}

/** Consecutive connection failures to SES across the run's sends, and the verdict once they are too many. */
class Reachability {
  private inARow = 0;
  /** Set once SES is judged unreachable: the last failure, with the count. */
  down?: string;

  constructor(private readonly limit: number) {}

  /** What a send ended in: SES answered (anything), or the connection failed. */
  saw(err: unknown, reason?: string): void {
    if (err === undefined || !isConnectionFailure(err)) {
      this.inARow = 0;
      return;
    }
    if (++this.inARow >= this.limit && !this.down) this.down = `SES unreachable: ${this.inARow} connection failures in a row, the last ${reason}`;
  }
}

export async function notify(c: Campaign, deps: NotifyDeps, req: NotifyRequest): Promise<NotifyResult> {
  const { stores, mail, clock, policy } = deps;
  const started = clock.now();
  const { notices, note } = req.kind === 'outcome' ? await outcomeNotices(c, deps) : await progressNotices(c, deps, req, started);
  const result: NotifyResult = {
    campaignId: c.campaignId,
    kind: req.kind,
    due: notices.length,
    sent: 0,
    alreadySent: 0,
    recovered: 0,
    inFlight: 0,
    uncertain: [],
    failed: [],
    unrecorded: [],
    bounced: [],
    complained: [],
    ...(note ? { note } : {}),
    seconds: 0,
  };
  // Reconcile first: claims whose lease ran out without a result are checked against SES's evidence.
  const stale = (await stores.outbox.entries(c.campaignId, req.kind)).filter(
    (e) => e.status === 'sending' && !e.evidenceAt && e.leaseUntil !== undefined && Date.parse(e.leaseUntil) <= started.getTime(),
  );
  const staleTags = new Set(stale.map(noticeTag));
  const { neverSent } = stale.length ? await mail.evidence.gather(stale) : { neverSent: new Set<string>() };

  const pace = pacer(policy.ratePerSecond, clock);
  const owner = randomUUID();
  const ses = new Reachability(policy.unreachableAfter);
  let delivered = 0;
  let notTried = 0;
  await mapLimit(notices, Math.max(1, Math.min(16, Math.ceil(policy.ratePerSecond))), async (n) => {
    // SES is gone: the rest is not even claimed, so the next run finds it as if never tried.
    if (ses.down) {
      notTried++;
      return;
    }
    const ref = { campaignId: c.campaignId, kind: req.kind, providerId: n.providerId, seq: n.seq };
    const outcome = await deliver(deps, ref, n, owner, pace, neverSent.has(noticeTag(ref)), ses);
    if (outcome.status === 'sent') {
      result.sent++;
      if (outcome.unrecorded) result.unrecorded.push({ providerId: n.providerId, seq: n.seq, reason: outcome.unrecorded });
    } else if (outcome.status === 'already') {
      if (outcome.recovered || staleTags.has(noticeTag(ref))) result.recovered++;
      else result.alreadySent++;
    } else if (outcome.status === 'in-flight') {
      result.inFlight++;
      if (!result.inFlightUntil || outcome.until > result.inFlightUntil) result.inFlightUntil = outcome.until;
    } else if (outcome.status === 'uncertain') result.uncertain.push({ providerId: n.providerId, seq: n.seq, after: outcome.after, reason: outcome.reason });
    else result.failed.push({ providerId: n.providerId, seq: n.seq, reason: outcome.reason, permanent: outcome.permanent });
    deps.progress?.(++delivered, notices.length, `${req.kind} mail`);
  });
  // What SES reported back about this campaign's notices: ops must see a bounced outcome.
  for (const e of await stores.outbox.entries(c.campaignId, req.kind)) {
    if (e.bounce) result.bounced.push({ providerId: e.providerId, seq: e.seq, bounceType: e.bounce.type, bounceSubType: e.bounce.subType, at: e.bounce.at });
    if (e.complaint) result.complained.push({ providerId: e.providerId, seq: e.seq, at: e.complaint.at, ...(e.complaint.type ? { feedbackType: e.complaint.type } : {}) });
  }
  if (ses.down) result.stopped = { reason: ses.down, notTried, left: notTried + result.failed.filter((f) => !f.permanent).length };
  const byProvider = (a: { providerId: string }, b: { providerId: string }) => a.providerId.localeCompare(b.providerId);
  for (const list of [result.failed, result.uncertain, result.bounced, result.complained]) list.sort(byProvider);
  result.seconds = (clock.now().getTime() - started.getTime()) / 1000;
  return result;
}

type Delivery =
  | { status: 'sent'; unrecorded?: string }
  | { status: 'already'; recovered?: true }
  | { status: 'in-flight'; until: string }
  | { status: 'uncertain'; after: string; reason: string }
  | { status: 'failed'; reason: string; permanent: boolean };

async function deliver(
  { stores: { outbox }, mail, clock, policy }: NotifyDeps,
  id: NoticeRef,
  n: Notice,
  owner: string,
  pace: () => Promise<void>,
  provenUnsent: boolean,
  ses: Reachability,
): Promise<Delivery> {
  const leaseMs = policy.claimLeaseMs;
  const now = clock.now();
  // A claim that ran out is taken over at once only when SES proved it never took the mail; else
  // only once SES has had time to publish an event about it.
  const staleBefore = new Date(now.getTime() - (provenUnsent ? 0 : mail.evidence.publishDelayMs));
  const claim = await outbox.claim({ ...id, to: n.to }, owner, now, leaseMs, staleBefore);
  if (!claim.claimed) return unclaimed(claim.entry, clock.now(), mail.evidence.publishDelayMs);
  const tag = noticeTag(id);
  const claimedAt = now.toISOString();
  /** What SES's evidence says about this notice now that we hold it: the evidence records a mail it finds. */
  const ask = async (attempts: number): Promise<'sent' | 'never-sent' | 'unknown'> => {
    const { neverSent } = await mail.evidence.gather([{ ...id, status: 'sending', to: n.to, attempts, owner, claimedAt, updatedAt: claimedAt }]);
    if (neverSent.has(tag)) return 'never-sent';
    return (await outbox.get(id))?.status === 'sent' ? 'sent' : 'unknown';
  };
  // Not our first claim of it: a run that died (its lease ran out while this run was under way, so the
  // up-front reconciliation did not see it) or a failure before us may have left the mail with SES.
  // Ask before sending. Where the evidence cannot prove absence (SES's published events), the claim
  // was only taken once the publishing delay had passed, and that silence is the proof.
  if (claim.attempts > 1 && !provenUnsent && (await ask(claim.attempts)) === 'sent') return { status: 'already', recovered: true };
  const fail = async (reason: string, permanent: boolean): Promise<Delivery> => {
    // Our lease ran out and another run holds the notice now: it is theirs to settle.
    if (!(await outbox.markFailed(id, owner, reason, permanent, clock.now())).ok) return { status: 'in-flight', until: '?' };
    return { status: 'failed', reason, permanent };
  };
  // The address is checked before anything goes out: it is the provider's own input.
  if (!isEmailAddress(n.to)) return fail(`invalid address ${JSON.stringify(n.to)}`, true);
  let rendered: RenderedMail;
  try {
    rendered = n.render();
  } catch (err) {
    return fail(`cannot render: ${(err as Error).message}`, true);
  }
  // Each try either ends the notice (SES took it: its message id; or a Delivery that settles it) or
  // is a transient failure worth another after the policy's backoff.
  const sending = await retry(
    policy.send,
    async (attempt): Promise<Attempt<{ messageId: string } | Delivery, string>> => {
      // SES was found unreachable while this notice waited for its retry: stop, a later run sends it.
      if (ses.down) return done(await fail(`${ses.down} (a later run retries)`, false));
      await pace();
      // A retry comes after a backoff: the claim must still be ours, with its lease ahead of the send.
      if (attempt > 1 && !(await outbox.renewClaim(id, owner, clock.now(), leaseMs)).ok) return done({ status: 'in-flight', until: '?' });
      try {
        const sent = await mail.sender.send({ to: n.to, ...rendered, notice: tag });
        ses.saw(undefined);
        return done(sent);
      } catch (err) {
        const reason = `${(err as Error).name}: ${(err as Error).message}`;
        ses.saw(err, reason);
        if (!isTransient(err)) return done(await fail(reason, true));
        if (isAmbiguous(err)) {
          // SES may have taken it. Ask the evidence before trying again: sending blind could send twice.
          // Evidence that cannot be read either (the embedded SES gone with its store) tells nothing.
          const said = await ask(attempt).catch(() => 'unknown' as const);
          if (said === 'sent') return done({ status: 'sent' }); // SES had it: the evidence marked it sent
          if (said === 'unknown') {
            if (!(await outbox.markUncertain(id, owner, reason, clock.now())).ok) return done({ status: 'in-flight', until: '?' });
            return done({ status: 'uncertain', after: new Date(clock.now().getTime() + mail.evidence.publishDelayMs).toISOString(), reason });
          }
        }
        return again(reason);
      }
    },
    clock,
  );
  if (!sending.ok) return fail(`${sending.last} (after ${sending.attempts} attempts; a later run retries)`, false);
  if ('status' in sending.value) return sending.value;
  const { messageId } = sending.value;
  // SES has the mail: from here on nothing sends it again. Recording it is retried on its own; if
  // that still fails, SES's evidence (the Send event, or the embedded store) settles it later.
  const recording = await retry(
    policy.record,
    async (): Promise<Attempt<string | undefined, string>> => {
      try {
        const marked = await outbox.markSent(id, owner, { messageId, subject: rendered.subject }, clock.now());
        // Our lease ran out and another run holds the notice: trying again cannot make it ours.
        return done(marked.ok ? undefined : 'lease lost: another run holds the notice now');
      } catch (err) {
        return again(`${(err as Error).name}: ${(err as Error).message}`);
      }
    },
    clock,
  );
  const unrecorded = recording.ok ? recording.value : recording.last;
  return { status: 'sent', ...(unrecorded ? { unrecorded } : {}) };
}

/** Why a notice could not be claimed, from its entry as it stands. */
function unclaimed(e: OutboxEntry, now: Date, publishDelayMs: number): Delivery {
  if (e.status === 'sent') return { status: 'already' };
  if (e.status === 'failed') return { status: 'failed', reason: e.error ?? 'failed', permanent: true };
  const leaseEnd = Date.parse(e.leaseUntil ?? '') || 0;
  if (leaseEnd > now.getTime()) return { status: 'in-flight', until: e.leaseUntil! };
  return {
    status: 'uncertain',
    after: new Date(leaseEnd + publishDelayMs).toISOString(),
    reason: e.uncertain ?? `the run that claimed it at ${e.claimedAt ?? '?'} ended without marking it, and SES has reported nothing about it yet`,
  };
}

async function outcomeNotices(c: Campaign, { stores, mail }: NotifyDeps): Promise<{ notices: Notice[]; note?: string }> {
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

async function progressNotices(c: Campaign, { stores, mail, campaigns }: NotifyDeps, req: NotifyRequest, now: Date): Promise<{ notices: Notice[]; note?: string }> {
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

/** A shared pace for every send of a run: at most `rate` starts per second. */
function pacer(rate: number, clock: Clock) {
  const interval = 1000 / rate;
  let next = 0;
  return async () => {
    const t = clock.now().getTime();
    const slot = Math.max(t, next);
    next = slot + interval;
    if (slot > t) await clock.sleep(slot - t);
  };
}
