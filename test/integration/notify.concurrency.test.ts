import { SESv2Client } from '@aws-sdk/client-sesv2';
import { describe, expect, it } from 'vitest';
import { NOTICE_CLAIM_LEASE_MS } from '#shared/leases.ts';
import { SesMailer } from '#shared/mailer.ts';
import { noticeTag, OutboxStore } from '#shared/store/outbox.ts';
import type { NotifyResult } from '#shared/usecases/notify.ts';
import { CAMPAIGN, FULL_DEPOSIT_FEN, MAIL, countByRecipient, december, notifyStack, type ProviderSpec } from '../support/notify-fixture.ts';

/**
 * OPS.md `notify`: "never sends the same notice twice", however many runs race (the outcome hand-off
 * after an evaluation, the schedule, a person). Runs share only the outbox ledger in dynalite and the
 * real SES (aws-ses-v2-local), where every mail is counted per recipient. The races are forced by a
 * barrier at the claim, and each test checks that they took place.
 */

const stack = await notifyStack();

/** Eight assessed providers (four retained, four revoked) and one not assessed. */
const SEASON: ProviderSpec[] = [
  ...['A', 'B', 'C', 'D'].map((key) => ({ key, orders: december(4), depositFen: FULL_DEPOSIT_FEN })),
  ...['E', 'F', 'G', 'H'].map((key) => ({ key, orders: december(1), depositFen: FULL_DEPOSIT_FEN })),
  { key: 'PRB', orders: december(4), depositFen: FULL_DEPOSIT_FEN, regularized: false },
];
const ASSESSED = SEASON.filter((p) => p.regularized !== false).map((p) => p.key);

/**
 * The runs' outbox, each run's claims held at a barrier until every racing run has come to claim the
 * same notice: then all of them send their conditional claim together, and exactly one may win. Each
 * claim's outcome is recorded per run, so a test can check that the race it needs really took place.
 */
function claimRace(runs: number) {
  const arrived = new Map<string, number>();
  const gates = new Map<string, { open: Promise<void>; release: () => void }>();
  const claims: { run: number; providerId: string; claimed: boolean }[] = [];
  const gate = (key: string) => {
    let g = gates.get(key);
    if (!g) {
      let release!: () => void;
      g = { open: new Promise<void>((r) => (release = r)), release };
      gates.set(key, g);
    }
    return g;
  };
  const outbox = (run: number, s: Awaited<ReturnType<typeof stack.season>>) =>
    new (class RacingOutbox extends OutboxStore {
      override async claim(...args: Parameters<OutboxStore['claim']>) {
        const key = args[0].providerId;
        const g = gate(key);
        arrived.set(key, (arrived.get(key) ?? 0) + 1);
        if (arrived.get(key) === runs) g.release();
        // Bounded, so that a broken barrier fails the assertions below instead of hanging the run.
        await Promise.race([g.open, new Promise((r) => setTimeout(r, 15_000))]);
        const r = await super.claim(...args);
        claims.push({ run, providerId: key, claimed: r.claimed });
        return r;
      }
    })(s.deps.db, s.tables);
  /** Per notice, how many runs claimed it and how many found it claimed: the race happened iff every notice was tried by every run at once. */
  const tally = () => {
    const by: Record<string, { won: number; lost: number }> = {};
    for (const c of claims) {
      const t = (by[c.providerId] ??= { won: 0, lost: 0 });
      if (c.claimed) t.won++;
      else t.lost++;
    }
    return by;
  };
  return { outbox, tally, arrived };
}

function expectAccounted(r: NotifyResult, due: number) {
  expect(r.due).toBe(due);
  expect(r.failed).toEqual([]);
  expect(r.sent + r.alreadySent + r.inFlight).toBe(due);
}

