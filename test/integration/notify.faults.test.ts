import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { MessageRejected, SendEmailCommand, SESv2Client, SESv2ServiceException, TooManyRequestsException, type SendEmailCommandInput, type SendEmailCommandOutput } from '@aws-sdk/client-sesv2';
import { SesMailer, type Mailer } from '#shared/mailer.ts';
import { NOTIFY_SEND_RETRY } from '#shared/usecases/notify.ts';
import { buildReport, mailStatusLookup } from '#shared/usecases/report.ts';
import { CAMPAIGN, FULL_DEPOSIT_FEN, MAIL, countByRecipient, december, notifyStack, type ProviderSpec, type Season } from '../support/notify-fixture.ts';

/**
 * SES faults under the notify function. Throttling and 5xx answers are retried (with backoff) until
 * the mail goes out, once; a permanent rejection is recorded with its reason and blocks nobody else;
 * transient failures that outlast the send policy's attempts are recorded as retryable and a later run sends them.
 * The faults sit on an SESClient (aws-sdk-client-mock, or a middleware answering on the wire as SES
 * would); whatever passes goes to aws-ses-v2-local, where every mail is counted per recipient.
 */

const stack = await notifyStack();

const SEASON: ProviderSpec[] = [
  { key: 'A', orders: december(4), depositFen: FULL_DEPOSIT_FEN },
  { key: 'B', orders: december(4), depositFen: FULL_DEPOSIT_FEN },
  { key: 'C', orders: december(1), depositFen: FULL_DEPOSIT_FEN },
  { key: 'D', orders: december(4), depositFen: FULL_DEPOSIT_FEN / 4 },
  { key: 'E', orders: december(2), depositFen: 0 },
];
const KEYS = SEASON.map((p) => p.key);

const clients: SESv2Client[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

/** An SESv2Client under aws-sdk-client-mock, its real send kept aside to pass a command on to aws-ses-v2-local. */
function mockedSes() {
  const ses = new SESv2Client({ ...stack.clients.ses, maxAttempts: 1 });
  clients.push(ses);
  const real = ses.send.bind(ses) as (c: SendEmailCommand) => Promise<SendEmailCommandOutput>;
  const pass = (input: SendEmailCommandInput) => real(new SendEmailCommand(input));
  const mock = mockClient(ses);
  return { mock, pass, mailer: new SesMailer(ses, MAIL) };
}

const recipientOf = (input: SendEmailCommandInput) => input.Destination!.ToAddresses![0]!;

/** SES's answers as the SDK surfaces them. */
const throttling = (name: 'TooManyRequestsException' | 'ThrottlingException') =>
  name === 'TooManyRequestsException'
    ? new TooManyRequestsException({ $metadata: { httpStatusCode: 429, requestId: 'injected' }, message: 'Maximum sending rate exceeded.' })
    : new SESv2ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400, requestId: 'injected' }, message: 'Maximum sending rate exceeded.' });
const unavailable = (name: 'ServiceUnavailable' | 'Unknown') =>
  new SESv2ServiceException({ name, $fault: 'server', $metadata: { httpStatusCode: 503, requestId: 'injected' }, message: 'Service Unavailable' });
const rejected = () =>
  new MessageRejected({ message: 'Email address is not verified. The following identities failed the check in region AP-SOUTHEAST-1', $metadata: { httpStatusCode: 400, requestId: 'injected' } });
const connectionReset = () => Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' });

/** A clock whose sleep returns at once and remembers what it was asked to wait. */
function fastSleep() {
  const waits: number[] = [];
  return { waits, clock: { sleep: async (ms: number) => void waits.push(ms) } };
}

async function mailStatus(s: Season) {
  const report = await buildReport(s.deps.decisions, CAMPAIGN, mailStatusLookup(s.deps));
  return Object.fromEntries(report.assessments.map((a) => [a.providerId, a.mail]));
}

