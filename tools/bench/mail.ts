/**
 * The bench's `mailRateVsQuota`: the send rate against the configured quota, through the real notify
 * and the embedded SES.
 */
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { createDocumentClient } from '#shared/aws.ts';
import { stores } from '#shared/deps.ts';
import { SesMailer, type Mailer } from '#shared/mailer.ts';
import { makeNotify } from '#functions/handlers/notify.ts';
import { meterDynamo, type MeterSnapshot } from './meter.ts';
import { round, type BenchRun } from './run.ts';
import { withTables } from './workload.ts';

/** What the cost model bills of the mail: the messages sent, over how long, and the store's work. */
export interface MailWork {
  sent: number;
  secs: number;
  meter: MeterSnapshot;
}

const QUOTA = 20;
const MAIL_COUNT = 60;

export async function measureMail(run: BenchRun): Promise<MailWork> {
  const c = run.campaign;
  const { dynamo, local } = run;
  run.step('mail');
  const mail = await withTables(dynamo, `bench-${run.tag}-mail`, async (names) => {
    const deps = stores(names, createDocumentClient(dynamo));
    for (let p = 0; p < MAIL_COUNT; p++) {
      await deps.decisions.addRevision({
        campaignId: c.campaignId,
        providerId: `P${p}`,
        providerName: `服务商${p}`,
        email: `p${p}@bench.example`,
        outcome: 'retained',
        reasons: [],
        clauses: ['1', '2.1', '2.2.1', '2.2.2', '2.2.3'],
        paidOrders: 10,
        thresholdOrders: 1,
        depositBalanceFen: c.depositRequiredFen,
        depositRequiredFen: c.depositRequiredFen,
        rulesVersion: c.rulesVersion,
        revision: 1,
        final: true,
        decidedAt: new Date().toISOString(),
        decidedBy: { kind: 'person', id: 'bench' },
        asOf: new Date().toISOString(),
      });
    }
    const sends: number[] = [];
    const real = new SesMailer(new SESv2Client(local.clients.ses), local.config.mail);
    const timedMailer: Mailer = { send: async (m) => (sends.push(performance.now()), real.send(m)) };
    const db = createDocumentClient(dynamo);
    const meter = meterDynamo(db, names);
    const r = await makeNotify({ ...stores(names, db), mailer: timedMailer }, { ...local.config.mail, ratePerSecond: QUOTA })({ campaignId: c.campaignId, kind: 'outcome' });
    return { sent: r.sent, secs: (sends.at(-1)! - sends[0]!) / 1000, meter: meter.snapshot() };
  });
  // Sends per second over the run, counting the intervals between the first and the last send.
  const mailRate = (mail.sent - 1) / mail.secs;
  run.metrics.mailRateVsQuota = {
    value: round(mailRate / QUOTA),
    goal: '0.8 .. 1.0',
    ok: mailRate / QUOTA >= 0.8 && mailRate / QUOTA <= 1.0 + 1e-9,
    detail: `${mail.sent} mails at ${mailRate.toFixed(1)}/s with the quota set to ${QUOTA}/s`,
  };
  return mail;
}
