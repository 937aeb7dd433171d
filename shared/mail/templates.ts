/**
 * The provider mails: the outcome of a renewal campaign (retained / revoked, and corrections of either) and
 * the weekly progress reminder during the season. Pure: no I/O, no clock; every input is passed in.
 *
 * Each mail is Chinese first, then English, in both the HTML and the plain-text part. Its structure is
 * written once here and filled from each language's copy (./copy.ts); both parts are rendered from the
 * resulting block lists (./document.ts), so they say the same thing. Every figure an outcome mail states
 * comes from the stored decision (its evidence, RULES.md clause 2.3), never from the campaign, so the mail
 * reproduces what was decided even if the campaign changes later; the campaign gives only the names (of
 * the rules, the zone, the exit procedure).
 */
export { escapeHtml, formatFen, headerSafe } from '../text/format.ts';
export { MailTemplateError, type MailSettings, type RenderedMail } from './compose.ts';
export { renderOutcomeMail } from './outcome-mail.ts';
export { renderProgressMail, type ProgressSnapshot } from './progress-mail.ts';
