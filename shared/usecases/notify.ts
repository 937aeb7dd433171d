import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { NOTICE_CLAIM_LEASE_MS } from '../leases.ts';
import type { MailSettings, RenderedMail } from '../mail/templates.ts';
import type { Mailer } from '../mailer.ts';
import type { Campaign } from '../rules/campaign.ts';
import type { RetryPolicy } from '../retry.ts';
import { uses, type Needs } from '../store/access.ts';
import { AGGREGATES_ACCESS } from '../store/aggregates.ts';
import { DECISIONS_ACCESS } from '../store/decisions.ts';
import { noticeTag, OUTBOX_ACCESS, type NoticeKind, type OutboxEntry } from '../store/outbox.ts';
import { mapLimit } from '../limit.ts';
import { SOURCE_ACCESS } from '../store/source.ts';
import { deliver, pacer, Reachability } from './notify-delivery.ts';
import { outcomeNotices, progressNotices } from './notify-notices.ts';

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
