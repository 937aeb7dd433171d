import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { NOTICE_TAG } from './store/outbox.ts';

/** Sending one mail: SES (API v2) on AWS and on the embedded stack (aws-ses-v2-local serves the same API). */
export interface OutgoingMail {
  to: string;
  subject: string;
  html: string;
  text: string;
  /**
   * The notice id (`noticeTag`): sent as the `notice` SES message tag, which SES repeats in every
   * event it publishes about the mail, and as the `X-Renewal-Notice` header, which the embedded SES
   * keeps in its store (it keeps no tags). Either way the mail can be traced back to its ledger entry.
   */
  notice?: string;
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

/** The header that carries the notice id (see `OutgoingMail.notice`). */
export const NOTICE_HEADER = 'X-Renewal-Notice';

/** RFC 2047 encoded-word, so a Chinese display name survives SES's ASCII-only From header. */
function mailbox(address: string, name?: string): string {
  if (!name) return address;
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const safe = name.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return /^[\x20-\x7e]*$/.test(safe) && !/[",<>@]/.test(safe) ? `${safe} <${address}>` : `=?UTF-8?B?${Buffer.from(safe, 'utf8').toString('base64')}?= <${address}>`;
}

export class SesMailer implements Mailer {
  constructor(
    private readonly ses: SESv2Client,
    private readonly settings: SenderSettings,
  ) {}

  async send(mail: OutgoingMail): Promise<{ messageId: string }> {
    const out = await this.ses.send(
      new SendEmailCommand({
        FromEmailAddress: mailbox(this.settings.from, this.settings.fromName),
        Destination: { ToAddresses: [mail.to] },
        ...(this.settings.replyTo ? { ReplyToAddresses: [this.settings.replyTo] } : {}),
        ...(this.settings.configurationSet ? { ConfigurationSetName: this.settings.configurationSet } : {}),
        ...(mail.notice ? { EmailTags: [{ Name: NOTICE_TAG, Value: mail.notice }] } : {}),
        Content: {
          Simple: {
            Subject: { Data: mail.subject, Charset: 'UTF-8' },
            Body: { Html: { Data: mail.html, Charset: 'UTF-8' }, Text: { Data: mail.text, Charset: 'UTF-8' } },
            ...(mail.notice ? { Headers: [{ Name: NOTICE_HEADER, Value: mail.notice }] } : {}),
          },
        },
      }),
    );
    return { messageId: out.MessageId ?? '' };
  }
}

const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException']);
const SERVER = new Set(['ServiceUnavailable', 'InternalFailure', 'RequestTimeout', 'TimeoutError']);

/** Throttling, 5xx and network trouble pass; a rejected message or a bad address does not. */
export function isTransient(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e.$metadata?.httpStatusCode;
  return (
    THROTTLING.has(e.name ?? '') ||
    SERVER.has(e.name ?? '') ||
    e.$retryable !== undefined ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE'].includes(e.code ?? '')
  );
}

/** Errors of the connection itself (node's socket codes): no answer from SES came back. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * SES could not be reached: the connection was refused, broke or timed out before any answer (the
 * SDK's `TimeoutError` is its connection or request timeout). An answer from SES, whatever it says
 * (throttling, a 5xx, a rejection), is not one: SES is there and speaking.
 */
export function isConnectionFailure(err: unknown): boolean {
  const e = err as { name?: string; code?: string; cause?: { code?: string }; $metadata?: { httpStatusCode?: number } };
  if (e.$metadata?.httpStatusCode !== undefined) return false;
  return e.name === 'TimeoutError' || CONNECTION_CODES.has(e.code ?? '') || CONNECTION_CODES.has(e.cause?.code ?? '');
}

/**
 * A transient failure after which SES may still have taken the mail: a timeout, a connection that
 * broke after the request went out, a 5xx. Throttling and a refused connection are known not to have
 * sent anything. Retrying an ambiguous one blindly could send the mail twice.
 */
export function isAmbiguous(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } };
  if (!isTransient(err)) return false;
  if (THROTTLING.has(e.name ?? '') || e.$metadata?.httpStatusCode === 429 || e.$retryable?.throttling) return false;
  if (e.code === 'ECONNREFUSED') return false;
  return true;
}