describe('transient SES errors are retried', () => {
  it('throttling (400 Throttling / ThrottlingException), 503 and a reset connection on the first two sends of every recipient: all sent, each exactly once', async () => {
    const s = await stack.season(SEASON);
    const { mock, pass, mailer } = mockedSes();
    const tries = new Map<string, number>();
    mock.on(SendEmailCommand).callsFake(async (input: SendEmailCommandInput) => {
      const to = recipientOf(input);
      const n = (tries.get(to) ?? 0) + 1;
      tries.set(to, n);
      const i = s.addresses.indexOf(to);
      if (n === 1) throw [throttling('TooManyRequestsException'), throttling('ThrottlingException'), connectionReset()][i % 3]!;
      if (n === 2) throw unavailable(i % 2 ? 'ServiceUnavailable' : 'Unknown');
      return pass(input);
    });
    const { waits, clock } = fastSleep();

    const r = await s.notify({ kind: 'outcome' }, { mailer, clock });
    expect(r).toMatchObject({ due: 5, sent: 5, alreadySent: 0, inFlight: 0, failed: [] });
    expect(mock.commandCalls(SendEmailCommand)).toHaveLength(15);
    expect(Object.fromEntries(tries)).toEqual(Object.fromEntries(s.addresses.map((a) => [a, 3])));
    // Two backoffs per recipient, none of them zero.
    expect(waits.filter((w) => w >= 100)).toHaveLength(10);
    expect(countByRecipient(await s.mail())).toEqual(Object.fromEntries(s.addresses.map((a) => [a, 1])));
    const status = await mailStatus(s);
    for (const k of KEYS) expect(status[s.id(k)]?.status).toBe('sent');
  });

  it("the same, answered on the wire: SES's JSON TooManyRequestsException (429) and a bare 503 go through the SDK's own deserializer", async () => {
    const s = await stack.season(SEASON);
    const ses = new SESv2Client({ ...stack.clients.ses, maxAttempts: 1 });
    clients.push(ses);
    const tries = new Map<string, number>();
    ses.middlewareStack.add(
      (next) => async (args) => {
        const body = String((args.request as { body?: unknown }).body ?? '');
        const to = (JSON.parse(body) as SendEmailCommandInput).Destination?.ToAddresses?.[0] ?? '';
        const n = (tries.get(to) ?? 0) + 1;
        tries.set(to, n);
        const answer = (statusCode: number, contentType: string, text: string) =>
          ({ response: { statusCode, headers: { 'content-type': contentType, 'x-amzn-requestid': 'injected' }, body: Readable.from([Buffer.from(text)]) }, output: undefined as never }) as never;
        if (n === 1) return answer(429, 'application/json', JSON.stringify({ __type: 'TooManyRequestsException', message: 'Maximum sending rate exceeded.' }));
        if (n === 2) return answer(503, 'text/html', '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>');
        return next(args);
      },
      { step: 'deserialize', priority: 'low', name: 'injectSesFault' },
    );
    const { clock } = fastSleep();
    const r = await s.notify({ kind: 'outcome' }, { mailer: new SesMailer(ses, MAIL), clock });
    expect(r).toMatchObject({ due: 5, sent: 5, failed: [] });
    expect(Object.fromEntries(tries)).toEqual(Object.fromEntries(s.addresses.map((a) => [a, 3])));
    expect(countByRecipient(await s.mail())).toEqual(Object.fromEntries(s.addresses.map((a) => [a, 1])));
  });

  it('transient failures that outlast the attempts are recorded as failed, not permanent; a later run sends them', async () => {
    const s = await stack.season(SEASON);
    const { mock, pass, mailer } = mockedSes();
    const always = new Set([s.email('B'), s.email('D')]);
    mock.on(SendEmailCommand).callsFake(async (input: SendEmailCommandInput) => {
      if (always.has(recipientOf(input))) throw throttling('TooManyRequestsException');
      return pass(input);
    });
    const { clock } = fastSleep();
    const r = await s.notify({ kind: 'outcome' }, { mailer, clock, policy: { send: { ...NOTIFY_SEND_RETRY, attempts: 3 } } });
    expect(r).toMatchObject({ due: 5, sent: 3, alreadySent: 0, inFlight: 0 });
    expect(r.failed).toEqual([
      { providerId: s.id('B'), seq: 1, reason: expect.stringMatching(/^TooManyRequestsException: Maximum sending rate exceeded\..*after 3 attempts/), permanent: false },
      { providerId: s.id('D'), seq: 1, reason: expect.stringMatching(/^TooManyRequestsException: .*after 3 attempts/), permanent: false },
    ]);
    expect(mock.commandCalls(SendEmailCommand).filter((c) => always.has(recipientOf(c.args[0].input)))).toHaveLength(6);
    let mails = await s.mail();
    expect(countByRecipient(mails)).toEqual({ [s.email('A')]: 1, [s.email('C')]: 1, [s.email('E')]: 1 });
    let status = await mailStatus(s);
    expect(status[s.id('B')]).toMatchObject({ status: 'failed', detail: expect.stringContaining('TooManyRequestsException') });
    expect(status[s.id('A')]?.status).toBe('sent');

    // SES recovers: the next run (the real SesMailer) sends exactly what is missing.
    const later = await s.notify({ kind: 'outcome' }, { clock });
    expect(later).toMatchObject({ due: 5, sent: 2, alreadySent: 3, inFlight: 0, failed: [] });
    mails = await s.mail();
    expect(countByRecipient(mails)).toEqual(Object.fromEntries(s.addresses.map((a) => [a, 1])));
    status = await mailStatus(s);
    for (const k of KEYS) expect(status[s.id(k)]?.status, k).toBe('sent');
  });
});

