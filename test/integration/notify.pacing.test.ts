import { SESv2Client } from '@aws-sdk/client-sesv2';
import { describe, expect, it } from 'vitest';
import { SesMailer, type Mailer } from '#shared/mailer.ts';

import { notify, notifyPolicy } from '#shared/usecases/notify.ts';
import { CAMPAIGN, FEEDBACK, FULL_DEPOSIT_FEN, MAIL, countByRecipient, december, notifyStack } from '../support/notify-fixture.ts';
import { campaignOf } from '../support/campaigns.ts';

/**
 * Sending is paced to the configured rate (the SES sending quota): n mails at r per second take at
 * least (n - 1) / r seconds, and no two start closer than 1 / r apart. Measured on a fake clock that
 * `notify()` reads and sleeps on (never the wall clock), over the real outbox and the real SES.
 */

const stack = await notifyStack();

/**
 * A clock that moves only when notify sleeps. Sleepers wake one at a time in the order of their
 * wake-up instants, and the next wakes only once the previous one has handed its mail to the
 * mailer (`stamp`), so every send is stamped at exactly the instant its pacer chose.
 */
class FakeClock {
  private t = Date.now();
  readonly start = this.t;
  slept = 0;
  private sleepers: { at: number; wake: () => void }[] = [];
  private waking = false;

  now = () => new Date(this.t);

  sleep = (ms: number) =>
    new Promise<void>((wake) => {
      this.slept += ms;
      this.sleepers.push({ at: this.t + ms, wake });
      this.pump();
    });

  /** Called by the mailer as a send starts: the fake instant of that send. */
  stamp(): number {
    this.waking = false;
    queueMicrotask(() => this.pump());
    return this.t;
  }

  private pump() {
    if (this.waking || this.sleepers.length === 0) return;
    this.sleepers.sort((a, b) => a.at - b.at);
    const next = this.sleepers.shift()!;
    this.waking = true;
    this.t = Math.max(this.t, next.at);
    next.wake();
  }
}

describe('pacing', () => {
  for (const { rate, n } of [
    { rate: 20, n: 10 },
    { rate: 7, n: 6 },
  ]) {
    it(`${n} notices at ${rate}/s: at least ${(n - 1) / rate}s of fake time, sends at least 1/${rate}s apart`, async () => {
      const keys = Array.from({ length: n }, (_, i) => `P${i}`);
      const s = await stack.season(keys.map((key, i) => ({ key, orders: december(i % 2 ? 1 : 4), depositFen: FULL_DEPOSIT_FEN })));
      const clock = new FakeClock();
      const real = new SesMailer(new SESv2Client({ ...stack.clients.ses, maxAttempts: 1 }), MAIL);
      const stamps: number[] = [];
      const mailer: Mailer = { send: (m) => (stamps.push(clock.stamp()), real.send(m)) };

      const r = await notify(
        campaignOf(CAMPAIGN),
        {
          stores: s.deps,
          mail: { sender: mailer, evidence: s.evidence, settings: { feedbackMailbox: FEEDBACK, exitRefundProcedure: campaignOf(CAMPAIGN).exitRefundProcedure } },
          clock: { now: clock.now, sleep: clock.sleep },
          policy: notifyPolicy(rate),
        },
        { kind: 'outcome' },
      );

      expect(r).toMatchObject({ due: n, sent: n, failed: [] });
      expect(countByRecipient(await s.mail())).toEqual(Object.fromEntries(s.addresses.map((a) => [a, 1])));
      const interval = 1000 / rate;
      const minTotal = (n - 1) * interval;
      // notify reads the clock through Date, in whole milliseconds: that is the resolution of every bound.
      const ms = 1;
      expect(clock.slept).toBeGreaterThanOrEqual(minTotal - ms);
      expect(r.seconds).toBeGreaterThanOrEqual((minTotal - ms) / 1000);
      expect(stamps).toHaveLength(n);
      const sorted = [...stamps].sort((a, b) => a - b);
      expect(sorted.at(-1)! - sorted[0]!).toBeGreaterThanOrEqual(minTotal - ms);
      for (let i = 1; i < n; i++) expect(sorted[i]! - sorted[i - 1]!, `gap before send ${i + 1}`).toBeGreaterThanOrEqual(interval - ms);
      // Paced, not stalled: the run takes about what the rate asks, not much more.
      expect(sorted.at(-1)! - clock.start).toBeLessThanOrEqual(n * interval + n * ms);
    });
  }
});