describe('runs racing for the same notices', () => {
  it('two outcome runs that claim every notice at the same moment send each notice exactly once in total', async () => {
    const s = await stack.season(SEASON);
    const race = claimRace(2);
    const [a, b] = await Promise.all([s.notify({ kind: 'outcome' }, { outbox: race.outbox(0, s) }), s.notify({ kind: 'outcome' }, { outbox: race.outbox(1, s) })]);
    // The race took place: both runs tried every notice together, and one claim of each won.
    expect(race.tally()).toEqual(Object.fromEntries(ASSESSED.map((k) => [s.id(k), { won: 1, lost: 1 }])));
    expectAccounted(a, ASSESSED.length);
    expectAccounted(b, ASSESSED.length);
    expect(a.sent + b.sent).toBe(ASSESSED.length);

    const mails = await s.mail();
    expect(countByRecipient(mails)).toEqual(Object.fromEntries(ASSESSED.map((k) => [s.email(k), 1])));

    // Once both are done, a third run finds everything sent.
    expect(await s.notify({ kind: 'outcome' })).toMatchObject({ due: ASSESSED.length, sent: 0, alreadySent: ASSESSED.length, inFlight: 0 });
    expect(await s.mail()).toHaveLength(ASSESSED.length);
    const entries = await s.deps.outbox.entries(CAMPAIGN, 'outcome');
    expect(entries.map((e) => e.status)).toEqual(ASSESSED.map(() => 'sent'));
    expect(entries.map((e) => e.messageId).sort()).toEqual(mails.map((m) => m.messageId).sort());
  });

  it('three progress runs that claim every notice at the same moment send one mail per provider for the week', async () => {
    const s = await stack.season(SEASON);
    const payload = { kind: 'progress', asOf: '2024-01-10T12:00:00+08:00' };
    const race = claimRace(3);
    const runs = await Promise.all([0, 1, 2].map((n) => s.notify(payload, { outbox: race.outbox(n, s) })));
    expect(race.tally()).toEqual(Object.fromEntries(ASSESSED.map((k) => [s.id(k), { won: 1, lost: 2 }])));
    for (const r of runs) expectAccounted(r, ASSESSED.length);
    expect(runs.reduce((n, r) => n + r.sent, 0)).toBe(ASSESSED.length);
    const mails = await s.mail();
    expect(countByRecipient(mails)).toEqual(Object.fromEntries(ASSESSED.map((k) => [s.email(k), 1])));
    expect(mails.every((m) => m.subject.includes('week 6'))).toBe(true);
  });
});

