import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { thresholdFromEnv } from '#shared/config.ts';
import { RENEWAL_2024 } from '#shared/rules/campaign.ts';
import type { EvaluateResult } from '#shared/usecases/evaluate.ts';
import type { NotifyResult } from '#shared/usecases/notify.ts';
import { LOCAL_DIR, localUp } from './local-stack.ts';
import { generateSeason } from './season.ts';
import type { PublishResult } from '#shared/usecases/publish.ts';
import { table } from './output.ts';

/**
 * `npm start`: the main job on the embedded stack, played as production would. A generated season
 * arrives through the intake in delivery order, the scheduled aggregation runs between deliveries,
 * the period-end evaluation is invoked with the event the schedule sends, the outcome mail goes out
 * and the public delisting notice is published. Every figure is checked against the season's own
 * brute-force expectation, and the notice against the revoked decisions.
 */

interface DemoIO {
  json?: boolean;
  providers: number;
  orders: number;
  seed: number;
  print: (s: string) => void;
  printJson: (v: unknown) => void;
  info: (s: string) => void;
}

export async function runDemo(io: DemoIO): Promise<void> {
  const t0 = Date.now();
  // Ops set the threshold for the season before the evaluation (RULES.md 2.2.1); one set by hand wins.
  const configuredThreshold = thresholdFromEnv();
  const status = await localUp();
  io.info(`embedded stack: dynamodb ${status.dynamodb}, ses ${status.ses}`);
  const { useLocalStack } = await import('./local-stack.ts');
  await useLocalStack();

  io.info(`generating the demo season (seed ${io.seed}): ${io.providers} providers, ${io.orders} orders`);
  const season = generateSeason({ providers: io.providers, orders: io.orders, seed: io.seed });
  const thresholdOrders = configuredThreshold ?? season.thresholdOrders;
  // What the evaluation and the mail read, as on a deployment (shared/config.ts).
  process.env.THRESHOLD_ORDERS = String(thresholdOrders);
  io.info(`threshold: ${thresholdOrders} paid orders (THRESHOLD_ORDERS${configuredThreshold ? ', as set' : ', the demo season\'s'})`);
  mkdirSync(LOCAL_DIR, { recursive: true });
  const file = join(LOCAL_DIR, 'demo-season.ndjson');
  writeFileSync(file, `${season.lines.join('\n')}\n`);

  const { intake } = await import('#functions/intake.ts');
  const { feedRecords, toRecords } = await import('./import.ts');
  const { localFunctions, evaluationSummary, aggregateSummary } = await import('./season-commands.ts');
  const fns = await localFunctions({ print: io.print, info: io.info });

  // Delivery in two waves, split at the instant the platform delivered them (mid-January), with the
  // aggregation schedule running in between, as during a season; the evaluation's own catch-up is
  // the second aggregation run.
  const records = toRecords(season.lines.join('\n'), 'demo-season.ndjson');
  const split = season.deliverAtMs.findIndex((ms) => ms >= Date.parse(PROGRESS_AS_OF));
  const cuts = [0, split < 0 ? records.length : split, records.length];
  const waves = 2;
  const imported = { accepted: 0, duplicates: 0, rejected: 0, failed: 0 };
  const aggregations = [];
  for (let w = 0; w < waves; w++) {
    const part = records.slice(cuts[w], cuts[w + 1]);
    io.info(`delivery ${w + 1}/${waves}: ${part.length} events delivered ${w === 0 ? 'before' : 'from'} ${PROGRESS_AS_OF}`);
    const r = await feedRecords(intake, part);
    for (const k of Object.keys(imported) as (keyof typeof imported)[]) imported[k] += r[k];
    if (w === waves - 1) break;
    const a = await fns.aggregate({ campaignId: RENEWAL_2024.campaignId });
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

  // The period-end schedule's event, exactly as EventBridge sends it; the evaluation hands the mail
  // and (when the list changed) the public notice over, as on AWS.
  let mail: NotifyResult | undefined;
  let publication: PublishResult | undefined;
  const { sendDueMail } = await import('./mail-commands.ts');
  const result: EvaluateResult = await fns.evaluate(
    async (campaignId) => {
      mail = await sendDueMail({ campaignId, kind: 'outcome' }, { print: io.print, info: io.info });
    },
    async (campaignId) => {
      publication = await fns.publish({ campaignId });
    },
  )({ campaignId: RENEWAL_2024.campaignId });
  // Then the notice date's one-time schedule, as on AWS: the list is the one just published, so it
  // writes nothing (or finishes a publication an earlier run left undone).
  const scheduled = await fns.publish({ campaignId: RENEWAL_2024.campaignId });
  publication ??= scheduled;

  // Check every provider's figures against the season's independent expectation.
  const mismatches = result.assessments.filter((a) => {
    const e = season.expected.get(a.providerId);
    return a.outcome !== 'not_assessed' && (!e || e.paidOrders !== a.paidOrders || e.depositBalanceFen !== a.depositBalanceFen);
  });

  const { buildReport, reportCsv, mailStatusLookup } = await import('#shared/usecases/report.ts');
  const report = await buildReport(fns.deps.decisions, RENEWAL_2024.campaignId, mailStatusLookup(fns.deps));
  writeFileSync(join(LOCAL_DIR, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(LOCAL_DIR, 'report.csv'), reportCsv(report));
  const { seasonByDay } = await import('./season-commands.ts');
  const byDay = await seasonByDay(fns.deps, RENEWAL_2024.campaignId);
  const { writeReportPage } = await import('./report-page.ts');
  const reportPage = await writeReportPage(join(LOCAL_DIR, 'report.html'), report, RENEWAL_2024, byDay);

  // The notice as the public reads it must list exactly the revoked providers.
  const { readPublishedNotice } = await import('./notice-commands.ts');
  const { notice } = await readPublishedNotice(RENEWAL_2024.campaignId, { info: io.info });
  const revoked = report.assessments.filter((a) => a.outcome === 'revoked').map((a) => a.providerId);
  const listed = notice.providers.map((p) => p.providerId);
  const noticeMatches = revoked.length === listed.length && revoked.every((id, i) => id === listed[i]);

  // A progress mail as the weekly schedule sent it in mid-January, so both kinds are in the viewer.
  const progress = await sendDueMail({ campaignId: RENEWAL_2024.campaignId, kind: 'progress', asOf: PROGRESS_AS_OF }, { print: io.print, info: io.info });

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
      viewer: status.viewer,
      report: reportPage,
      seconds,
    });
  } else {
    const { notifySummary } = await import('./mail-commands.ts');
    io.print(`threshold: ${thresholdOrders} paid orders (THRESHOLD_ORDERS, set by ops for this season; deposit CNY 100,000)\n`);
    io.print(evaluationSummary(result));
    const { seasonChart, publishSummary } = await import('./season-commands.ts');
    const { periodWindow } = await import('#shared/rules/campaign.ts');
    io.print(`\n${seasonChart(periodWindow(RENEWAL_2024).days, byDay)}`);
    io.print(`\nchecked against the season's own expectation: ${mismatches.length === 0 ? `all ${result.assessments.length} providers match` : `${mismatches.length} MISMATCHES: ${mismatches.map((m) => m.providerId).join(', ')}`}`);
    io.print(`public notice (version ${notice.version}) lists ${listed.length} provider(s): ${noticeMatches ? 'exactly the revoked ones' : 'NOT the revoked ones'}`);
    io.print(`report: ${join(LOCAL_DIR, 'report.json')}, ${join(LOCAL_DIR, 'report.csv')} and ${reportPage}\n`);
    io.print(`Mail (outcome after the final evaluation; progress as the weekly schedule sent it on ${PROGRESS_AS_OF}):`);
    io.print(notifySummary(mail as NotifyResult));
    io.print(notifySummary(progress));
    io.print(`\n${publishSummary(publication!)}`);
    io.print(`\nmail viewer:   ${status.viewer}\npublic notice: ${notice.url ?? status.notice}`);
    io.print(`\ndone in ${seconds.toFixed(1)}s`);
  }
  if (mismatches.length || !noticeMatches) process.exitCode = 1;
  if (process.stdin.isTTY && process.stdout.isTTY && !io.json) await holdViewer(io, status.viewer!, status.notice!);
}

const PROGRESS_AS_OF = '2024-01-15T10:00:00+08:00';

/** In a terminal, keeps the embedded stack (and so the mail viewer) up until Ctrl+C, then stops it. */
async function holdViewer(io: DemoIO, viewer: string, notice: string): Promise<void> {
  io.info(`\nthe mail viewer is open at ${viewer} and the public notice at ${notice}: press Ctrl+C to stop the embedded stack and exit`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  const { localDown } = await import('./local-stack.ts');
  await localDown();
  io.info('embedded stack stopped (data kept under .local/)');
}
