/**
 * Any season, not only 2024 (issue 19, "Tests that must exist"): fast-check generates campaign files
 * (periods of 1 to 366 days, across a new year or not, with and without 29 February, notice and
 * re-apply dates on month ends or not, any deposit in integer fen, any threshold) and, for each, a
 * small season of events crowding its edges (orders on the boundary instants, gift orders, bindings
 * starting and ending mid-period, deposits before and after the close, profiles on the scope cuts).
 *
 * Each case writes two such campaigns as files into a directory of its own (RENEWAL_CAMPAIGNS_DIR), so
 * the real handlers load them as they would any file, feeds both seasons' events to one set of fresh
 * tables through the real intake, aggregates and evaluates each campaign (final, `asOf` after its
 * close), and compares every decision with what the reference evaluator (test/support/reference.ts,
 * written from RULES.md alone) decides for that campaign over all the events: so one season's orders
 * and deposits are there, and must count or not by the other's period.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CAMPAIGNS_DIR_ENV } from '#shared/campaigns.ts';
import { render, timeOf } from '../support/events.ts';
import { chinaMidnight, plusDays, reference, referenceWindow, type ReferenceCampaign, type ReferenceDecision } from '../support/reference.ts';
import { apart, arbSeason, newSeason } from '../support/pipeline.ts';

const CASES = 30;

// ---------------------------------------------------------------------------------------------------
// Calendar dates, by hand: 'YYYY-MM-DD' strings, via the reference's plusDays.

const pad = (n: number) => String(n).padStart(2, '0');
/** The last day of the month of `date`. */
function monthEnd(date: string): string {
  const [y, m] = date.split('-').map(Number) as [number, number];
  return `${y}-${pad(m)}-${pad(new Date(Date.UTC(y, m, 0)).getUTCDate())}`;
}
const isMonthEnd = (date: string) => monthEnd(date) === date;
const daysBetween = (from: string, to: string) => Math.round((chinaMidnight(to) - chinaMidnight(from)) / 86_400_000);

/** A campaign file's deciding fields, and how the period lies in the calendar (for the coverage check). */
interface GeneratedCampaign extends ReferenceCampaign {
  days: number;
}