describe('permanent failures are recorded and block nobody else', () => {
  it('MessageRejected for one provider: failed permanent with its reason, in the result and the report; the others sent; never retried', async () => {
    const s = await stack.season(SEASON);
    const { mock, pass, mailer } = mockedSes();
    mock.on(SendEmailCommand).callsFake(async (input: SendEmailCommandInput) => {
      if (recipientOf(input) === s.email('C')) throw rejected();
      return pass(input);
    });
    const { clock } = fastSleep();
    const r = await s.notify({ kind: 'outcome' }, { mailer, clock });
    expect(r).toMatchObject({ due: 5, sent: 4, alreadySent: 0, inFlight: 0 });
    expect(r.failed).toEqual([{ providerId: s.id('C'), seq: 1, reason: expect.stringMatching(/^MessageRejected: Email address is not verified/), permanent: true }]);
    expect(mock.commandCalls(SendEmailCommand).filter((c) => recipientOf(c.args[0].input) === s.email('C'))).toHaveLength(1);
    expect(countByRecipient(await s.mail())).toEqual(Object.fromEntries(KEYS.filter((k) => k !== 'C').map((k) => [s.email(k), 1])));

    const status = await mailStatus(s);
    expect(status[s.id('C')]).toMatchObject({ status: 'failed', detail: r.failed[0]!.reason, notice: 1 });
    for (const k of KEYS.filter((x) => x !== 'C')) expect(status[s.id(k)]?.status, k).toBe('sent');

    // A later run with a healthy SES does not try it again: it stays failed, with the same reason.
    const later = await s.notify({ kind: 'outcome' }, { clock });
    expect(later).toMatchObject({ due: 5, sent: 0, alreadySent: 4 });
    expect(later.failed).toEqual([{ providerId: s.id('C'), seq: 1, reason: r.failed[0]!.reason, permanent: true }]);
    expect(await s.mailOf('C')).toEqual([]);
  });

  it('a stored decision with an address SES must not take: failed permanent "invalid address", nothing sent to it, the others sent', async () => {
    const s = await stack.season(SEASON);
    const model = s.evaluation.assessments.find((a) => a.providerId === s.id('A'))!;
    const bad = {
      [`BADCRLF-${s.token}`]: `crlf.${s.token}@renewal-test.example\r\nBcc: evil.${s.token}@renewal-test.example`,
      [`BADTWO-${s.token}`]: `two.${s.token}@renewal-test.example, evil.${s.token}@renewal-test.example`,
      [`BADNOAT-${s.token}`]: `no-at-sign.${s.token}.renewal-test.example`,
    };
    for (const [providerId, email] of Object.entries(bad)) {
      expect(await s.deps.decisions.addRevision({ ...model, providerId, providerName: `Bad ${providerId}`, email })).toBe('added');
    }
    const calls: string[] = [];
    const real = new SesMailer(new SESv2Client({ ...stack.clients.ses, maxAttempts: 1 }), MAIL);
    const spy: Mailer = { send: (m) => (calls.push(m.to), real.send(m)) };

    const r = await s.notify({ kind: 'outcome' }, { mailer: spy });
    expect(r).toMatchObject({ due: 8, sent: 5, alreadySent: 0, inFlight: 0 });
    expect(r.failed).toHaveLength(3);
    for (const f of r.failed) {
      expect(f).toMatchObject({ seq: 1, permanent: true });
      expect(f.reason).toBe(`invalid address ${JSON.stringify(bad[f.providerId])}`);
    }
    expect(calls.sort()).toEqual([...s.addresses].sort());
    expect(countByRecipient(await s.mail())).toEqual(Object.fromEntries(s.addresses.map((a) => [a, 1])));
    const strays = (await stack.allMail()).filter((m) => JSON.stringify(m.destination).includes(`evil.${s.token}`) || JSON.stringify(m.destination).includes(`crlf.${s.token}`));
    expect(strays).toEqual([]);

    const status = await mailStatus(s);
    for (const providerId of Object.keys(bad)) expect(status[providerId]).toMatchObject({ status: 'failed', detail: expect.stringMatching(/^invalid address/) });
  });
});
