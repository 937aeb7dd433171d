/**
 * `renewal campaign list | show ID | check FILE` (OPS.md "Campaign and re-application commands"):
 * what each campaign file says, resolved into instants, and where each season stands.
 */
import { seasonSchedule } from '../cdk/schedules.ts';
import type { CampaignFieldError } from '#shared/rules/campaign-file.ts';
import { isPeriodClosed, periodWindow, resolveThreshold, type Campaign, type ThresholdSource } from '#shared/rules/campaign.ts';
import { reapplyFrom } from '#shared/rules/rules.ts';
import { localMidnightUtc, toUtcIso, utcOffsetLabel } from '#shared/rules/time.ts';
import { table } from '#shared/text/terminal.ts';
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { campaignRegistry, campaignsDir, readCampaignFile } from '#shared/campaigns.ts';
import { readEnv, thresholdEnv } from '#shared/config.ts';
import { localStatus } from '#tools/local/stack.ts';
import { info, knownCampaign, print, printJson, type CommandContext } from './command-kit.ts';

export type CampaignState = 'upcoming' | 'running' | 'closed' | 'published';

export interface CampaignListRow {
  campaignId: string;
  state: CampaignState;
  periodStart: string;
  periodEnd: string;
  schedule: boolean;
  /** The notice version on the target, when it was read (null: the stack was not asked). */
  noticeVersion: number | null;
}

/**
 * Where a campaign stands at `nowMs`: before its period, in it, after it; `published` once its notice
 * has a version >= 1 on the target (`noticeVersion`, null when the target was not read: then an ended
 * campaign is `closed`).
 */
export function campaignState(c: Campaign, nowMs: number, noticeVersion: number | null): CampaignState {
  const w = periodWindow(c);
  if (nowMs < w.startMs) return 'upcoming';
  if (!isPeriodClosed(c, nowMs)) return 'running';
  return noticeVersion !== null && noticeVersion >= 1 ? 'published' : 'closed';
}

export function campaignListRow(c: Campaign, nowMs: number, noticeVersion: number | null): CampaignListRow {
  return { campaignId: c.campaignId, state: campaignState(c, nowMs, noticeVersion), periodStart: c.periodStartDate, periodEnd: c.periodEndDate, schedule: c.schedule, noticeVersion };
}

export function campaignListTable(rows: CampaignListRow[], noticesRead: string): string {
  const body = table(
    ['campaign', 'state', 'period (China time, both days inclusive)', 'scheduled', 'notice version'],
    rows.map((r) => [r.campaignId, r.state, `${r.periodStart} .. ${r.periodEnd}`, r.schedule ? 'yes' : 'no', r.noticeVersion ?? '-']),
    ['left', 'left', 'left', 'left', 'right'],
  );
  return `${body}\n\n${noticesRead}`;
}

/** An instant in UTC and in the campaign's zone. */
export interface Instant {
  utc: string;
  china: string;
}

const instant = (ms: number, offsetMinutes: number): Instant => {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const h = Math.floor(Math.abs(offsetMinutes) / 60);
  const m = Math.abs(offsetMinutes) % 60;
  return { utc: toUtcIso(ms), china: `${local}${offsetMinutes < 0 ? '-' : '+'}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}` };
};

export interface ScheduleView {
  schedule: 'aggregation' | 'evaluation' | 'progress' | 'notice';
  function: 'aggregate' | 'evaluate' | 'notify' | 'publish';
  expression: string;
  timeZone: string;
  start?: string;
  end?: string;
  /** The one-time schedules: the instant they fire. */
  at?: Instant;
  payload: object;
}

export interface CampaignShow {
  campaignId: string;
  file: string;
  campaign: Omit<Campaign, 'utcOffsetMinutes' | 'timeZoneName'>;
  instants: {
    /** The first instant of the period. */
    periodStart: Instant;
    /** The first instant after the period (the period is half-open, RULES.md "period"). */
    periodEnd: Instant;
    evaluation: Instant;
    noticePublication: Instant;
    /** 00:00 China time of the re-apply date: a provider revoked by this campaign may apply from then (clause 3). */
    reapplyFrom: Instant & { date: string };
  };
  /** The schedules a deployment makes for it when its file says `"schedule": true` (none otherwise). */
  schedules: ScheduleView[];
  threshold: { thresholdOrders: number | null; source: ThresholdSource | 'none'; note: string };
}