describe('a run that died holding a claim', () => {
  it('blocks the others until its lease runs out (they report it in flight); then a run sends it, once', async () => {
    const s = await stack.season(SEASON.slice(3, 6)); // D retained, E and F revoked
    const dead = { campaignId: CAMPAIGN, kind: 'outcome' as const, providerId: s.id('E'), seq: 1, to: s.email('E') };
    // The runs read a clock of their own: the claim's real lease, and nothing waits for it.
    const claimedAt = Date.parse('2024-03-01T02:00:00.000Z');
    const at = (ms: number) => ({ clock: { now: () => new Date(ms) } });
    expect(await s.deps.outbox.claim(dead, 'run-that-died', new Date(claimedAt), NOTICE_CLAIM_LEASE_MS)).toEqual({ claimed: true, attempts: 1 });
    const leaseEnds = claimedAt + NOTICE_CLAIM_LEASE_MS;

    // Two runs a second after the claim and one a millisecond before its lease ends: all see E in
    // flight until then, and D and F go out once between them.
    const [a, b] = await Promise.all([s.notify({ kind: 'outcome' }, at(claimedAt + 1000)), s.notify({ kind: 'outcome' }, at(claimedAt + 1000))]);
    const c = await s.notify({ kind: 'outcome' }, at(leaseEnds - 1));
    // Racing each other, a and b may also see the other's claims in flight; c runs alone.
    for (const r of [a, b, c]) {
      expectAccounted(r, 3);
      expect(r.inFlight).toBeGreaterThanOrEqual(1);
    }
    expect(c).toMatchObject({ sent: 0, alreadySent: 2, inFlight: 1, inFlightUntil: new Date(leaseEnds).toISOString() });
    expect(a.sent + b.sent + c.sent).toBe(2);
    let mails = await s.mail();
    expect(countByRecipient(mails)).toEqual({ [s.email('D')]: 1, [s.email('F')]: 1 });
    const held = (await s.deps.outbox.entries(CAMPAIGN, 'outcome')).find((e) => e.providerId === s.id('E'))!;
    expect(held).toMatchObject({ status: 'sending', owner: 'run-that-died' });

    // The instant the lease ends, a run takes the notice over (the embedded SES proves it never went out) and sends it.
    const after = await s.notify({ kind: 'outcome' }, at(leaseEnds));
    expect(after).toMatchObject({ due: 3, sent: 1, alreadySent: 2, inFlight: 0, failed: [] });
    mails = await s.mail();
    expect(countByRecipient(mails)).toEqual({ [s.email('D')]: 1, [s.email('E')]: 1, [s.email('F')]: 1 });
    const settled = (await s.deps.outbox.entries(CAMPAIGN, 'outcome')).find((e) => e.providerId === s.id('E'))!;
    expect(settled).toMatchObject({ status: 'sent', attempts: 2 });
    expect(settled.owner).not.toBe('run-that-died');
    expect(settled.leaseUntil).toBeUndefined();

    // The run that died cannot settle the notice it lost: only the current owner may.
    expect(await s.deps.outbox.markFailed(dead, 'run-that-died', 'late', true, new Date())).toEqual({ ok: false, reason: 'lease-lost' });
    expect(await s.notify({ kind: 'outcome' }, at(leaseEnds + 1000))).toMatchObject({ sent: 0, alreadySent: 3 });
  });
  it('whose lease runs out while another run is under way: that run asks SES before sending, and SES has the mail', async () => {
    const s = await stack.season(SEASON.slice(3, 5)); // D retained, E revoked
    const dead = { campaignId: CAMPAIGN, kind: 'outcome' as const, providerId: s.id('E'), seq: 1 };
    const claimedAt = Date.parse('2024-03-01T02:00:00.000Z');
    expect(await s.deps.outbox.claim({ ...dead, to: s.email('E') }, 'run-that-died', new Date(claimedAt), NOTICE_CLAIM_LEASE_MS)).toMatchObject({ claimed: true });
    // The dead run got its mail to SES and died before the ledger heard of it.
    const { messageId } = await new SesMailer(new SESv2Client({ ...stack.clients.ses, maxAttempts: 1 }), MAIL).send({
      to: s.email('E'),
      subject: 'outcome',
      html: '<p>outcome</p>',
      text: 'outcome',
      notice: noticeTag(dead),
    });

    // The new run starts a millisecond before that lease ends, so its up-front reconciliation leaves
    // the claim alone; by the time it reaches the notice, the lease is over.
    let now = claimedAt + NOTICE_CLAIM_LEASE_MS - 1;
    class LeaseEndsDuringTheRun extends OutboxStore {
      override async entries(...args: Parameters<OutboxStore['entries']>) {
        const found = await super.entries(...args);
        now = claimedAt + NOTICE_CLAIM_LEASE_MS + 1000;
        return found;
      }
    }
    const r = await s.notify({ kind: 'outcome' }, { outbox: new LeaseEndsDuringTheRun(s.deps.db, s.tables), clock: { now: () => new Date(now) } });
    expect(r).toMatchObject({ due: 2, sent: 1, recovered: 1, inFlight: 0, failed: [], uncertain: [] });
    expect(countByRecipient(await s.mail())).toEqual({ [s.email('D')]: 1, [s.email('E')]: 1 });
    expect(await s.deps.outbox.get(dead)).toMatchObject({ status: 'sent', messageId, settledBy: 'ses-event' });
  });
});
