import { makeMailEvents } from '#functions/handlers/mail-events.ts';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAIL_EVENT_WAIT_DEFAULT_MS, NOTICE_CLAIM_LEASE_MS } from '#shared/leases.ts';
import type { NotifyResult } from '#shared/usecases/notify.ts';
import { noticeTag } from '#shared/store/outbox.ts';
import { CAMPAIGN, FULL_DEPOSIT_FEN, MAIL, countByRecipient, december, notifyStack, type Season } from '../support/notify-fixture.ts';
import { sesEvent, snsEvent } from '../support/ses-events.ts';
import { childEnv } from '../support/stack.ts';

/**
 * notify killed with SIGKILL, as a crashed Lambda or a killed CLI dies: a real child process
 * (test/support/notify-child.ts) stopped at a chosen point — after a claim and before its send,
 * between SES accepting a mail and the ledger recording it, after a mark — and killed by this
 * process. Later runs, with the clock moved past the claim's lease instead of waiting for it,
 * reconcile against SES's evidence. What counts is the SES store: every notice exactly once.
 */
const stack = await notifyStack();
const CHILD = resolve(import.meta.dirname, '../support/notify-child.ts');
const LEASE_MS = NOTICE_CLAIM_LEASE_MS;
const WAIT_MS = MAIL_EVENT_WAIT_DEFAULT_MS; // SES's event-publishing delay, as the child (no MAIL_EVENT_WAIT_SECONDS) waits for it

interface ChildRun {
  stopped?: string;
  result?: NotifyResult;
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

function runChild(s: Season, clockMs: number, stop: string, evidence: 'embedded' | 'aws' = 'embedded'): Promise<ChildRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: childEnv({
        CHILD_TABLES: JSON.stringify(s.tables),
        CHILD_CLOCK: new Date(clockMs).toISOString(),
        CHILD_STOP: stop,
        CHILD_EVIDENCE: evidence,
        MAIL_FROM: MAIL.from,
        MAIL_RATE_PER_SECOND: '4',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let stopped: string | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^STOP (\S+)$/m.exec(out);
      if (m && !stopped) {
        stopped = m[1];
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      done({ stopped, signal, code, stderr, ...(!stopped && last.startsWith('{') ? { result: JSON.parse(last) as NotifyResult } : {}) });
    });
  });
}

const T0 = Date.parse('2024-03-01T01:00:00Z');

describe('notify SIGKILLed at chosen points (the embedded stack: the SES store is the evidence)', () => {
  it('killed nine times at different points, then run with the clock past the lease: every notice sent exactly once', { timeout: 180_000 }, async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `K${i}`);
    const s = await stack.season(keys.map((key, i) => ({ key, orders: december(i % 3 ? 4 : 1), depositFen: FULL_DEPOSIT_FEN })));
    let clock = T0;
    const points = ['send:1', 'send:2', 'claim:1', 'send:1', 'mark:1', 'claim:2', 'send:3', 'send:1', 'mark:2'];
    const stops: string[] = [];
    for (const point of points) {
      const r = await runChild(s, clock, point);
      if (r.stopped) {
        expect(r.signal, r.stderr).toBe('SIGKILL');
        stops.push(r.stopped);
      } else expect(r.code, r.stderr).toBe(0); // nothing was left to reach that point with
      // Never a second mail, whatever the run died in the middle of.
      expect(Object.values(countByRecipient(await s.mail())).every((n) => n === 1)).toBe(true);
      clock += LEASE_MS + 1000;
    }
    expect(stops.length).toBeGreaterThanOrEqual(6);

    // Within the lease of a killed run, a new run leaves its claims alone and says so.
    const killed = await runChild(s, clock, 'send:1');
    const within = await runChild(s, clock + 10_000, '');
    if (killed.stopped) expect(within.result!.inFlight).toBeGreaterThanOrEqual(1);

    const final = await runChild(s, clock + 10_000 + LEASE_MS + 1000, '');
    expect(final.code, final.stderr).toBe(0);
    expect(final.result).toMatchObject({ due: 12, failed: [], uncertain: [], inFlight: 0 });
    expect(final.result!.sent + final.result!.alreadySent + final.result!.recovered).toBe(12);
    expect(countByRecipient(await s.mail())).toEqual(Object.fromEntries(s.addresses.map((a) => [a, 1])));
    const entries = await s.deps.outbox.entries(CAMPAIGN, 'outcome');
    expect(entries.map((e) => e.status)).toEqual(Array(12).fill('sent'));
    // Each ledger entry names the very mail SES holds for it.
    const mails = await s.mail();
    for (const e of entries) expect(e.messageId).toBe(mails.find((m) => m.destination.to[0] === s.email(e.providerId.replace(`-${s.token}`, '')))!.messageId);
  });
});