/** `show` and `check`: the campaign resolved. `deploymentThreshold` is this shell's THRESHOLD_ORDERS, if set. */
export function campaignShow(c: Campaign, file: string, deploymentThreshold: number | undefined): CampaignShow {
  const { utcOffsetMinutes: off, timeZoneName: _name, ...fields } = c;
  const w = periodWindow(c);
  const s = seasonSchedule(c);
  const reapplyDate = reapplyFrom(c.noticeDate, c.reapplyAfterDays);
  const t = resolveThreshold(c, { deployment: deploymentThreshold });
  const note = !t
    ? 'none: the file says null and THRESHOLD_ORDERS is not set; an evaluation needs --threshold or THRESHOLD_ORDERS, and a scheduled campaign fails the synth without -c thresholdOrders=N'
    : t.source === 'campaign'
      ? `the campaign file (a run's --threshold still wins for that run; THRESHOLD_ORDERS does not override it)`
      : `THRESHOLD_ORDERS of this shell, standing in for the file's null (a deployment uses its own -c thresholdOrders)`;
  return {
    campaignId: c.campaignId,
    file,
    campaign: fields,
    instants: {
      periodStart: instant(w.startMs, off),
      periodEnd: instant(w.endMs, off),
      evaluation: instant(s.evaluation.at.getTime(), off),
      noticePublication: instant(s.notice.at.getTime(), off),
      reapplyFrom: { date: reapplyDate, ...instant(localMidnightUtc(reapplyDate, off), off) },
    },
    schedules: c.schedule
      ? [
          {
            schedule: 'aggregation',
            function: 'aggregate',
            expression: `rate(${s.aggregation.rateMinutes} minutes)`,
            timeZone: 'Etc/UTC',
            start: toUtcIso(s.aggregation.start.getTime()),
            end: toUtcIso(s.aggregation.end.getTime()),
            payload: { campaignId: c.campaignId },
          },
          {
            schedule: 'evaluation',
            function: 'evaluate',
            expression: `at(${s.evaluation.wallClock})`,
            timeZone: s.timeZone,
            at: instant(s.evaluation.at.getTime(), off),
            payload: { campaignId: c.campaignId },
          },
          {
            schedule: 'progress',
            function: 'notify',
            expression: s.progress.cron,
            timeZone: s.timeZone,
            start: toUtcIso(s.progress.start.getTime()),
            end: toUtcIso(s.progress.end.getTime()),
            payload: { campaignId: c.campaignId, kind: 'progress' },
          },
          { schedule: 'notice', function: 'publish', expression: `at(${s.notice.wallClock})`, timeZone: s.timeZone, at: instant(s.notice.at.getTime(), off), payload: { campaignId: c.campaignId } },
        ]
      : [],
    threshold: { thresholdOrders: t?.thresholdOrders ?? null, source: t?.source ?? 'none', note },
  };
}

const fen = (n: number) => `CNY ${(n / 100).toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: 2 })} (${n.toLocaleString('en-US')} fen)`;

export function campaignShowText(v: CampaignShow, offsetMinutes: number): string {
  const c = v.campaign;
  const zone = `China time (${utcOffsetLabel(offsetMinutes)})`;
  const at = (i: Instant) => [i.utc, i.china];
  const instants = table(
    ['instant', 'UTC', zone],
    [
      ['period start', ...at(v.instants.periodStart)],
      ['period end (first instant after it)', ...at(v.instants.periodEnd)],
      ['evaluation (30 min after the close)', ...at(v.instants.evaluation)],
      ['notice publication', ...at(v.instants.noticePublication)],
      [`re-apply from (notice + ${c.reapplyAfterDays} days)`, ...at(v.instants.reapplyFrom)],
    ],
  );
  const schedules = v.schedules.length
    ? table(
        ['schedule', 'function', 'expression', 'zone', 'from', 'until', 'payload'],
        v.schedules.map((s) => [s.schedule, s.function, s.expression, s.timeZone, s.start ?? '', s.end ?? '', JSON.stringify(s.payload)]),
      )
    : 'none: the file says "schedule": false (ops run its functions by hand)';
  return [
    `${v.campaignId}  (${v.file})`,
    `${c.rulesTitle.zh} / ${c.rulesTitle.en}, rules version ${c.rulesVersion}`,
    `period ${c.periodStartDate} .. ${c.periodEndDate} (both inclusive); in scope if certified before ${c.certifiedBeforeDate}, assessed if regularized before ${c.regularizedBeforeDate}`,
    `deposit required ${fen(c.depositRequiredFen)}; notice ${c.noticeDate} ${c.noticeTime}; feedback ${c.feedbackMailbox}`,
    `threshold: ${v.threshold.thresholdOrders === null ? 'NONE' : `${v.threshold.thresholdOrders.toLocaleString('en-US')} paid orders`} — ${v.threshold.note}`,
    '',
    instants,
    '',
    'schedules',
    schedules,
  ].join('\n');
}

