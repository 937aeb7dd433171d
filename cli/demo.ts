import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEnv, thresholdEnv } from '#shared/config.ts';
import { periodWindow, type Campaign } from '#shared/rules/campaign.ts';
import { addDays } from '#shared/rules/time.ts';
import type { NotifyResult } from '#shared/usecases/notify.ts';
import { reportCsv } from '#shared/usecases/report.ts';
import { feedRecords, toRecords } from './import.ts';
import { LOCAL_DIR, localDown, localUp, useLocalStack } from '#tools/local/stack.ts';
import { notifySummary } from './mail-commands.ts';
import { table } from '#shared/text/terminal.ts';
import { writeReportPage } from './report-page.ts';
import { demoCampaign, generateSeason } from '#tools/demo-season/season.ts';
import { aggregateSummary, evaluationSummary, publishSummary, seasonChart } from './run-summaries.ts';
import { localTarget } from './target.ts';

/**
 * `npm start`: the main job on the embedded stack, played as production would. A generated season
 * arrives through the intake in delivery order, the scheduled aggregation runs between deliveries,
 * the period-end evaluation is invoked with the event the schedule sends, the outcome mail goes out
 * and the public delisting notice is published. Every decision is checked against the season's plan
 * (the outcome, reasons and figures the generator planned for each provider, not a computation with
 * the rules module), and the notice against the revoked decisions.
 */

interface DemoIO {
  json?: boolean;
  providers: number;
  orders: number;
  seed: number;
  /** The campaign the season is generated in and decided for; default renewal-2024. */
  campaign?: Campaign;
  print: (s: string) => void;
  printJson: (v: unknown) => void;
  info: (s: string) => void;
}

type Fns = ReturnType<typeof localTarget>;
type Season = ReturnType<typeof generateSeason>;
type Imported = { accepted: number; duplicates: number; rejected: number; failed: number };
interface Mismatch {
  providerId: string;
  field: string;
  expected: unknown;
  actual: unknown;
  plan: string;
}

