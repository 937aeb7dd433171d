/**
 * Formatting and escaping for what people read: the mails first, and the pages and the terminal with the
 * same figures. Pure string functions, no I/O, no clock. Everything a mail shows that came from outside
 * the code (a provider's name, id, email, ops settings) passes through `escapeHtml` in the HTML part (via
 * the `html` tag) and through `headerSafe` wherever it must stay on one line.
 */

import stringWidth from 'string-width';

/** Escapes the five characters that can open markup or leave an attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Bidi marks, embeddings, overrides and isolates: in a provider's name they could make the text around
 * it (a subject, a table row, a CSV line) read in another order than it holds.
 */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;

/**
 * Each bidi control becomes a space: the one treatment of them for every output that shows outside
 * text (mail, notice, report page through `headerSafe`; the terminal's tables and the CSV files).
 */
export function neutralizeBidi(s: string): string {
  return s.replace(BIDI_CONTROLS, ' ');
}

/** Control characters (C0, DEL, C1), line and paragraph separators, and the BOM. */
const UNSAFE_IN_LINE = /[\p{Cc}\p{Zl}\p{Zp}\uFEFF]/gu;
/** A surrogate half without its partner cannot be encoded as UTF-8; a mailer would mangle it anyway. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * One line of plain text, safe for a header such as Subject: CR, LF and every other control character
 * become a space, runs of whitespace collapse to one space, and the ends are trimmed. A name carrying
 * "\r\nBcc: x" therefore stays inside the subject as visible text and can never start a header.
 */
export function headerSafe(s: string): string {
  return neutralizeBidi(s.replace(LONE_SURROGATE, '\uFFFD')).replace(UNSAFE_IN_LINE, ' ').replace(/\s+/g, ' ').trim();
}

/**
 * The name as one line of text, for the subject and the bodies alike (and the public notice and the
 * report page); the id stands in for a blank name.
 */
export function displayName(name: string, providerId: string): string {
  return headerSafe(name) || headerSafe(providerId);
}

/**
 * Columns a string takes in a fixed-width font (the mails' plain text, the terminal's tables), by
 * grapheme and East Asian width (string-width): CJK and emoji take two, a ZWJ sequence is one emoji,
 * combining marks and zero-width characters take none.
 */
export function displayWidth(s: string): number {
  return stringWidth(s);
}

/** Digits of a non-negative safe integer, grouped by three with commas: 1234567 → '1,234,567'. */
function groupDigits(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+$)/g, ',');
}

/** A count (orders, days) with thousands separators; throws a RangeError on anything but a safe integer. */
export function formatCount(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`count must be a safe integer, got ${n}`);
  return (n < 0 ? '-' : '') + groupDigits(String(Math.abs(n)));
}

/**
 * Money in integer fen as CNY: 10000000 → '¥100,000.00', -150 → '-¥1.50'. Works on the decimal digits
 * as a string, so no float ever touches the amount; throws a RangeError on a non-integer or unsafe number,
 * since a fractional fen is a bug upstream, not money.
 */
export function formatFen(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`fen must be a safe integer, got ${fen}`);
  const negative = fen < 0;
  const digits = String(negative ? -fen : fen).padStart(3, '0');
  const yuan = digits.slice(0, -2);
  const cents = digits.slice(-2);
  return `${negative ? '-' : ''}¥${groupDigits(yuan)}.${cents}`;
}

/**
 * HTML that is safe to emit as is: built only by the `html` tag (which escapes every interpolated string)
 * or by `rawHtml` for markup written in this code.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlPart = SafeHtml | string | number | readonly HtmlPart[] | null | undefined | false;

/**
 * Tagged template for markup: every interpolated string or number is escaped, `SafeHtml` is inserted as
 * is, arrays are concatenated and null/undefined/false render nothing. Escaping by default means a
 * template cannot forget to escape a provider's text.
 */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlPart[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += renderPart(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/** Markup written in this code (never data): inserted without escaping. */
export function rawHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

function renderPart(v: HtmlPart): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (typeof v === 'string') return escapeHtml(v);
  if (typeof v === 'number') return escapeHtml(String(v));
  return v.map(renderPart).join('');
}
