import { makeMailEvents } from '#functions/handlers/mail-events.ts';
import { makeReport } from '#functions/handlers/report.ts';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '#shared/payloads.ts';
import { noticeTag } from '#shared/store/outbox.ts';
import { buildReport, mailStatusLookup, reportCsv } from '#shared/usecases/report.ts';
import { CAMPAIGN, FULL_DEPOSIT_FEN, december, notifyStack, type ProviderSpec } from '../support/notify-fixture.ts';
import { sesEvent, snsEvent, type SesEventKind } from '../support/ses-events.ts';

/**
 * SES's events about mails notify really sent (through aws-ses-v2-local), fed to the mail-events
 * function exactly as SES publishes them through SNS (the AWS documentation's example records, pointed
 * at those mails): each lands on its own notice's ledger entry and shows in the report and the
 * notify summary; nothing else changes.
 */
const stack = await notifyStack();
const SEASON: ProviderSpec[] = ['BNC', 'CPL', 'DLV', 'DLY', 'REJ', 'QUIET'].map((key) => ({ key, orders: december(4), depositFen: FULL_DEPOSIT_FEN }));

async function sentSeason() {
  const s = await stack.season(SEASON);
  expect(await s.notify({ kind: 'outcome' })).toMatchObject({ due: 6, sent: 6 });
  const mails = await s.mail();
  const mailOf = (key: string) => {
    const m = s.of(mails, key)[0]!;
    return { messageId: m.messageId, to: s.email(key), notice: noticeTag({ campaignId: CAMPAIGN, kind: 'outcome', providerId: s.id(key), seq: 1 }) };
  };
  const handler = makeMailEvents({ outbox: s.deps.outbox, now: () => new Date('2024-03-01T03:00:00Z') });
  const report = async () => Object.fromEntries((await buildReport(s.deps.decisions, CAMPAIGN, mailStatusLookup(s.deps))).assessments.map((a) => [a.providerId, a.mail]));
  return { s, mailOf, handler, report };
}