const arbYear = fc.integer({ min: 2021, max: 2033 });
/** A first day: any day of a year, a day of December (so most periods cross a new year), or a day of February of a leap year. */
const arbStartDate = fc.oneof(
  { weight: 2, arbitrary: fc.tuple(arbYear, fc.integer({ min: 0, max: 364 })).map(([y, d]) => plusDays(`${y}-01-01`, d)) },
  { weight: 2, arbitrary: fc.tuple(arbYear, fc.integer({ min: 1, max: 31 })).map(([y, d]) => `${y}-12-${pad(d)}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(2024, 2028, 2032), fc.integer({ min: 1, max: 29 })).map(([y, d]) => `${y}-02-${pad(d)}`) },
);
const arbDays = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(1, 2, 28, 29, 30, 31, 59, 60, 90, 91, 365, 366) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 366 }) });
/** Days before the first day for a scope cut: mostly the first day itself. */
const arbCutBefore = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 60 }) });
const arbDeposit = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(1, 10_000_000, 20_000_000, 99_999_999) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 1_000_000_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 10_000_000_000_000 }) },
);
/** Mostly thresholds a small season can reach or miss by one; now and then any. */
const arbThreshold = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(10_000, Number.MAX_SAFE_INTEGER) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 1_000_000 }) },
);

const arbCampaign: fc.Arbitrary<GeneratedCampaign> = fc
  .record({ start: arbStartDate, days: arbDays, cert: arbCutBefore, reg: arbCutBefore, depositRequiredFen: arbDeposit, thresholdOrders: arbThreshold })
  .chain(({ start, days, cert, reg, depositRequiredFen, thresholdOrders }) => {
    const end = plusDays(start, days - 1);
    const after = plusDays(end, 1);
    // The notice: the day after the period, some days later, or a month end (this month's or the next).
    const notice = fc.oneof(
      fc.constant(after),
      fc.integer({ min: 1, max: 45 }).map((d) => plusDays(after, d)),
      fc.constant(monthEnd(after)),
      fc.constant(monthEnd(plusDays(monthEnd(after), 1))),
    );
    return notice.chain((noticeDate) =>
      fc
        .oneof(
          fc.integer({ min: 0, max: 200 }),
          fc.constant(90),
          // A re-apply date on a month end, 0 to 6 months on.
          fc.integer({ min: 0, max: 6 }).map((m) => {
            let target = monthEnd(noticeDate);
            for (let i = 0; i < m; i++) target = monthEnd(plusDays(target, 1));
            return daysBetween(noticeDate, target);
          }),
        )
        .map((reapplyAfterDays): GeneratedCampaign => ({
          periodStartDate: start,
          periodEndDate: end,
          certifiedBeforeDate: plusDays(start, -cert),
          regularizedBeforeDate: plusDays(start, -reg),
          thresholdOrders,
          depositRequiredFen,
          noticeDate,
          reapplyAfterDays,
          days,
        })),
    );
  });

/** The campaign as its file says it (OPS.md "Campaign files"). */
function campaignFile(campaignId: string, c: GeneratedCampaign) {
  return {
    campaignId,
    rulesVersion: `${campaignId}/1`,
    rulesTitle: { zh: `《${campaignId} 续牌规则》`, en: `${campaignId} Renewal Rules` },
    nextRulesTitle: { zh: '《抖音电商产业带服务商常规考核规则》', en: 'Regular Assessment Rules' },
    timeZone: 'Asia/Shanghai',
    periodStartDate: c.periodStartDate,
    periodEndDate: c.periodEndDate,
    certifiedBeforeDate: c.certifiedBeforeDate,
    regularizedBeforeDate: c.regularizedBeforeDate,
    thresholdOrders: c.thresholdOrders,
    depositRequiredFen: c.depositRequiredFen,
    noticeDate: c.noticeDate,
    noticeTime: '10:00',
    reapplyAfterDays: c.reapplyAfterDays,
    feedbackMailbox: 'feedback@example.com',
    exitRefundProcedure: '《退出退保流程说明》',
    schedule: false,
  };
}

const windowOf = (c: GeneratedCampaign) => ({ ...referenceWindow(c), depositRequiredFen: c.depositRequiredFen });

/** What a decision says, reduced to the fields the rules decide. */
type Decided = Pick<ReferenceDecision, 'outcome' | 'reasons' | 'paidOrders' | 'depositBalanceFen' | 'thresholdOrders' | 'depositRequiredFen' | 'noticeDate' | 'reapplyFrom'>;
const FIELDS = ['outcome', 'reasons', 'paidOrders', 'depositBalanceFen', 'thresholdOrders', 'depositRequiredFen', 'noticeDate', 'reapplyFrom'] as const;
function decided(ds: readonly (Partial<Decided> & { providerId: string })[]): Record<string, Partial<Decided>> {
  return Object.fromEntries(
    [...ds].sort((a, b) => (a.providerId < b.providerId ? -1 : 1)).map((d) => [d.providerId, Object.fromEntries(FIELDS.filter((k) => d[k] !== undefined).map((k) => [k, d[k]]))]),
  );
}

/** Two campaigns, each with a season of its own (ids apart), the events of both in time order. */
const arbCase = fc.tuple(arbCampaign, arbCampaign).chain((campaigns) =>
  fc.tuple(...campaigns.map((c) => arbSeason(windowOf(c)))).map((seasons) => ({
    campaigns,
    events: seasons.flatMap((s, k) => apart(s, k)).sort((a, b) => timeOf(a) - timeOf(b)),
  })),
);

const dirs: string[] = [];
const envBefore = process.env[CAMPAIGNS_DIR_ENV];
afterAll(() => {
  if (envBefore === undefined) delete process.env[CAMPAIGNS_DIR_ENV];
  else process.env[CAMPAIGNS_DIR_ENV] = envBefore;
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('generated campaigns decide as RULES.md says, through the real pipeline', () => {
  it(`${CASES} cases of two generated campaign files on one set of tables = the reference evaluator`, { timeout: 300_000 }, async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(arbCase, async ({ campaigns, events }) => {
        const dir = mkdtempSync(join(tmpdir(), 'renewal-campaigns-'));
        dirs.push(dir);
        const ids = campaigns.map((_, k) => `gen-${++n}-${k}`);
        campaigns.forEach((c, k) => writeFileSync(join(dir, `${ids[k]}.json`), JSON.stringify(campaignFile(ids[k]!, c), null, 2)));
        process.env[CAMPAIGNS_DIR_ENV] = dir;

        const s = await newSeason();
        const lines = events.map((e) => render(e));
        expect(await s.feed(lines)).toEqual({ accepted: lines.length, duplicates: 0, rejected: 0, failed: 0 });
        for (const [k, c] of campaigns.entries()) {
          const campaignId = ids[k]!;
          expect(await s.aggregate({ campaignId, full: true })).toMatchObject({ status: 'done' });
          // Final: half an hour after the close, as the evaluation schedule runs.
          const asOf = new Date(referenceWindow(c).endMs + 30 * 60_000).toISOString();
          const r = await s.evaluate({ campaignId, asOf, requestedBy: 'campaigns-property-test' });
          expect(r).toMatchObject({ mode: 'final', campaignId, thresholdOrders: c.thresholdOrders, thresholdSource: 'campaign' });
          expect(decided(r.assessments), `${campaignId}: ${JSON.stringify(campaignFile(campaignId, c))}`).toEqual(decided(reference(c, lines).decisions));
        }
      }),
      { numRuns: CASES, endOnFailure: true },
    );
  });

  it('the generator covers what the issue names, and the reference reaches every outcome over it', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        arbCampaign.chain((c) => arbSeason(windowOf(c)).map((events) => ({ c, events }))),
        ({ c, events }) => {
          const years = new Set([c.periodStartDate.slice(0, 4), c.periodEndDate.slice(0, 4)]);
          if (years.size > 1) seen.add('across a new year');
          let leapDay = false;
          for (let d = c.periodStartDate; d <= c.periodEndDate; d = plusDays(d, 1)) if (d.endsWith('-02-29')) leapDay = true;
          seen.add(leapDay ? 'with 29 February' : 'without 29 February');
          if (c.days === 1) seen.add('1 day');
          if (c.days === 366) seen.add('366 days');
          if (isMonthEnd(c.noticeDate)) seen.add('notice on a month end');
          if (isMonthEnd(plusDays(c.noticeDate, c.reapplyAfterDays))) seen.add('re-apply on a month end');
          if (c.depositRequiredFen > 1_000_000_000) seen.add('deposit over CNY 10,000,000');
          for (const d of reference(
            c,
            events.map((e) => render(e)),
          ).decisions)
            seen.add(d.outcome === 'revoked' ? `revoked:${d.reasons.join('+')}` : d.outcome);
        },
      ),
      { numRuns: 500, seed: 19 },
    );
    expect([...seen].sort()).toEqual(
      [
        '1 day',
        '366 days',
        'across a new year',
        'deposit over CNY 10,000,000',
        'notice on a month end',
        're-apply on a month end',
        'with 29 February',
        'without 29 February',
        'not_assessed',
        'retained',
        'revoked:deposit_not_paid_in_full',
        'revoked:orders_below_threshold',
        'revoked:orders_below_threshold+deposit_not_paid_in_full',
      ].sort(),
    );
  });
});
