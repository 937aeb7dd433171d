/**
 * What the provider mails (templates.ts) share: their settings and result, the validation of their
 * inputs (a wrong mail is worse than none, so a missing or contradictory input throws), and the
 * composition of a mail from each language's copy into its HTML and plain-text parts.
 */
import { isEmailAddress } from '../events.ts';
import type { Bilingual, Campaign } from '../rules/campaign.ts';
import { isValidDate, utcOffsetLabel } from '../rules/time.ts';
import { COPY, type MailCopy } from './copy.ts';
import { type Block, type FooterItem, type Inline, type MailDocument, renderHtml, renderText, type Tone } from './document.ts';
import { headerSafe } from '../text/format.ts';
import { RenewalError } from '#shared/errors.ts';

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

export interface MailSettings {
  /** Where providers send objections and feedback (RULES.md clause 3). */
  feedbackMailbox: string;
  /** The exit-and-refund procedure (clause 3): by name, or an https URL, which becomes a link under the campaign's title of it. */
  exitRefundProcedure: string;
}

/** A mail that must not be rendered from this input: the message says which input and why. */
export class MailTemplateError extends RenewalError {
  override name = 'MailTemplateError';
}

// ---------------------------------------------------------------------------------------------------
// Validation of inputs: a wrong mail is worse than none, so a missing or contradictory input throws.

export function fail(message: string): never {
  throw new MailTemplateError(message);
}

/** Ops configuration, checked on every render: no silent defaults for what must be set. */
export function checkSettings(s: MailSettings): void {
  if (!isEmailAddress(s.feedbackMailbox)) fail(`settings.feedbackMailbox must be one email address, got '${s.feedbackMailbox}'`);
  if (headerSafe(s.exitRefundProcedure) === '') fail('settings.exitRefundProcedure must name or link the exit-and-refund procedure');
}

/** A `YYYY-MM-DD` date from an input, or a MailTemplateError naming the field. */
export function date(value: string | undefined, field: string): string {
  if (value === undefined || !isValidDate(value)) fail(`${field} must be a 'YYYY-MM-DD' date, got '${String(value)}'`);
  return value;
}

export function count(value: number | undefined, field: string): number {
  if (value === undefined || !Number.isSafeInteger(value) || value < 0) fail(`${field} must be a non-negative integer, got ${String(value)}`);
  return value;
}

export function fen(value: number | undefined, field: string): number {
  if (value === undefined || !Number.isSafeInteger(value)) fail(`${field} must be an integer number of fen, got ${String(value)}`);
  return value;
}

export function isHttpsUrl(s: string): boolean {
  return /^https:\/\/[^\s<>"']+$/i.test(s);
}

/** A text of the copy in both languages. */
export function both(text: (t: MailCopy) => string): Bilingual {
  return { zh: text(COPY.zh), en: text(COPY.en) };
}

/** The subject: both languages' halves, the correction mark first when there is one, then the name. */
export function subjectOf(half: (t: MailCopy) => string, name: string, correction?: (t: MailCopy) => string): string {
  const mark = correction ? both(correction) : undefined;
  const halves = both(half);
  return headerSafe(`${mark ? `【${mark.zh} ${mark.en}】` : ''}${halves.zh} / ${halves.en} — ${name}`);
}

/** One footer line, its label from each language's copy. */
export function footerItem(label: keyof MailCopy['footer'], value: string): FooterItem {
  return { ...both((t) => t.footer[label]), value };
}

/** A mail: its body built once from each language's copy (Chinese first), the footer, and the copy's closing note. */
export function compose(subject: string, accent: Tone, body: (t: MailCopy) => Block[], footer: readonly FooterItem[], note: (t: MailCopy) => string): RenderedMail {
  const doc: MailDocument = { title: subject, accent, zh: body(COPY.zh), en: body(COPY.en), footer, footerNotes: [both(note)] };
  return { subject, html: renderHtml(doc), text: renderText(doc) };
}

/** An instant's zone as the footer states it: `(北京时间 China Standard Time, UTC+8)`. */
export function zoneNote(c: Campaign): string {
  return `(${c.timeZoneName.zh} ${c.timeZoneName.en}, ${utcOffsetLabel(c.utcOffsetMinutes)})`;
}

export function mailtoRuns(mailbox: string): Inline {
  return { href: `mailto:${mailbox}`, text: mailbox };
}
