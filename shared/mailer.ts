import { SendEmailCommand, type SESClient } from '@aws-sdk/client-ses';
import { EMAIL } from './events.ts';

/** Sending one mail: SES on AWS and on the embedded stack (aws-ses-v2-local serves the same API). */
export interface OutgoingMail {
  to: string;
  subject: string;
  html: string;
  text: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
}

export interface SenderSettings {
  from: string;
  fromName?: string;
  replyTo?: string;
  configurationSet?: string;
}

/** An address SES will take as exactly one recipient: no display name, no CR/LF, no second address. */
export const isValidAddress = (s: string) => s.length <= 254 && EMAIL.test(s);

/** RFC 2047 encoded-word, so a Chinese display name survives SES's ASCII-only Source header. */
function mailbox(address: string, name?: string): string {
  if (!name) return address;
  const safe = name.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return /^[\x20-\x7e]*$/.test(safe) && !/[",<>@]/.test(safe)
    ? `${safe} <${address}>`
    : `=?UTF-8?B?${Buffer.from(safe, 'utf8').toString('base64')}?= <${address}>`;
}

export class SesMailer implements Mailer {
  constructor(
    private readonly ses: SESClient,
    private readonly settings: SenderSettings,
  ) {}

  async send(mail: OutgoingMail): Promise<{ messageId: string }> {
    const out = await this.ses.send(
      new SendEmailCommand({
        Source: mailbox(this.settings.from, this.settings.fromName),
        Destination: { ToAddresses: [mail.to] },
        ...(this.settings.replyTo ? { ReplyToAddresses: [this.settings.replyTo] } : {}),
        ...(this.settings.configurationSet ? { ConfigurationSetName: this.settings.configurationSet } : {}),
        Message: {
          Subject: { Data: mail.subject, Charset: 'UTF-8' },
          Body: { Html: { Data: mail.html, Charset: 'UTF-8' }, Text: { Data: mail.text, Charset: 'UTF-8' } },
        },
      }),
    );
    return { messageId: out.MessageId ?? '' };
  }
}

const TRANSIENT = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'ServiceUnavailable', 'InternalFailure', 'RequestTimeout', 'TimeoutError']);

/** Throttling, 5xx and network trouble pass; a rejected message or a bad address does not. */
export function isTransient(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e.$metadata?.httpStatusCode;
  return (
    TRANSIENT.has(e.name ?? '') ||
    e.$retryable !== undefined ||
    (status !== undefined && status >= 500) ||
    ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE'].includes(e.code ?? '')
  );
}
