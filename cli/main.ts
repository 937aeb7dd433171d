import { existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { localDown, localStatus, localUp, useLocalStack } from './local-stack.ts';
import { table, printable } from './output.ts';

/**
 * `renewal`: the ops CLI (../shared/OPS.md is its contract). Results go to stdout (one JSON document
 * with --json), progress and logs to stderr. Exit 0 done, 1 the work failed, 2 bad usage or input.
 */

export class UsageError extends Error {
  override name = 'UsageError';
}

const print = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
const info = (s: string) => process.stderr.write(`${s}\n`);
const printJson = (v: unknown) => print(JSON.stringify(v, null, 2));

// The CLI is an operator's tool: Powertools' JSON logs and EMF metrics belong in CloudWatch, not
// in the middle of a table. RENEWAL_VERBOSE=1 brings the logs back (on stdout, as Lambda prints them).
if (!process.env.RENEWAL_VERBOSE) {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}

const program = new Command('renewal')
  .description('Renewal of Douyin industrial-belt service providers: intake, aggregation, evaluation, mail.')
  .option('--aws', 'work on the deployed stack (invoke its functions) instead of the embedded one')
  .option('--stage <stage>', 'the deployed stage --aws works on', process.env.RENEWAL_STAGE ?? 'dev')
  .showHelpAfterError()
  .exitOverride();

/** With --aws: the deployed stack's function names and tables, from its outputs. */
async function remote() {
  const g = program.opts<{ aws?: boolean; stage: string }>();
  if (!g.aws) return undefined;
  const { awsTarget } = await import('./aws.ts');
  return awsTarget(g.stage);
}

/** Invokes a deployed function; its PayloadError is bad input here too (exit 2). */
async function invokeRemote<T>(functionName: string, payload: unknown): Promise<T> {
  const { invokeFunction, RemoteFunctionError } = await import('./aws.ts');
  try {
    return await invokeFunction<T>(functionName, payload);
  } catch (err) {
    if (err instanceof RemoteFunctionError && err.errorType === 'PayloadError') throw new UsageError(err.message);
    throw err;
  }
}

const local = program.command('local').description('the embedded stack: dynalite and aws-ses-v2-local');
local
  .command('up')
  .description('start the embedded stack in the background (data under .local/), create the tables')
  .option('--json', 'print the endpoints as JSON')
  .action(async (o: { json?: boolean }) => {
    const s = await localUp();
    if (o.json) printJson(s);
    else print(table(['service', 'endpoint'], [['dynamodb', s.dynamodb!], ['ses', s.ses!], ['mail viewer', s.viewer!]]));
  });
local
  .command('down')
  .description('stop the embedded stack (data stays under .local/)')
  .option('--json', 'print what was stopped as JSON')
  .action(async (o: { json?: boolean }) => {
    const r = await localDown();
    if (o.json) printJson(r);
    else print(r.stopped.length ? `stopped: ${r.stopped.join(', ')}` : 'nothing was running');
  });
local
  .command('status')
  .description('say what runs where')
  .option('--json', 'print {"running", "dynamodb", "ses", "viewer"}')
  .action(async (o: { json?: boolean }) => {
    const s = await localStatus();
    if (o.json) printJson(s);
    else if (!s.running) print('embedded stack: not running (renewal local up)');
    else print(table(['service', 'endpoint'], [['dynamodb', s.dynamodb!], ['ses', s.ses!], ['mail viewer', s.viewer!]]));
  });

program
  .command('import')
  .description('feed an NDJSON file of platform events through the intake function, in SQS-sized batches')
  .argument('<file>', 'NDJSON file, one event per line (blank lines skipped)')
  .option('--json', 'print {"accepted","duplicates","rejected"}')
  .addOption(new Option('--concurrency <n>', 'intake invocations in flight').default(24).argParser(positiveInt('--concurrency')))
  .option('--via-queue', 'with --aws: send to the intake FIFO queue as a producer does (stored asynchronously); prints {"sent","failed"}')
  .action(async (file: string, o: { json?: boolean; concurrency: number; viaQueue?: boolean }) => {
    if (!existsSync(file)) throw new UsageError(`FILE: no such file: ${file}`);
    const { importFile } = await import('./import.ts');
    const aws = await remote();
    if (o.viaQueue) {
      if (!aws) throw new UsageError('--via-queue: only with --aws (the embedded stack has no queue)');
      const { readFile } = await import('node:fs/promises');
      const { sendEvents } = await import('./aws.ts');
      const bodies = (await readFile(file, 'utf8')).split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim());
      const r = await sendEvents(aws.intakeQueueUrl, bodies);
      const out = { sent: r.sent, failed: r.failed.length };
      if (o.json) printJson(out);
      else print(table(['sent', 'failed'], [[out.sent, out.failed]], ['right', 'right']));
      if (out.failed) process.exitCode = 1;
      return;
    }
    let handler;
    if (aws) {
      // The deployed intake function, given the same batches; the lanes keep a message group in one
      // batch at a time, as the FIFO queue would.
      handler = (event: unknown) => invokeRemote<Awaited<ReturnType<import('./import.ts').IntakeHandler>>>(aws.functions.intake, event);
    } else {
      await useLocalStack(info);
      handler = (await import('#functions/intake.ts')).intake;
    }
    const r = await importFile(handler, file, { concurrency: o.concurrency });
    const out = { accepted: r.accepted, duplicates: r.duplicates, rejected: r.rejected, ...(r.failed ? { failed: r.failed } : {}) };
    if (o.json) printJson(out);
    else {
      print(table(['accepted', 'duplicates', 'rejected', 'failed'], [[r.accepted, r.duplicates, r.rejected, r.failed]], ['right', 'right', 'right', 'right']));
      if (r.rejected) print('see the reasons with: renewal rejected');
    }
    if (r.failed) {
      info(`${r.failed} events could not be stored after every retry; run the import again (it is idempotent)`);
      process.exitCode = 1;
    }
  });

