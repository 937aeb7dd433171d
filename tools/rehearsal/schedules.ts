/**
 * EventBridge Scheduler schedules as the template defines them: the instants each one fires between
 * two moments of the simulated clock. `at(…)` and `cron(…)` are read in the schedule's time zone;
 * `rate(…)` runs from its start date. Recurring schedules fire on or after `StartDate` and before
 * `EndDate`; a one-time schedule ignores both (as Scheduler does). Cron expressions are evaluated by a
 * kept library (croner), after translating EventBridge's six fields to its five.
 */
import { Cron } from 'croner';

export interface ScheduleSpec {
  logicalId: string;
  name: string;
  expression: string;
  timeZone: string;
  startMs?: number;
  endMs?: number;
  enabled: boolean;
  target: {
    arn: string;
    roleArn: string;
    input?: string;
    retry: { maxAttempts: number; maxEventAgeMs: number };
    deadLetterArn?: string;
  };
}

export class ScheduleExpressionError extends Error {
  override name = 'ScheduleExpressionError';
}

/** Every instant in `[fromMs, toMs)` at which `s` fires. */
export function firings(s: ScheduleSpec, fromMs: number, toMs: number): number[] {
  if (!s.enabled) return [];
  const expr = s.expression.trim();
  let m: RegExpMatchArray | null;
  if ((m = expr.match(/^at\((\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\)$/))) {
    const [, y, mo, d, h, mi, se] = m.map<number>(Number);
    const at = zonedToUtc(s.timeZone, y!, mo!, d!, h!, mi!, se!);
    return at >= fromMs && at < toMs ? [at] : [];
  }
  const lo = Math.max(fromMs, s.startMs ?? -Infinity);
  const hi = Math.min(toMs, s.endMs ?? Infinity);
  if (lo >= hi) return [];
  if ((m = expr.match(/^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/))) {
    const n = Number(m[1]);
    if (n < 1 || (n === 1) !== !m[2]!.endsWith('s')) throw new ScheduleExpressionError(`${s.logicalId}: ${expr}: the unit must be singular for 1 and plural otherwise`);
    const step = n * { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[m[2]!.replace(/s$/, '') as 'minute' | 'hour' | 'day'];
    const origin = s.startMs ?? fromMs;
    const out: number[] = [];
    for (let t = origin + Math.max(0, Math.ceil((lo - origin) / step)) * step; t < hi; t += step) out.push(t);
    return out;
  }
  if ((m = expr.match(/^cron\((.+)\)$/))) {
    const cron = new Cron(toCroner(m[1]!, s.logicalId), { timezone: s.timeZone, paused: true });
    const out: number[] = [];
    for (let d: Date | null = new Date(lo - 1000); (d = cron.nextRun(d)) && d.getTime() < hi;) if (d.getTime() >= lo) out.push(d.getTime());
    return out;
  }
  throw new ScheduleExpressionError(`${s.logicalId}: ${expr}: not an at(), rate() or cron() expression`);
}

/**
 * EventBridge `cron(min hour day-of-month month day-of-week year)` → croner's five fields. `?` means
 * "any"; EventBridge numbers the days of the week 1-7 from Sunday, croner 0-6. Only `*` is supported
 * for the year.
 */
export function toCroner(fields: string, id = 'cron'): string {
  const f = fields.trim().split(/\s+/);
  if (f.length !== 6) throw new ScheduleExpressionError(`${id}: cron(${fields}): EventBridge cron takes six fields`);
  const [min, hour, dom, month, dow, year] = f as [string, string, string, string, string, string];
  if (year !== '*') throw new ScheduleExpressionError(`${id}: cron(${fields}): the rehearsal supports only * for the year`);
  if (dom !== '?' && dow !== '?') throw new ScheduleExpressionError(`${id}: cron(${fields}): one of day-of-month and day-of-week must be ?`);
  const weekday = dow === '?' ? '*' : dow.replace(/\d+/g, (n) => String((Number(n) + 6) % 7));
  return [min, hour, dom === '?' ? '*' : dom, month, weekday].join(' ');
}

/** The UTC instant of a wall-clock time in an IANA zone. */
export function zonedToUtc(zone: string, y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  let guess = wall - offsetMs(zone, wall);
  guess = wall - offsetMs(zone, guess); // once more, for a zone whose offset changes in between
  return guess;
}

function offsetMs(zone: string, utcMs: number): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(utcMs))
      .map((p) => [p.type, p.value]),
  );
  const local = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return local - Math.floor(utcMs / 1000) * 1000;
}
