import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RENEWAL_2024 } from '#shared/rules/campaign.ts';
import type { EvaluateResult } from '#shared/usecases/evaluate.ts';
import type { NotifyResult } from '#shared/usecases/notify.ts';
import { LOCAL_DIR, localUp } from './local-stack.ts';
import { generateSeason } from './season.ts';
import { table } from './output.ts';

/**
 * `npm start`: the main job on the embedded stack, played as production would. A generated season
 * arrives through the intake in delivery order, the scheduled aggregation runs between deliveries,
 * the period-end evaluation is invoked with the event the schedule sends, and the outcome mail goes
 * out. Every figure is checked against the season's own brute-force expectation.
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
  const status = await localUp();
  io.info(`embedded stack: dynamodb ${status.dynamodb}, ses ${status.ses}`);
  const { useLocalStack } = await import('./local-stack.ts');
  await useLocalStack();

  io.info(`generating the demo season (seed ${io.seed}): ${io.providers} providers, ${io.orders} orders`);
  const season = generateSeason({ providers: io.providers, orders: io.orders, seed: io.seed });
  mkdirSync(LOCAL_DIR, { recursive: true });
  const file = join(LOCAL_DIR, 'demo-season.ndjson');
  writeFileSync(file, `${season.lines.join('\n')}\n`);

  const { intake } = await import('#functions/intake.ts');
  const { feedRecords, toRecords } = await import('./import.ts');
  const { localFunctions, evaluationSummary, aggregateSummary } = await import('./season-commands.ts');
  const fns = await localFunctions({ print: io.print, info: io.info });

  // Delivery in two waves with the aggregation schedule running in between, as during a season;
  // the evaluation's own catch-up is the second aggregation run.
  const records = toRecords(season.lines.join('\n'), 'demo-season.ndjson');
  const waves = 2;
  const imported = { accepted: 0, duplicates: 0, rejected: 0, failed: 0 };
  const aggregations = [];
  for (let w = 0; w < waves; w++) {
    const part = records.slice(Math.floor((w * records.length) / waves), Math.floor(((w + 1) * records.length) / waves));
    io.info(`delivery ${w + 1}/${waves}: ${part.length} events`);
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

  // The period-end schedule's event, exactly as EventBridge sends it.
  let mail: NotifyResult | undefined;
  const { sendDueMail } = await import('./mail-commands.ts');
  const result: EvaluateResult = await fns.evaluate(async (campaignId) => {
    mail = await sendDueMail({ campaignId, kind: 'outcome' }, { print: io.print, info: io.info });
  })({ campaignId: RENEWAL_2024.campaignId });

  // Check every provider's figures against the season's independent expectation.
  const mismatches = result.assessments.filter((a) => {
    const e = season.expected.get(a.providerId);
    return a.outcome !== 'not_assessed' && (!e || e.paidOrders !== a.paidOrders || e.depositBalanceFen !== a.depositBalanceFen);
  });

  const { buildReport, reportCsv, mailStatusLookup } = await import('#shared/usecases/report.ts');
  const report = await buildReport(fns.deps.decisions, RENEWAL_2024.campaignId, mailStatusLookup(fns.deps));
  writeFileSync(join(LOCAL_DIR, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(LOCAL_DIR, 'report.csv'), reportCsv(report));

  // A progress mail as the weekly schedule sent it in mid-January, so both kinds are in the viewer.
  const progress = await sendDueMail({ campaignId: RENEWAL_2024.campaignId, kind: 'progress', asOf: PROGRESS_AS_OF }, { print: io.print, info: io.info });

  const seconds = (Date.now() - t0) / 1000;
  if (io.json) {
    io.printJson({ imported, aggregations, evaluation: { mode: result.mode, counts: result.counts, revisionsCreated: result.revisionsCreated }, mail: { outcome: mail, progress }, mismatches: mismatches.length, viewer: status.viewer, seconds });
  } else {
    const { notifySummary } = await import('./mail-commands.ts');
    io.print(evaluationSummary(result));
    const { seasonChart, seasonByDay } = await import('./season-commands.ts');
    const { periodWindow } = await import('#shared/rules/campaign.ts');
    io.print(`\n${seasonChart(periodWindow(RENEWAL_2024).days, await seasonByDay(fns.deps, RENEWAL_2024.campaignId))}`);
    io.print(`\nchecked against the season's own expectation: ${mismatches.length === 0 ? `all ${result.assessments.length} providers match` : `${mismatches.length} MISMATCHES: ${mismatches.map((m) => m.providerId).join(', ')}`}`);
    io.print(`report: ${join(LOCAL_DIR, 'report.json')} and ${join(LOCAL_DIR, 'report.csv')}\n`);
    io.print(`Mail (outcome after the final evaluation; progress as the weekly schedule sent it on ${PROGRESS_AS_OF}):`);
    io.print(notifySummary(mail as NotifyResult));
    io.print(notifySummary(progress, status.viewer));
    io.print(`\ndone in ${seconds.toFixed(1)}s`);
  }
  if (mismatches.length) process.exitCode = 1;
  if (process.stdin.isTTY && process.stdout.isTTY && !io.json) await holdViewer(io, status.viewer!);
}

const PROGRESS_AS_OF = '2024-01-15T10:00:00+08:00';

/** In a terminal, keeps the embedded stack (and so the mail viewer) up until Ctrl+C, then stops it. */
async function holdViewer(io: DemoIO, viewer: string): Promise<void> {
  io.info(`\nthe mail viewer is open at ${viewer}: press Ctrl+C to stop the embedded stack and exit`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  const { localDown } = await import('./local-stack.ts');
  await localDown();
  io.info('embedded stack stopped (data kept under .local/)');
}