export function campaignErrorsText(file: string, errors: CampaignFieldError[]): string {
  return `${file}: not a valid campaign file\n\n${table(
    ['field', 'why'],
    errors.map((e) => [e.field, e.message]),
  )}`;
}

/** The `campaign` commands, on the program; the notice versions read from where the command runs. */
export function registerCampaignCommands(program: Command, { onAws, target }: Pick<CommandContext, 'onAws' | 'target'>): void {
  const campaignCmd = program.command('campaign').description('the campaign files, campaigns/<id>.json (RENEWAL_CAMPAIGNS_DIR): list, show, check');
  /** This shell's THRESHOLD_ORDERS, as the embedded stack's functions read it. */
  const shellThreshold = () => readEnv({ threshold: thresholdEnv }, process.env).threshold;

  campaignCmd
    .command('list')
    .description('every campaign and where it stands now: upcoming, running, closed, or published (its notice has a version)')
    .option('--json', 'print [{"campaignId","state","periodStart","periodEnd","schedule","noticeVersion"}]')
    .addHelpText(
      'after',
      '\nAn ended campaign is "published" once its notice has a version on the target: read from the deployed stack with --aws, or from the embedded stack when it runs (it is not started for this); otherwise it shows as "closed".',
    )
    .action(async (o: { json?: boolean }) => {
      const campaigns = campaignRegistry().list();
      const now = Date.now();
      const ended = campaigns.filter((c) => isPeriodClosed(c, now));
      const versions = new Map<string, number>();
      let read = 'notice versions: no campaign has ended';
      if (ended.length) {
        const reachable = onAws() || (await localStatus()).running;
        if (!reachable) read = 'notice versions not read: the embedded stack is not running (renewal local up, or --aws); an ended campaign shows as closed';
        else {
          try {
            const where = await target({ quiet: true });
            for (const c of ended) versions.set(c.campaignId, (await where.notice(c.campaignId)).notice.version);
            read = `notice versions read from the ${onAws() ? 'deployed' : 'embedded'} stack`;
          } catch (err) {
            read = `notice versions not read (${(err as Error).message}); an ended campaign shows as closed`;
          }
        }
      }
      const rows = campaigns.map((c) => campaignListRow(c, now, versions.get(c.campaignId) ?? null));
      if (o.json) {
        printJson(rows);
        info(`renewal: ${read}`);
      } else print(campaignListTable(rows, read));
    });

  campaignCmd
    .command('show')
    .description('a campaign resolved: period, evaluation, notice and re-apply instants in UTC and China time, its schedules, its threshold and where it comes from')
    .argument('<id>', 'campaign id')
    .option('--json', 'print the campaign, its instants, schedules and threshold as JSON')
    .action((id: string, o: { json?: boolean }) => {
      const c = knownCampaign(id, 'campaign show');
      const v = campaignShow(c, join(campaignsDir(), `${c.campaignId}.json`), shellThreshold());
      if (o.json) printJson(v);
      else print(campaignShowText(v, c.utcOffsetMinutes));
    });

  campaignCmd
    .command('check')
    .description('validate a campaign file before it is committed: prints what show prints, or every bad field and why (exit 2)')
    .argument('<file>', 'a campaign file, named <campaignId>.json')
    .option('--json', 'print what show prints, or {"errors":[{"field","message"}]}')
    .action((file: string, o: { json?: boolean }) => {
      const r = readCampaignFile(resolve(file));
      if (!r.ok) {
        if (o.json) printJson({ errors: r.errors });
        else print(campaignErrorsText(file, r.errors));
        process.exitCode = 2;
        return;
      }
      const v = campaignShow(r.campaign, resolve(file), shellThreshold());
      if (o.json) printJson(v);
      else print(campaignShowText(v, r.campaign.utcOffsetMinutes));
    });
}
