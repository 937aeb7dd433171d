import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { notifyExitCode, notifySummary } from '#cli/mail-commands.ts';
import { notifyMailer } from '#functions/handlers/notify.ts';
import { isConnectionFailure, type Mailer } from '#shared/mailer.ts';
import { NOTIFY_SEND_RETRY, NOTIFY_UNREACHABLE_AFTER } from '#shared/usecases/notify.ts';
import { CAMPAIGN, countByRecipient, december, FULL_DEPOSIT_FEN, MAIL, notifyStack, type ProviderSpec } from '../support/notify-fixture.ts';

/**
 * SES unreachable (issue 16, item 6): notify stops after a few connection failures in a row instead of
 * trying every notice six times, says how many were sent and how many are left, and a later run with
 * SES back sends exactly the missing ones. The bound is counted in send attempts, not in seconds.
 */

const stack = await notifyStack();

/** A loopback port nobody listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** A clock whose sleep returns at once: the backoff's waits cost nothing, and nothing here depends on time. */
const fastClock = { sleep: async () => {} };

describe('notify against an SES that refuses connections', () => {
  it('stops after a few consecutive failures, says what was sent and what is left; a rerun sends exactly the missing ones', async () => {
    const N = 40;
    const WORKING = 8;
    const season: ProviderSpec[] = Array.from({ length: N }, (_, i) => ({ key: `P${i}`, orders: december(4), depositFen: FULL_DEPOSIT_FEN }));
    const s = await stack.season(season);
    const working = notifyMailer(MAIL, stack.clients.ses);
    const dead = notifyMailer(MAIL, { ...stack.clients.ses, endpoint: `http://127.0.0.1:${await closedPort()}` });
    // SES goes away after the first WORKING sends.
    let calls = 0;
    let refused = 0;
    const mailer: Mailer = { send: (m) => (++calls <= WORKING ? working.send(m) : (refused++, dead.send(m))) };

    const r = await s.notify({ kind: 'outcome' }, { mailer, clock: fastClock });

    // Without the stop: every one of the 32 left would be tried NOTIFY_SEND_RETRY.attempts times.
    const concurrency = 16; // notify's cap on sends in flight (MAIL's rate is above it)
    expect(refused).toBeGreaterThanOrEqual(NOTIFY_UNREACHABLE_AFTER);
    expect(refused).toBeLessThanOrEqual(NOTIFY_UNREACHABLE_AFTER + concurrency - 1);
    expect(refused).toBeLessThan((N - WORKING) * NOTIFY_SEND_RETRY.attempts);
    expect(r).toMatchObject({ due: N, sent: WORKING, alreadySent: 0 });
    expect(r.stopped).toMatchObject({
      reason: expect.stringMatching(new RegExp(`^SES unreachable: ${NOTIFY_UNREACHABLE_AFTER} connection failures in a row, the last .*ECONNREFUSED`)),
      left: N - WORKING,
    });
    expect(r.stopped!.notTried + r.failed.length).toBe(N - WORKING);
    expect(r.stopped!.notTried).toBeGreaterThan(0);
    expect(r.failed.every((f) => !f.permanent)).toBe(true);
    expect(r.uncertain).toEqual([]);

    // What the operator reads, and the exit status.
    const text = notifySummary(r);
    expect(text).toContain(`notify stopped: SES unreachable: ${NOTIFY_UNREACHABLE_AFTER} connection failures in a row`);
    expect(text).toContain(
      `${WORKING} sent, ${N - WORKING} left to send (${r.stopped!.notTried} of them not tried); when SES answers again, run: renewal notify --campaign ${CAMPAIGN} --kind outcome`,
    );
    expect(notifyExitCode(r)).toBe(1);

    let mails = await s.mail();
    expect(mails).toHaveLength(WORKING);
    expect(Object.values(countByRecipient(mails)).every((n) => n === 1)).toBe(true);

    // SES is back: the rerun sends exactly the missing ones, each once.
    const again = await s.notify({ kind: 'outcome' }, { clock: fastClock });
    expect(again).toMatchObject({ due: N, sent: N - WORKING, alreadySent: WORKING, failed: [], uncertain: [] });
    expect(again.stopped).toBeUndefined();
    mails = await s.mail();
    expect(countByRecipient(mails)).toEqual(Object.fromEntries(s.addresses.map((a) => [a, 1])));
  });
});

describe('what counts as SES unreachable', () => {
  const withCode = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code, $metadata: { attempts: 1 } });
  it('a refused, reset or timed-out connection, also as an error cause', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH']) expect(isConnectionFailure(withCode(code)), code).toBe(true);
    expect(isConnectionFailure(Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } }))).toBe(true);
    expect(isConnectionFailure(Object.assign(new Error('Connection timed out after 5000 ms'), { name: 'TimeoutError' }))).toBe(true);
  });
  it('never an answer from SES: throttling, a 5xx, a rejection', () => {
    expect(isConnectionFailure(new TooManyRequestsException({ $metadata: { httpStatusCode: 429 }, message: 'Maximum sending rate exceeded.' }))).toBe(false);
    expect(isConnectionFailure(Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }))).toBe(false);
    expect(isConnectionFailure(Object.assign(new Error('Email address is not verified'), { name: 'MessageRejected', $metadata: { httpStatusCode: 400 } }))).toBe(false);
    // An answer that carried a socket code in its body is still an answer.
    expect(isConnectionFailure(Object.assign(withCode('ECONNRESET'), { $metadata: { httpStatusCode: 500 } }))).toBe(false);
  });
});