export async function runDemo(io: DemoIO): Promise<void> {
  const t0 = Date.now();
  const campaign = io.campaign ?? demoCampaign();
  // Ops set the threshold for the season before the evaluation (RULES.md 2.2.1); one set by hand wins.
  const configuredThreshold = readEnv({ threshold: thresholdEnv }, process.env).threshold;
  const up = await localUp();
  io.info(`embedded stack: dynamodb ${up.dynamodb}, ses ${up.ses}`);

  io.info(`generating the demo season (seed ${io.seed}): ${io.providers} providers, ${io.orders} orders`);
  const season = generateSeason({ providers: io.providers, orders: io.orders, seed: io.seed, campaign });
  const thresholdOrders = configuredThreshold ?? season.thresholdOrders;
  // What the evaluation and the mail are configured with, as on a deployment (THRESHOLD_ORDERS).
  const fns = localTarget(await useLocalStack(io.info, { thresholdOrders }), io);
  const { status } = fns.stack;
  io.info(`threshold: ${thresholdOrders} paid orders (THRESHOLD_ORDERS${configuredThreshold ? ', as set' : ", the demo season's"})`);
  const { imported, aggregations } = await deliver(io, fns, season, campaign);

  // The period-end schedule's event, exactly as EventBridge sends it; the evaluation hands the mail
  // and (when the list changed) the public notice over, as on AWS.
  const evaluation = await fns.evaluate({ campaignId: campaign.campaignId });
  const { result, mail } = evaluation;
  let { publication } = evaluation;
  // Then the notice date's one-time schedule, as on AWS: the list is the one just published, so it
  // writes nothing (or finishes a publication an earlier run left undone).
  const scheduled = await fns.publish({ campaignId: campaign.campaignId });
  publication ??= scheduled;

  const planHolds = thresholdOrders === season.thresholdOrders;
  const mismatches = againstPlan(season, result.assessments, planHolds);

  const { reportPage, byDay, notice, listed, noticeMatches } = await reportAndNotice(fns, campaign);

  // A progress mail as the weekly schedule sent it in mid-January, so both kinds are in the viewer.
  const progressAt = progressAsOf(campaign);
  const progress = await fns.notify({ campaignId: campaign.campaignId, kind: 'progress', asOf: progressAt });

  const seconds = (Date.now() - t0) / 1000;
  if (io.json) {
    io.printJson({
      imported,
      aggregations,
      thresholdOrders,
      evaluation: { mode: result.mode, counts: result.counts, revisionsCreated: result.revisionsCreated },
      mail: { outcome: mail, progress },
      notice: { version: notice.version, providers: listed.length, matchesDecisions: noticeMatches, url: notice.url ?? status.notice, publication },
      mismatches: mismatches.length,
      ...(mismatches.length ? { differences: mismatches } : {}),
      viewer: status.viewer,
      report: reportPage,
      seconds,
    });
  } else {
    io.print(`threshold: ${thresholdOrders} paid orders (THRESHOLD_ORDERS, set by ops for this season; deposit CNY ${(campaign.depositRequiredFen / 100).toLocaleString('en')})\n`);
    io.print(evaluationSummary(result));
    io.print(`\n${seasonChart(periodWindow(campaign).days, byDay)}`);
    io.print(
      `\nchecked against the season's plan (${season.expected.size} providers: ${planHolds ? 'outcome, reasons, paid orders, deposit' : `paid orders and deposit only, the threshold is not the plan's ${season.thresholdOrders}`}): ${mismatches.length} differences`,
    );
    if (mismatches.length)
      io.print(
        table(
          ['provider', 'field', 'planned', 'decided', 'plan'],
          mismatches.map((m) => [m.providerId, m.field, String(m.expected), String(m.actual), m.plan]),
        ),
      );
    io.print(`public notice (version ${notice.version}) lists ${listed.length} provider(s): ${noticeMatches ? 'exactly the revoked ones' : 'NOT the revoked ones'}`);
    io.print(`report: ${join(LOCAL_DIR, 'report.json')}, ${join(LOCAL_DIR, 'report.csv')} and ${reportPage}\n`);
    io.print(`Mail (outcome after the final evaluation; progress as the weekly schedule sent it on ${progressAt}):`);
    io.print(notifySummary(mail as NotifyResult));
    io.print(notifySummary(progress));
    io.print(`\n${publishSummary(publication)}`);
    io.print(`\nmail viewer:   ${status.viewer}\npublic notice: ${notice.url ?? status.notice}`);
    io.print(`\ndone in ${seconds.toFixed(1)}s`);
  }
  if (mismatches.length || !noticeMatches) process.exitCode = 1;
  if (process.stdin.isTTY && process.stdout.isTTY && !io.json) await holdViewer(io, status.viewer, status.notice);
}

/**
 * The report written under .local/ (JSON, CSV, page), and the notice as the public reads it, which
 * must list exactly the revoked providers.
 */