describe('mail-events: SES events through SNS land on their ledger entries', () => {
  it('Bounce, Complaint, Delivery, DeliveryDelay and Reject of five mails: each on its own entry, in the report with times and the bounce type; the sixth untouched', async () => {
    const { s, mailOf, handler, report } = await sentSeason();
    const before = await s.deps.outbox.get({ campaignId: CAMPAIGN, kind: 'outcome', providerId: s.id('QUIET'), seq: 1 });
    const feed: [string, SesEventKind][] = [
      ['BNC', 'send'],
      ['BNC', 'bounce'],
      ['CPL', 'delivery'],
      ['CPL', 'complaint'],
      ['DLV', 'send'],
      ['DLV', 'delivery'],
      ['DLY', 'delivery-delay'],
      ['REJ', 'reject'],
    ];
    const out = await handler(snsEvent(...feed.map(([key, kind]) => sesEvent(kind, mailOf(key)))));
    expect(out).toMatchObject({ recorded: 8, untagged: 0, unknownNotice: 0, ignored: 0 });

    const mail = await report();
    expect(mail[s.id('BNC')]).toMatchObject({
      status: 'bounced',
      bounceType: 'Permanent/General',
      at: '2017-08-05T00:41:02.669Z',
      detail: 'smtp; 550 5.1.1 user unknown',
      messageId: mailOf('BNC').messageId,
    });
    expect(mail[s.id('CPL')]).toMatchObject({ status: 'complained', at: '2017-08-05T00:41:02.669Z', detail: expect.stringContaining('abuse') });
    expect(mail[s.id('DLV')]).toMatchObject({ status: 'delivered', at: '2016-10-19T23:21:04.133Z' });
    expect(mail[s.id('DLY')]).toMatchObject({ status: 'delayed', at: '2020-06-16T00:15:40.641Z', detail: expect.stringContaining('TransientCommunicationFailure') });
    expect(mail[s.id('REJ')]).toMatchObject({ status: 'failed', detail: 'rejected by SES: Bad content' });
    expect(mail[s.id('QUIET')]).toMatchObject({ status: 'sent' });
    expect(await s.deps.outbox.get({ campaignId: CAMPAIGN, kind: 'outcome', providerId: s.id('QUIET'), seq: 1 })).toEqual(before);

    // The report function (renewal report --aws) shows the same mail status as the local report.
    const remote = await makeReport(s.deps)({ campaignId: CAMPAIGN });
    expect(Object.fromEntries(remote.assessments.map((a) => [a.providerId, a.mail?.status]))).toEqual(Object.fromEntries(Object.entries(mail).map(([p, m]) => [p, m?.status])));

    // The CSV carries the same, one column each.
    const csv = reportCsv(await buildReport(s.deps.decisions, CAMPAIGN, mailStatusLookup(s.deps)));
    const row = csv.split('\r\n').find((l) => l.startsWith(s.id('BNC')))!;
    expect(row).toContain(',bounced,2017-08-05T00:41:02.669Z,Permanent/General,smtp; 550 5.1.1 user unknown');

    // The notify summary raises the bounce (and the complaint) to ops, and sends nothing again.
    const again = await s.notify({ kind: 'outcome' });
    expect(again).toMatchObject({ sent: 0, alreadySent: 6 });
    expect(again.bounced).toEqual([{ providerId: s.id('BNC'), seq: 1, bounceType: 'Permanent', bounceSubType: 'General', at: '2017-08-05T00:41:02.669Z' }]);
    expect(again.complained).toEqual([{ providerId: s.id('CPL'), seq: 1, at: '2017-08-05T00:41:02.669Z', feedbackType: 'abuse' }]);
    expect(await s.mail()).toHaveLength(6);
  });

  it('SNS delivers at least once: the same events twice leave the same ledger', async () => {
    const { s, mailOf, handler } = await sentSeason();
    const event = snsEvent(sesEvent('bounce', mailOf('BNC')), sesEvent('complaint', mailOf('CPL')));
    await handler(event);
    const once = await s.deps.outbox.entries(CAMPAIGN, 'outcome');
    await handler(event);
    const twice = await s.deps.outbox.entries(CAMPAIGN, 'outcome');
    expect(twice.map(({ updatedAt: _u, ...e }) => e)).toEqual(once.map(({ updatedAt: _u, ...e }) => e));
  });

  it('a second message id for one notice (it went out twice) is kept and shown', async () => {
    const { s, mailOf, handler, report } = await sentSeason();
    await handler(snsEvent(sesEvent('send', { ...mailOf('DLV'), messageId: 'ses-999999999' })));
    const mail = await report();
    expect(mail[s.id('DLV')]!.detail).toContain('SES took it 2 times');
  });

  it('untagged events (a mail this system did not send) and tags naming no entry change nothing', async () => {
    const { s, mailOf, handler } = await sentSeason();
    const before = await s.deps.outbox.entries(CAMPAIGN, 'outcome');
    const out = await handler(
      snsEvent(
        sesEvent('bounce', { messageId: 'm-1', to: 'someone@example.com' }),
        sesEvent('bounce', { ...mailOf('BNC'), notice: noticeTag({ campaignId: CAMPAIGN, kind: 'outcome', providerId: s.id('BNC'), seq: 7 }) }),
        sesEvent('bounce', { ...mailOf('BNC'), notice: 'not-a-notice' }),
      ),
    );
    expect(out).toMatchObject({ recorded: 0, untagged: 1, unknownNotice: 2 });
    expect(await s.deps.outbox.entries(CAMPAIGN, 'outcome')).toEqual(before);
  });

  it('a record that is not an SES event is refused, naming the field (the invocation fails: SNS retries, then the dead-letter queue)', async () => {
    const { mailOf, handler } = await sentSeason();
    const bad = sesEvent('bounce', mailOf('BNC'));
    (bad.bounce as Record<string, unknown>).bounceType = 'Soft';
    await expect(handler(snsEvent(bad))).rejects.toThrow(PayloadError);
    await expect(handler(snsEvent(bad))).rejects.toThrow(/^Records\.0\.Sns\.Message\.bounce\.bounceType: must be Permanent, Transient or Undetermined/);
    await expect(handler({ Records: [{ EventSource: 'aws:sqs' }] })).rejects.toThrow(/^Records\.0\.EventSource/);
    const notJson = snsEvent({});
    (notJson.Records[0]!.Sns as Record<string, unknown>).Message = '{';
    await expect(handler(notJson)).rejects.toThrow(/^Records\.0\.Sns\.Message: not JSON/);
    await expect(handler(snsEvent({ eventType: 'Bounced', mail: {} }))).rejects.toThrow(/eventType: must be one of Send, Delivery, Bounce/);
  });
});
