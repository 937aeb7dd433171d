/**
 * A notify run in a process of its own, for the crash tests: the parent SIGKILLs it at a chosen
 * point. Configured by the environment (`childEnv` in stack.ts: the run's stack, plus):
 *   CHILD_TABLES  JSON table names of the season
 *   CHILD_CLOCK   the instant this run's clock starts at (it then runs at real speed)
 *   CHILD_STOP    `claim:N` (after the Nth claim, before its send), `send:N` (after SES accepted the
 *                 Nth mail, before the ledger records it), `mark:N` (after the Nth mark); empty: none
 *   CHILD_EVIDENCE `embedded` (the embedded SES's store, as the CLI) or `aws` (SES's published
 *                 events only, waited for MAIL_EVENT_WAIT_SECONDS)
 * At the stop point it prints `STOP <point>` on stdout and waits to be killed; otherwise it prints the
 * notify result as JSON.
 */
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { makeNotify } from '#functions/handlers/notify.ts';
import { embeddedSesEvidence } from '#tools/local/mail-evidence.ts';
import { createDocumentClient } from '#shared/aws.ts';
import { mailEnv, readEnv, type TableNames } from '#shared/config.ts';
import { stores } from '#shared/deps.ts';
import { SesMailer } from '#shared/mailer.ts';
import { OutboxStore, type NoticeRef } from '#shared/store/outbox.ts';
import { childClients } from './child-clients.ts';

const tables = JSON.parse(process.env.CHILD_TABLES!) as TableNames;
const clients = childClients();

const [point, nth] = (process.env.CHILD_STOP || 'none:0').split(':') as [string, string];
const counts = { claim: 0, send: 0, mark: 0 };
async function maybeStop(at: 'claim' | 'send' | 'mark') {
  if (point !== at || ++counts[at] !== Number(nth)) return;
  process.stdout.write(`STOP ${at}:${nth}\n`);
  setInterval(() => {}, 1000); // stay alive until the parent's SIGKILL
  await new Promise(() => {});
}

const started = Date.parse(process.env.CHILD_CLOCK!);
const t0 = Date.now();
const now = () => new Date(started + (Date.now() - t0));

class StoppingOutbox extends OutboxStore {
  override async claim(...args: Parameters<OutboxStore['claim']>) {
    const r = await super.claim(...args);
    if (r.claimed) await maybeStop('claim');
    return r;
  }
  override async markSent(n: NoticeRef, owner: string, result: { messageId: string; subject: string }, at: Date) {
    const marked = await super.markSent(n, owner, result, at);
    await maybeStop('mark');
    return marked;
  }
}

const deps = stores(tables, createDocumentClient(clients.dynamodb));
const outbox = new StoppingOutbox(deps.db, tables);
// The parent configures this run's mail as a deployment does (MAIL_FROM, MAIL_RATE_PER_SECOND, …), read with notify's own schema.
const { mail: config } = readEnv({ mail: mailEnv }, process.env);
const real = new SesMailer(new SESv2Client({ ...clients.ses, maxAttempts: 1 }), config);
const mailer = {
  async send(m: Parameters<typeof real.send>[0]) {
    const r = await real.send(m);
    await maybeStop('send');
    return r;
  },
};
const evidence = process.env.CHILD_EVIDENCE === 'aws' ? undefined : embeddedSesEvidence({ endpoint: clients.ses.endpoint, outbox });
const result = await makeNotify({ ...deps, outbox, mailer, clock: { now }, ...(evidence ? { evidence } : {}) }, config)({ campaignId: 'renewal-2024', kind: 'outcome' });
process.stdout.write(`${JSON.stringify(result)}\n`);