program
  .command('rejected')
  .description('list rejected events with their reasons')
  .option('--json', 'print an array of {"line"?, "event"?, "reason", ...}')
  .action(async (o: { json?: boolean }) => {
    const aws = await remote();
    if (!aws) await useLocalStack(info);
    const { createDocumentClient } = await import('#shared/aws.ts');
    const { tableNamesFromEnv } = await import('#shared/config.ts');
    const { listRejected } = await import('#shared/store/rejected.ts');
    const db = createDocumentClient();
    // With --aws the table is read directly (ops' own credentials): there is no function for it.
    const rows = await listRejected(db, aws ? aws.tables.rejected : tableNamesFromEnv().rejected);
    if (o.json) printJson(rows);
    else if (!rows.length) print('no rejected events');
    else {
      print(table(['source', 'line', 'field', 'reason'], rows.map((r) => [r.source ?? r.messageId ?? '', r.line ?? '', r.field, truncate(r.reason, 110)])));
      print(`${rows.length} rejected`);
    }
  });

const campaignOption = () => new Option('--campaign <id>', 'campaign id').default('renewal-2024');

program
  .command('aggregate')
  .description('run the order-aggregation function as its schedule would (incremental; --full recounts all)')
  .addOption(campaignOption())
  .option('--full', 'recount every store instead of what changed since the last run')
  .option('--json', 'print the run result as JSON')
  .action(async (o: { campaign: string; full?: boolean; json?: boolean }) => {
    const { localFunctions, aggregateSummary } = await import('./season-commands.ts');
    const payload = { campaignId: o.campaign, ...(o.full ? { full: true } : {}) };
    const aws = await remote();
    const r = aws
      ? await invokeRemote<import('#shared/usecases/aggregate.ts').AggregateResult>(aws.functions.aggregate, payload)
      : await (await localFunctions({ print, info, quiet: o.json === true && !process.stderr.isTTY })).aggregate(payload);
    if (o.json) printJson(r);
    else print(aggregateSummary(r));
  });

