/**
 * Instants and calendar dates, with no clock and no I/O.
 *
 * An instant is epoch milliseconds (UTC). A calendar date is a 'YYYY-MM-DD' string read in a fixed UTC offset;
 * the rules use China Standard Time, which has had no DST since 1991 (RULES.md, decision "time zone").
 */

export const CHINA_OFFSET_MINUTES = 480;

const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;
/** Real-world offsets span -12:00..+14:00; anything beyond ±14:00 is a typo, not a zone. */
const MAX_OFFSET_MINUTES = 14 * 60;

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * UTC midnight of a civil date, or undefined when the day does not exist (2023-02-29, month 13).
 * `setUTCFullYear` rather than `Date.UTC`, which maps years 0..99 to 1900..1999; the read-back catches the
 * roll-over that `Date` does silently (2023-02-29 → 2023-03-01).
 */
function civilMidnightUtc(year: number, month: number, day: number): number | undefined {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  const exists = d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
  return exists ? d.getTime() : undefined;
}

/**
 * Parses a strict ISO-8601 date-time that carries its offset: `YYYY-MM-DDTHH:MM[:SS[.f…]]` then `Z` or `±HH:MM`.
 * Returns epoch ms, or undefined for anything else: no offset (ambiguous, RULES.md "time zone"), a day or time
 * that does not exist, second 60 (no leap seconds), an offset beyond ±14:00. Digits past the millisecond are
 * truncated, as `Date` does. Components are checked here because `Date.parse` accepts and rolls over junk.
 */
export function parseInstant(s: string): number | undefined {
  const m = INSTANT.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec = '0', frac = '', sign, oh, om] = m;
  const midnight = civilMidnightUtc(Number(y), Number(mo), Number(d));
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(sec);
  if (midnight === undefined || hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = 0;
  if (sign !== undefined) {
    const offH = Number(oh);
    const offM = Number(om);
    offset = (sign === '-' ? -1 : 1) * (offH * 60 + offM);
    if (offM > 59 || Math.abs(offset) > MAX_OFFSET_MINUTES) return undefined;
  }
  const millis = Number(frac.padEnd(3, '0').slice(0, 3));
  return midnight + ((hour * 60 + minute - offset) * 60 + second) * 1000 + millis;
}

/** Renders an instant as UTC ISO-8601 with milliseconds, e.g. `2023-11-30T16:00:00.000Z`. */
export function toUtcIso(ms: number): string {
  return new Date(ms).toISOString();
}

/** True iff `date` is 'YYYY-MM-DD' naming a day that exists. */
export function isValidDate(date: string): boolean {
  return parseDate(date) !== undefined;
}

function parseDate(date: string): number | undefined {
  const m = DATE.exec(date);
  return m ? civilMidnightUtc(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
}

/** Calendar dates are inputs from code and campaigns, so a bad one is a bug: fail loudly. */
function requireDate(date: string, name: string): number {
  const ms = parseDate(date);
  if (ms === undefined) throw new RangeError(`${name} must be a valid 'YYYY-MM-DD' date, got '${date}'`);
  return ms;
}

/** The calendar date, 'YYYY-MM-DD', of an instant seen at a UTC offset in minutes. */
export function localDate(ms: number, offsetMinutes: number): string {
  return toUtcIso(ms + offsetMinutes * MS_PER_MINUTE).slice(0, 10);
}

/** The local date and minute of an instant at a UTC offset, `YYYY-MM-DD HH:MM` (for people: the notice, the report page). */
export function localDateTime(ms: number, offsetMinutes: number): string {
  const iso = toUtcIso(ms + offsetMinutes * MS_PER_MINUTE);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** A UTC offset in minutes as people write it: 480 → 'UTC+8', 330 → 'UTC+5:30', -210 → 'UTC-3:30', 0 → 'UTC+0'. */
export function utcOffsetLabel(offsetMinutes: number): string {
  const abs = Math.abs(offsetMinutes);
  const minutes = abs % 60;
  return `UTC${offsetMinutes < 0 ? '-' : '+'}${Math.floor(abs / 60)}${minutes ? `:${String(minutes).padStart(2, '0')}` : ''}`;
}

/** The instant at which `date` begins at a UTC offset, e.g. ('2023-12-01', 480) → 2023-11-30T16:00:00Z. */
export function localMidnightUtc(date: string, offsetMinutes: number): number {
  return requireDate(date, 'date') - offsetMinutes * MS_PER_MINUTE;
}

/** `date` plus `n` calendar days (n may be negative). */
export function addDays(date: string, n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`n must be an integer, got ${n}`);
  return toUtcIso(requireDate(date, 'date') + n * MS_PER_DAY).slice(0, 10);
}

/** Whole calendar days from `a` to `b` (negative when b is earlier). */
export function daysBetween(a: string, b: string): number {
  return Math.round((requireDate(b, 'b') - requireDate(a, 'a')) / MS_PER_DAY);
}

/** Every date in `[startInclusive, endExclusive)`, in order; empty when end is not after start. */
export function datesInRange(startInclusive: string, endExclusive: string): string[] {
  const n = daysBetween(startInclusive, endExclusive);
  return Array.from({ length: Math.max(0, n) }, (_, i) => addDays(startInclusive, i));
}