async function reportAndNotice(fns: Fns, campaign: Campaign) {
  const report = await fns.report(campaign.campaignId);
  writeFileSync(join(LOCAL_DIR, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(LOCAL_DIR, 'report.csv'), reportCsv(report));
  const byDay = await fns.seasonByDay(campaign.campaignId);
  const reportPage = await writeReportPage(join(LOCAL_DIR, 'report.html'), report, campaign, byDay);

  const { notice } = await fns.notice(campaign.campaignId);
  const revoked = report.assessments.filter((a) => a.outcome === 'revoked').map((a) => a.providerId);
  const listed = notice.providers.map((p) => p.providerId);
  const noticeMatches = revoked.length === listed.length && revoked.every((id, i) => id === listed[i]);

  return { reportPage, byDay, notice, listed, noticeMatches };
}

/**
 * Delivery in two waves, split at the instant the platform delivered them (mid-January), with the
 * aggregation schedule running in between, as during a season; the evaluation's own catch-up is
 * the second aggregation run. The season's file is written under .local/ first.
 */
async function deliver(io: DemoIO, fns: Fns, season: Season, campaign: Campaign): Promise<{ imported: Imported; aggregations: unknown[] }> {
  mkdirSync(LOCAL_DIR, { recursive: true });
  const file = join(LOCAL_DIR, 'demo-season.ndjson');
  writeFileSync(file, `${season.lines.join('\n')}\n`);
  const progressAt = progressAsOf(campaign);
  const records = toRecords(season.lines.join('\n'), 'demo-season.ndjson');
  const split = season.deliverAtMs.findIndex((ms) => ms >= Date.parse(progressAt));
  const cuts = [0, split < 0 ? records.length : split, records.length];
  const waves = 2;
  const imported: Imported = { accepted: 0, duplicates: 0, rejected: 0, failed: 0 };
  const aggregations = [];
  for (let w = 0; w < waves; w++) {
    const part = records.slice(cuts[w], cuts[w + 1]);
    io.info(`delivery ${w + 1}/${waves}: ${part.length} events delivered ${w === 0 ? 'before' : 'from'} ${progressAt}`);
    const r = await feedRecords(fns.intake, part);
    for (const k of Object.keys(imported) as (keyof Imported)[]) imported[k] += r[k];
    if (w === waves - 1) break;
    const a = await fns.aggregate({ campaignId: campaign.campaignId });
    aggregations.push(a);
    if (!io.json) io.info(aggregateSummary(a));
  }
  if (!io.json) {
    io.print(`\nIntake of ${file}\n`);
    io.print(
      table(
        ['events', 'accepted', 'duplicates', 'rejected', 'failed'],
        [[records.length, imported.accepted, imported.duplicates, imported.rejected, imported.failed]],
        ['right', 'right', 'right', 'right', 'right'],
      ),
    );
    io.print('(a second npm start finds everything already stored: all duplicates, the same decisions)\n');
  }
  return { imported, aggregations };
}

/**
 * Every provider's decision against the season's plan: outcome, reasons and, when assessed, figures.
 * A threshold set by hand to another value than the season's moves outcomes off the plan: then only
 * the figures (and who is assessed) are checked.
 */
function againstPlan(
  season: Season,
  assessments: readonly { providerId: string; outcome: string; reasons: readonly string[]; paidOrders?: number; depositBalanceFen?: number }[],
  planHolds: boolean,
): Mismatch[] {
  const decided = new Map(assessments.map((a) => [a.providerId, a]));
  const mismatches: Mismatch[] = [];
  for (const [providerId, e] of season.expected) {
    const a = decided.get(providerId);
    const assessed = e.outcome !== 'not_assessed';
    const want = {
      ...(planHolds || !assessed ? { outcome: e.outcome, reasons: e.reasons.join('+') } : { assessed: true }),
      ...(assessed ? { paidOrders: e.paidOrders, depositBalanceFen: e.depositBalanceFen } : {}),
    };
    const got: Record<string, unknown> = a
      ? { outcome: a.outcome, reasons: a.reasons.join('+'), assessed: a.outcome !== 'not_assessed', paidOrders: a.paidOrders, depositBalanceFen: a.depositBalanceFen }
      : {};
    for (const [field, expected] of Object.entries(want)) if (got[field] !== expected) mismatches.push({ providerId, field, expected, actual: got[field] ?? null, plan: e.plan });
  }
  for (const a of assessments) if (!season.expected.has(a.providerId)) mismatches.push({ providerId: a.providerId, field: 'decision', expected: null, actual: a.outcome, plan: 'not in the plan' });
  return mismatches;
}

/** When the weekly progress mail is shown as sent: 45 days into the period, 10:00 China time (2024-01-15 for renewal-2024). */
const progressAsOf = (c: Campaign) => `${addDays(c.periodStartDate, 45)}T10:00:00+08:00`;

/** In a terminal, keeps the embedded stack (and so the mail viewer) up until Ctrl+C, then stops it. */
async function holdViewer(io: DemoIO, viewer: string, notice: string): Promise<void> {
  io.info(`\nthe mail viewer is open at ${viewer} and the public notice at ${notice}: press Ctrl+C to stop the embedded stack and exit`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  await localDown();
  io.info('embedded stack stopped (data kept under .local/)');
}