program
  .command('evaluate')
  .description('run the period-end evaluation as the EventBridge schedule would, then send the outcome mail')
  .requiredOption('--campaign <id>', 'campaign id (renewal-2024)')
  .addOption(new Option('--threshold <n>', "override the campaign's thresholdOrders for this run").argParser(positiveInt('--threshold')))
  .option('--provider <id>', 'evaluate only this provider (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
  .option('--dry-run', 'decide and print, write nothing, send nothing')
  .option('--as-of <iso>', 'evaluate as if now were this instant (earlier than the close: a preview)')
  .option('--json', 'print the run result as JSON')
  .action(async (o: { campaign: string; threshold?: number; provider?: string[]; dryRun?: boolean; asOf?: string; json?: boolean }) => {
    const { localFunctions, evaluationSummary, whoAmI } = await import('./season-commands.ts');
    const { PayloadError } = await import('#shared/payloads.ts');
    const payload = {
      campaignId: o.campaign,
      ...(o.threshold !== undefined ? { thresholdOrders: o.threshold } : {}),
      ...(o.provider ? { providerIds: o.provider } : {}),
      ...(o.dryRun ? { dryRun: true } : {}),
      ...(o.asOf ? { asOf: o.asOf } : {}),
      requestedBy: whoAmI(),
    };
    const aws = await remote();
    if (aws) {
      // The deployed evaluation hands the outcome mail to the deployed notify function itself.
      const r = await invokeRemote<import('#shared/usecases/evaluate.ts').EvaluateResult>(aws.functions.evaluate, payload);
      if (o.json) printJson(r);
      else print(evaluationSummary(r));
      return;
    }
    const fns = await localFunctions({ print, info });
    const { sendDueMail } = await import('./mail-commands.ts');
    let mail: unknown;
    try {
      const r = await fns.evaluate(async (campaignId) => {
        mail = await sendDueMail({ campaignId, kind: 'outcome' }, { print, info });
      })(payload);
      if (o.json) printJson({ ...r, ...(mail ? { mail } : {}) });
      else print(evaluationSummary(r));
    } catch (err) {
      if (err instanceof PayloadError) throw new UsageError(err.message.replace(/^thresholdOrders/, '--threshold').replace(/^asOf/, '--as-of').replace(/^campaignId/, '--campaign').replace(/^providerIds/, '--provider'));
      throw err;
    }
  });

program
  .command('notify')
  .description('send the notices that are due and not yet sent (never the same notice twice)')
  .requiredOption('--campaign <id>', 'campaign id (renewal-2024)')
  .addOption(new Option('--kind <kind>', 'outcome (after the final evaluation) or progress (during the season)').choices(['outcome', 'progress']).default('outcome'))
  .option('--as-of <iso>', 'progress mail: the instant the figures are as of (default now)')
  .option('--json', 'print the run result as JSON')
  .action(async (o: { campaign: string; kind: 'outcome' | 'progress'; asOf?: string; json?: boolean }) => {
    const { PayloadError } = await import('#shared/payloads.ts');
    const { sendDueMail, notifySummary } = await import('./mail-commands.ts');
    const payload = { campaignId: o.campaign, kind: o.kind, ...(o.asOf ? { asOf: o.asOf } : {}) };
    const aws = await remote();
    if (aws) {
      const r = await invokeRemote<import('#shared/usecases/notify.ts').NotifyResult>(aws.functions.notify, payload);
      if (o.json) printJson(r);
      else print(notifySummary(r));
      if (r.failed.some((f) => !f.permanent)) process.exitCode = 1;
      return;
    }
    const status = await useLocalStack(info);
    try {
      const r = await sendDueMail(payload, { print, info });
      if (o.json) printJson(r);
      else print(notifySummary(r, status.viewer));
      if (r.failed.some((f) => !f.permanent)) process.exitCode = 1;
    } catch (err) {
      if (err instanceof PayloadError) throw new UsageError(err.message.replace(/^asOf/, '--as-of').replace(/^campaignId/, '--campaign'));
      throw err;
    }
  });

program
  .command('report')
  .description('the decisions: final ones, or the latest preview')
  .requiredOption('--campaign <id>', 'campaign id (renewal-2024)')
  .option('--json', 'print {"campaignId","final","assessments":[...]}')
  .option('--csv', 'print CSV')
  .action(async (o: { campaign: string; json?: boolean; csv?: boolean }) => {
    if (o.json && o.csv) throw new UsageError('--json and --csv: choose one');
    const { localFunctions, decisionTable, seasonChart, seasonByDay } = await import('./season-commands.ts');
    const { buildReport, reportCsv } = await import('#shared/usecases/report.ts');
    const { getCampaign, periodWindow } = await import('#shared/rules/campaign.ts');
    const campaign = getCampaign(o.campaign);
    if (!campaign) throw new UsageError(`--campaign: unknown campaign ${JSON.stringify(o.campaign)}`);
    const aws = await remote();
    // Locally the aggregates are at hand too, for the season chart; --aws gets the report alone.
    const deps = aws ? undefined : (await localFunctions({ print, info })).deps;
    let r: import('#shared/usecases/report.ts').Report;
    if (!deps) r = await invokeRemote(aws!.functions.report, { campaignId: o.campaign });
    else {
      const { mailStatusLookup } = await import('./mail-commands.ts');
      r = await buildReport(deps.decisions, o.campaign, mailStatusLookup(deps));
    }
    if (o.json) printJson(r);
    else if (o.csv) process.stdout.write(reportCsv(r));
    else if (!r.assessments.length) print(`no decisions for ${o.campaign} yet: run renewal evaluate --campaign ${o.campaign}`);
    else {
      print(`${r.final ? 'final decisions' : 'PREVIEW (the period has not closed or no final run yet)'} of ${r.campaignId}\n\n${decisionTable(r.assessments as never)}`);
      if (deps) print(`\n${seasonChart(periodWindow(campaign).days, await seasonByDay(deps, o.campaign))}`);
    }
  });

program
  .command('demo')
  .description('the main job on the embedded stack (npm start): a generated season, imported and reported')
  .option('--json', 'print the summary as JSON')
  .addOption(new Option('--providers <n>', 'providers in the generated season').default(120).argParser(positiveInt('--providers')))
  .addOption(new Option('--orders <n>', 'orders in the generated season').default(100000).argParser(positiveInt('--orders')))
  .addOption(new Option('--seed <n>', 'random seed of the generated season').default(20240229).argParser(positiveInt('--seed')))
  .action(async (o: { json?: boolean; providers: number; orders: number; seed: number }) => {
    const { runDemo } = await import('./demo.ts');
    await runDemo({ ...o, print, printJson, info });
  });

program
  .command('bench')
  .description('measure intake, aggregation, evaluation and mail, each as a ratio against a baseline of the same run or as work counted on the wire, and what it costs on AWS')
  .option('--json', 'print {"metrics": {...}, ...}')
  .addOption(new Option('--orders <n>', 'orders of the intake measurement (the evaluation uses half, four and ten times half)').default(20000).argParser(positiveInt('--orders')))
  .addOption(new Option('--providers <n>', 'providers of the evaluation measurement (--scale: 2000)').argParser(positiveInt('--providers')))
  .option('--scale', 'the scale run instead: a season at 100k, 300k and 1M orders over 2,000 providers and 20,000 stores through every stage (about half an hour; not in CI)')
  .addOption(new Option('--sizes <list>', 'with --scale: the season sizes, comma-separated').default('100000,300000,1000000').argParser(positiveIntList('--sizes')))
  .action(async (o: { json?: boolean; orders: number; providers?: number; scale?: boolean; sizes: number[] | string }) => {
    if (o.scale) {
      const { runScale } = await import('./scale.ts');
      const sizes = typeof o.sizes === 'string' ? positiveIntList('--sizes')(o.sizes) : o.sizes;
      await runScale({ json: o.json, sizes, providers: o.providers ?? 2000, storesPerProvider: 10, print, printJson, info });
      return;
    }
    const { runBench } = await import('./bench.ts');
    await runBench({ json: o.json, orders: o.orders, providers: o.providers ?? 1000, print, printJson, info });
  });

function positiveIntList(flag: string) {
  return (v: string): number[] => v.split(',').map((x) => positiveInt(flag)(x.trim()));
}

function positiveInt(flag: string) {
  return (v: string): number => {
    if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`${flag}: must be a positive integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end through here too, with exit code 0.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof UsageError) {
    info(`renewal: ${err.message}`);
    process.exitCode = 2;
  } else {
    info(`renewal: ${printable((err as Error).message ?? String(err))}`);
    if (process.env.RENEWAL_VERBOSE) info((err as Error).stack ?? '');
    process.exitCode = 1;
  }
}
