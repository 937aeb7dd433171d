/**
 * How notify delivers one notice (notify.ts): claim it on the outbox ledger, check the address and
 * render, send with retries paced to the quota (asking SES's evidence where a send may have gone
 * out), then record it; and how a run judges SES unreachable and paces its sends.
 */
import type { Clock } from '../clock.ts';
import type { RenderedMail } from '../mail/templates.ts';
import { isEmailAddress } from '../events.ts';
import { isAmbiguous, isConnectionFailure, isTransient } from '../mailer.ts';
import { again, done, retry, type Attempt } from '../retry.ts';
import { noticeTag, type NoticeRef, type OutboxEntry } from '../store/outbox.ts';
import type { Notice, NotifyDeps } from './notify.ts';

/** Consecutive connection failures to SES across the run's sends, and the verdict once they are too many. */
export class Reachability {
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

/** How one notice ended for this run. */
export type Delivery =
  | { status: 'sent'; unrecorded?: string }
  | { status: 'already'; recovered?: true }
  | { status: 'in-flight'; until: string }
  | { status: 'uncertain'; after: string; reason: string }
  | { status: 'failed'; reason: string; permanent: boolean };

/** A notice this run has claimed: what SES's evidence says of it now, and how it is marked failed. */
interface Held {
  id: NoticeRef;
  n: Notice;
  owner: string;
  tag: string;
  /** What SES's evidence says about this notice now that we hold it: the evidence records a mail it finds. */
  ask(attempts: number): Promise<'sent' | 'never-sent' | 'unknown'>;
  fail(reason: string, permanent: boolean): Promise<Delivery>;
}

function held({ stores: { outbox }, mail, clock }: NotifyDeps, id: NoticeRef, n: Notice, owner: string, claimedAt: string): Held {
  const tag = noticeTag(id);
  return {
    id,
    n,
    owner,
    tag,
    async ask(attempts) {
      const { neverSent } = await mail.evidence.gather([{ ...id, status: 'sending', to: n.to, attempts, owner, claimedAt, updatedAt: claimedAt }]);
      if (neverSent.has(tag)) return 'never-sent';
      return (await outbox.get(id))?.status === 'sent' ? 'sent' : 'unknown';
    },
    async fail(reason, permanent) {
      // Our lease ran out and another run holds the notice now: it is theirs to settle.
      if (!(await outbox.markFailed(id, owner, reason, permanent, clock.now())).ok) return { status: 'in-flight', until: '?' };
      return { status: 'failed', reason, permanent };
    },
  };
}

export async function deliver(deps: NotifyDeps, id: NoticeRef, n: Notice, owner: string, pace: () => Promise<void>, provenUnsent: boolean, ses: Reachability): Promise<Delivery> {
  const {
    stores: { outbox },
    mail,
    clock,
    policy,
  } = deps;
  const now = clock.now();
  // A claim that ran out is taken over at once only when SES proved it never took the mail; else
  // only once SES has had time to publish an event about it.
  const staleBefore = new Date(now.getTime() - (provenUnsent ? 0 : mail.evidence.publishDelayMs));
  const claim = await outbox.claim({ ...id, to: n.to }, owner, now, policy.claimLeaseMs, staleBefore);
  if (!claim.claimed) return unclaimed(claim.entry, clock.now(), mail.evidence.publishDelayMs);
  const h = held(deps, id, n, owner, now.toISOString());
  // Not our first claim of it: a run that died (its lease ran out while this run was under way, so the
  // up-front reconciliation did not see it) or a failure before us may have left the mail with SES.
  // Ask before sending. Where the evidence cannot prove absence (SES's published events), the claim
  // was only taken once the publishing delay had passed, and that silence is the proof.
  if (claim.attempts > 1 && !provenUnsent && (await h.ask(claim.attempts)) === 'sent') return { status: 'already', recovered: true };
  // The address is checked before anything goes out: it is the provider's own input.
  if (!isEmailAddress(n.to)) return h.fail(`invalid address ${JSON.stringify(n.to)}`, true);
  let rendered: RenderedMail;
  try {
    rendered = n.render();
  } catch (err) {
    return h.fail(`cannot render: ${(err as Error).message}`, true);
  }
  const sending = await send(deps, h, rendered, pace, ses);
  if (!sending.ok) return h.fail(`${sending.last} (after ${sending.attempts} attempts; a later run retries)`, false);
  if ('status' in sending.value) return sending.value;
  return recordSent(deps, h, sending.value.messageId, rendered.subject);
}

/**
 * The sends of a held notice. Each try either ends the notice (SES took it: its message id; or a
 * Delivery that settles it) or is a transient failure worth another after the policy's backoff.
 */
function send({ stores: { outbox }, mail, clock, policy }: NotifyDeps, h: Held, rendered: RenderedMail, pace: () => Promise<void>, ses: Reachability) {
  const { id, n, owner } = h;
  return retry(
    policy.send,
    async (attempt): Promise<Attempt<{ messageId: string } | Delivery, string>> => {
      // SES was found unreachable while this notice waited for its retry: stop, a later run sends it.
      if (ses.down) return done(await h.fail(`${ses.down} (a later run retries)`, false));
      await pace();
      // A retry comes after a backoff: the claim must still be ours, with its lease ahead of the send.
      if (attempt > 1 && !(await outbox.renewClaim(id, owner, clock.now(), policy.claimLeaseMs)).ok) return done({ status: 'in-flight', until: '?' });
      try {
        const sent = await mail.sender.send({ to: n.to, ...rendered, notice: h.tag });
        ses.saw(undefined);
        return done(sent);
      } catch (err) {
        const reason = `${(err as Error).name}: ${(err as Error).message}`;
        ses.saw(err, reason);
        if (!isTransient(err)) return done(await h.fail(reason, true));
        if (isAmbiguous(err)) {
          // SES may have taken it. Ask the evidence before trying again: sending blind could send twice.
          // Evidence that cannot be read either (the embedded SES gone with its store) tells nothing.
          const said = await h.ask(attempt).catch(() => 'unknown' as const);
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
}

/**
 * SES has the mail: from here on nothing sends it again. Recording it is retried on its own; if
 * that still fails, SES's evidence (the Send event, or the embedded store) settles it later.
 */
async function recordSent({ stores: { outbox }, clock, policy }: NotifyDeps, h: Held, messageId: string, subject: string): Promise<Delivery> {
  const recording = await retry(
    policy.record,
    async (): Promise<Attempt<string | undefined, string>> => {
      try {
        const marked = await outbox.markSent(h.id, h.owner, { messageId, subject }, clock.now());
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

/** A shared pace for every send of a run: at most `rate` starts per second. */
export function pacer(rate: number, clock: Clock) {
  const interval = 1000 / rate;
  let next = 0;
  return async () => {
    const t = clock.now().getTime();
    const slot = Math.max(t, next);
    next = slot + interval;
    if (slot > t) await clock.sleep(slot - t);
  };
}