describe("notify SIGKILLed on AWS terms (only SES's published events are evidence)", () => {
  it('killed between SES accepting and the ledger: not sent again while SES may still publish; the Send event settles it', { timeout: 60_000 }, async () => {
    const s = await stack.season([{ key: 'A', orders: december(4), depositFen: FULL_DEPOSIT_FEN }]);
    const killed = await runChild(s, T0, 'send:1', 'aws');
    expect(killed.signal).toBe('SIGKILL');
    expect(await s.mail()).toHaveLength(1);

    // Past the lease, but SES's events may still be on their way: uncertain, nothing sent.
    const early = await runChild(s, T0 + LEASE_MS + 1000, '', 'aws');
    expect(early.result).toMatchObject({ sent: 0, recovered: 0, uncertain: [{ providerId: s.id('A'), seq: 1 }] });
    expect(Date.parse(early.result!.uncertain[0]!.after)).toBe(Date.parse((await s.deps.outbox.get({ campaignId: CAMPAIGN, kind: 'outcome', providerId: s.id('A'), seq: 1 }))!.leaseUntil!) + WAIT_MS);
    expect(await s.mail()).toHaveLength(1);

    // SES publishes the Send event (tagged with the notice id) through SNS to mail-events.
    const [mail] = await s.mail();
    await makeMailEvents({ outbox: s.deps.outbox })(
      snsEvent(sesEvent('send', { messageId: mail!.messageId, to: s.email('A'), notice: noticeTag({ campaignId: CAMPAIGN, kind: 'outcome', providerId: s.id('A'), seq: 1 }) })),
    );
    const later = await runChild(s, T0 + LEASE_MS + WAIT_MS + 60_000, '', 'aws');
    expect(later.result).toMatchObject({ sent: 0, uncertain: [], alreadySent: 1 });
    expect(await s.mail()).toHaveLength(1);
    expect(await s.deps.outbox.get({ campaignId: CAMPAIGN, kind: 'outcome', providerId: s.id('A'), seq: 1 })).toMatchObject({ status: 'sent', messageId: mail!.messageId, settledBy: 'ses-event' });
  });

  it("killed after the claim, before anything went out: sent once SES's publishing delay has passed without an event", { timeout: 60_000 }, async () => {
    const s = await stack.season([{ key: 'B', orders: december(4), depositFen: FULL_DEPOSIT_FEN }]);
    expect((await runChild(s, T0, 'claim:1', 'aws')).signal).toBe('SIGKILL');
    expect(await s.mail()).toHaveLength(0);
    const early = await runChild(s, T0 + LEASE_MS + 1000, '', 'aws');
    expect(early.result).toMatchObject({ sent: 0, uncertain: [{ providerId: s.id('B') }] });
    const late = await runChild(s, T0 + LEASE_MS + WAIT_MS + 1000, '', 'aws');
    expect(late.result).toMatchObject({ sent: 1, uncertain: [] });
    expect(countByRecipient(await s.mail())).toEqual({ [s.email('B')]: 1 });
  });
});
