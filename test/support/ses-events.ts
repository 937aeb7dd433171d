import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * SES events as SES publishes them through SNS to a Lambda subscriber, built from the AWS
 * documentation's own example records (test/fixtures), pointed at a mail a test really sent.
 */
const FIXTURES = join(import.meta.dirname, '../fixtures');
export type SesEventKind = 'bounce' | 'complaint' | 'delivery' | 'send' | 'reject' | 'delivery-delay';

const load = (file: string) => JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Record<string, unknown>;

/** The documented `kind` record, about the mail `messageId` to `to`, tagged with `notice` (none: untagged). */
export function sesEvent(kind: SesEventKind, mail: { messageId: string; to: string; notice?: string }): Record<string, unknown> {
  const e = load(`ses-events/${kind}.json`) as Record<string, Record<string, unknown>>;
  const m = e.mail as Record<string, unknown>;
  m.messageId = mail.messageId;
  m.destination = [mail.to];
  (m.commonHeaders as Record<string, unknown>).to = [mail.to];
  (m.commonHeaders as Record<string, unknown>).messageId = mail.messageId;
  if (mail.notice) (m.tags as Record<string, string[]>).notice = [mail.notice];
  for (const list of ['bouncedRecipients', 'complainedRecipients', 'delayedRecipients']) {
    for (const part of Object.values(e)) {
      const r = part[list] as { emailAddress: string }[] | undefined;
      if (r) for (const x of r) x.emailAddress = mail.to;
    }
  }
  if (e.delivery) e.delivery.recipients = [mail.to];
  return e;
}

/** The Lambda event of an SNS subscription delivering these SES records, one record each. */
export function snsEvent(...records: Record<string, unknown>[]): { Records: Record<string, unknown>[] } {
  const template = (load('sns-lambda-event.json').Records as Record<string, Record<string, unknown>>[])[0]!;
  return {
    Records: records.map((r, i) => ({ ...template, Sns: { ...template.Sns, MessageId: `95df01b4-ee98-5cb9-9903-4c221d41eb${String(i).padStart(2, '0')}`, Message: JSON.stringify(r) } })),
  };
}
