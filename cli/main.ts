import { Command, CommanderError, Option } from 'commander';
import { durationText, LOCK_WAIT_MS, MAIL_EVENT_WAIT_DEFAULT_MS, NOTICE_CLAIM_LEASE_MS, RUN_LOCK_HEARTBEAT_MS, RUN_LOCK_LEASE_MS } from '#shared/leases.ts';
import { EXIT, exitCodeOf, UsageError } from '#shared/errors.ts';
import { PayloadError } from '#shared/payloads.ts';
import { periodWindow } from '#shared/rules/campaign.ts';
import { reportCsv } from '#shared/usecases/report.ts';
import type { ThresholdChangePreview } from '#shared/usecases/evaluate.ts';
import { countEventFile, feedRecords, ImportAbortedError, streamEventFile, streamRecords, type EventLine } from './import.ts';
import { notifyExitCode, notifySummary } from './mail-commands.ts';
import { noticeSummary, pendingWarning } from './notice-commands.ts';
import { table, printable } from '#shared/text/terminal.ts';
import { registerReapplyCommands } from './reapply-commands.ts';
import { writeReportPage } from './report-page.ts';
import { registerCampaignCommands } from './campaign-commands.ts';
import { aggregateSummary, decisionTable, evaluationSummary, publishSummary, revisionNotes, seasonChart, stepsTable, thresholdChangeTable, whoAmI } from './run-summaries.ts';
import { EMBEDDED_SERVICES, withDevDependencies } from './dev-dependencies.ts';
import type { Target, TargetIo } from './target.ts';
import { campaignOption, info, knownCampaign, positiveInt, print, printJson, thresholdChange, truncate, type CommandContext } from './command-kit.ts';
import { registerLocalCommands } from './local-commands.ts';
import { registerSeasonCommands } from './season-play-commands.ts';

/**
 * `renewal`: the ops CLI (../shared/OPS.md is its contract). Results go to stdout (one JSON document
 * with --json), progress and logs to stderr. Exit 0 done, 1 the work failed, 2 bad usage or input,
 * 75 nothing done because another run holds the work (a lock).
 */

// Powertools' logs and metrics are silenced by bin/renewal.js, before any module loads (RENEWAL_VERBOSE=1 keeps them).

const program = new Command('renewal')
  .description('Renewal of Douyin industrial-belt service providers: intake, aggregation, evaluation, mail.')
  .option('--aws', 'work on the deployed stack (invoke its functions) instead of the embedded one')
  .option('--stage <stage>', 'the deployed stage --aws works on', process.env.RENEWAL_STAGE ?? 'dev')
  .showHelpAfterError()
  .exitOverride();

/** The command being run, as messages name it (`renewal reapply check`). */
let running = 'renewal';
program.hook('preAction', (_, command) => {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  running = names.join(' ');
});

/**
 * Where this command runs, chosen once from --aws: the deployed stack, or the embedded one (started
 * if needed). Every command below works through it and never asks which it has.
 */
async function target(io: Omit<TargetIo, 'print' | 'info'> = {}, local: { thresholdOrders?: number } = {}): Promise<Target> {
  // Loaded on first use, only to keep `renewal --help` and `local up` quick: it brings every function and SDK client.
  const { chooseTarget } = await import('./target.ts');
  const opts = program.opts<{ aws?: boolean; stage: string }>();
  // Without --aws the embedded stack is started if it is not running: that takes the development dependencies.
  if (!opts.aws) await withDevDependencies(`${running} without --aws (on the embedded stack)`, EMBEDDED_SERVICES, async () => {});
  return chooseTarget(opts, { print, info, ...io }, local);
}
const onAws = () => program.opts<{ aws?: boolean }>().aws === true;

/** A command that works on the embedded stack only: --aws is refused (exit 2), never silently ignored. */
function embeddedOnly(command: string): void {
  if (onAws()) throw new UsageError(`--aws: ${command} works on the embedded stack only (it is not a command for the deployed stack)`);
}

const context: CommandContext = { target, onAws, embeddedOnly };

/** A payload the functions refused, with the CLI's flag names in place of the payload's fields. */
function asUsage(err: unknown, flags: Record<string, string>): unknown {
  if (!(err instanceof PayloadError)) return err;
  let message = err.message;
  for (const [field, flag] of Object.entries(flags)) message = message.replace(new RegExp(`^${field}`), flag);
  return new UsageError(message, { cause: err });
}

registerLocalCommands(program, context);

program
  .command('import')
  .description('feed an NDJSON file of platform events through the intake function, in SQS-sized batches')
  .argument('<file>', 'NDJSON file, UTF-8, one event per line (blank lines skipped)')
  .option('--json', 'print {"accepted","duplicates","rejected"}')
  .addOption(new Option('--concurrency <n>', 'intake invocations in flight').default(24).argParser(positiveInt('--concurrency')))
  .option('--via-queue', 'with --aws: send to the intake FIFO queue as a producer does (the default with --aws); prints {"sent","failed"}')
  .option(
    '--direct',
    'with --aws: invoke the deployed intake function directly instead of the queue, to see accepted/duplicates/rejected. ' +
      'Caveat: it runs beside the queue, so while platform events of the same identities flow through the queue, two batches may store one event at once',
  )
  .action(async (file: string, o: { json?: boolean; concurrency: number; viaQueue?: boolean; direct?: boolean }) => {
    // Read through once first: a file refused whole is refused before anything is sent, and the
    // count is the progress's total. The import itself then streams it (cli/import.ts). A file
    // refused whole (InputFileError) is bad input: exit 2.
    const total = await countEventFile(file);
    if (o.direct && !onAws()) throw new UsageError('--direct: only with --aws (the embedded stack has no queue to go around)');
    if (o.viaQueue && !onAws()) throw new UsageError('--via-queue: only with --aws (the embedded stack has no queue)');
    if (o.viaQueue && o.direct) throw new UsageError('--via-queue and --direct: choose one');
    const where = await target();
    if (where.queue && !o.direct) {
      // A producer's window: a thousand lines at a time, so memory follows the window, not the file.
      const r = { sent: 0, failed: 0 };
      let window: EventLine[] = [];
      const flush = async () => {
        const sent = await where.queue!(window, file);
        r.sent += sent.sent;
        r.failed += sent.failed.length;
        window = [];
      };
      for await (const l of streamEventFile(file)) if (window.push(l) >= 1000) await flush();
      if (window.length) await flush();
      const out = { sent: r.sent, failed: r.failed };
      if (o.json) printJson(out);
      else print(table(['sent', 'failed'], [[out.sent, out.failed]], ['right', 'right']));
      if (out.failed) process.exitCode = 1;
      return;
    }
    const intake = await where.openIntake(file);
    let r;
    try {
      r = await feedRecords(intake.handler, streamRecords(file), { concurrency: o.concurrency, target: intake.label, total });
    } catch (err) {
      if (!(err instanceof ImportAbortedError)) throw err;
      if (o.json) printJson({ ...err.partial, stopped: err.message });
      info(`renewal: ${printable(err.message)}`);
      process.exitCode = 1;
      return;
    } finally {
      await intake.release();
    }
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
    const rows = await (await target()).rejected();
    if (o.json) printJson(rows);
    else if (!rows.length) print('no rejected events');
    else {
      print(
        table(
          ['source', 'line', 'field', 'reason'],
          rows.map((r) => [r.source ?? r.messageId ?? '', r.line ?? '', r.field, truncate(r.reason, 110)]),
        ),
      );
      print(`${rows.length} rejected`);
    }
  });

program
  .command('aggregate')
  .description('run the order-aggregation function as its schedule would (incremental; --full recounts all)')
  .addOption(campaignOption())
  .option('--full', 'recount every store instead of what changed since the last run')
  .option('--json', 'print the run result as JSON')
  .addHelpText(
    'after',
    `\nOne run at a time: a second run answers busy (exit 75) and names the holder. The lock's lease is ${durationText(RUN_LOCK_LEASE_MS)}, ` +
      `renewed every ${durationText(RUN_LOCK_HEARTBEAT_MS)} while the run works, so a run that was killed blocks the next one for at most ` +
      `${durationText(RUN_LOCK_LEASE_MS)} after its last heartbeat.`,
  )
  .action(async (o: { campaign?: string; full?: boolean; json?: boolean }) => {
    const payload = { campaignId: knownCampaign(o.campaign).campaignId, ...(o.full ? { full: true } : {}) };
    const r = await (await target({ quiet: o.json === true && !process.stderr.isTTY })).aggregate(payload);
    if (o.json) printJson(r);
    else print(aggregateSummary(r));
    if (r.status === 'busy') {
      // OPS.md: 75 (EX_TEMPFAIL) = nothing was done because another run holds the work.
      if (o.json) info(`renewal: ${aggregateSummary(r)}`);
      process.exitCode = EXIT.busy;
    }
  });

program
  .command('evaluate')
  .description('run the period-end evaluation as the EventBridge schedule would, then send the outcome mail')
  .requiredOption('--campaign <id>', 'campaign id (campaigns/<id>.json)')
  .addOption(new Option('--threshold <n>', "override the campaign's thresholdOrders for this run").argParser(positiveInt('--threshold')))
  .addOption(
    new Option('--change-threshold <from:to>', 'change the threshold of the current final decisions from FROM to TO (TO is --threshold, or stands in for it); needs --reason').argParser(
      thresholdChange,
    ),
  )
  .option('--reason <text>', 'why the decided threshold changes (with --change-threshold; recorded with who changed it)')
  .option('--provider <id>', 'evaluate only this provider (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
  .option('--dry-run', 'decide and print, write nothing, send nothing')
  .option('--as-of <iso>', 'evaluate as if now were this instant (earlier than the close: a preview)')
  .option('--json', 'print the run result as JSON')
  .addHelpText(
    'after',
    `\nIt first catches the aggregation up; while another aggregation holds the lock it waits (up to ${durationText(LOCK_WAIT_MS)}, then exit 75).` +
      `\nA final run whose threshold differs from that of the current final decisions prints what it would change and exits 2, changing nothing, ` +
      `unless --change-threshold FROM:TO --reason TEXT states that change. Then each steps: decisions, outcome mail, public notice; ` +
      `a step that fails stops the rest and the command says what is done and what to run (exit 1).`,
  )
  .action(
    async (o: { campaign: string; threshold?: number; changeThreshold?: { from: number; to: number }; reason?: string; provider?: string[]; dryRun?: boolean; asOf?: string; json?: boolean }) => {
      if (o.changeThreshold && o.reason === undefined) throw new UsageError('--reason: required with --change-threshold (why the decided threshold changes)');
      if (o.reason !== undefined && !o.changeThreshold) throw new UsageError('--reason: only with --change-threshold');
      const payload = {
        campaignId: o.campaign,
        ...(o.threshold !== undefined ? { thresholdOrders: o.threshold } : {}),
        ...(o.changeThreshold ? { changeThreshold: { ...o.changeThreshold, reason: o.reason! } } : {}),
        ...(o.provider ? { providerIds: o.provider } : {}),
        ...(o.dryRun ? { dryRun: true } : {}),
        ...(o.asOf ? { asOf: o.asOf } : {}),
        requestedBy: whoAmI(),
      };
      const where = await target({ command: 'evaluate' });
      let run;
      try {
        run = await where.evaluate(payload);
      } catch (err) {
        // A threshold change that was not stated (or not as decided): what it would change, as a table.
        const preview = err instanceof PayloadError ? (err.cause as { preview?: ThresholdChangePreview } | undefined)?.preview : undefined;
        if (preview) {
          if (o.json) printJson({ refused: err instanceof Error ? err.message.split('\n')[0] : String(err), wouldChange: preview });
          else print(thresholdChangeTable(preview));
        }
        const usage = asUsage(err, {
          'changeThreshold.from': '--change-threshold FROM',
          'changeThreshold.to': '--change-threshold TO',
          'changeThreshold.reason': '--reason',
          changeThreshold: '--change-threshold',
          thresholdOrders: '--threshold',
          asOf: '--as-of',
          campaignId: '--campaign',
          providerIds: '--provider',
        });
        // The table above lists the providers; the message keeps its first line.
        throw preview && usage instanceof UsageError ? new UsageError(usage.message.split('\n')[0]) : usage;
      }
      const { result: r, mail, publication, failed } = run;
      if (o.json) printJson({ ...r, ...(mail ? { mail } : {}), ...(publication ? { publication } : {}), ...(failed ? { failed } : {}) });
      else {
        print(evaluationSummary(r));
        if (mail) print(`\noutcome mail\n${notifySummary(mail)}`);
        else if (r.mailRequested) print('\noutcome mail: handed to the notify function (asynchronously); see it with renewal notify --aws, renewal report --aws');
        if (publication) print(`\n${publishSummary(publication)}`);
        if (failed) print(`\n${stepsTable(failed.steps)}`);
      }
      if (mail) process.exitCode = notifyExitCode(mail);
      if (failed) {
        info(`renewal: ${printable(failed.message)}`);
        process.exitCode = 1;
      } else if (mail && notifyExitCode(mail) !== 0) {
        info(
          `renewal: decisions recorded (${r.revisionsCreated} new revision(s)), outcome mail NOT complete (${mail.sent} sent now, ${mail.failed.length} failed, ${mail.inFlight + mail.uncertain.length} held or uncertain); run \`renewal ${onAws() ? '--aws ' : ''}notify --campaign ${r.campaignId}\``,
        );
      }
      // Nothing decided is not a run that worked: no provider was recorded.
      if (!r.assessments.length) {
        info(`renewal: no provider to evaluate in ${r.campaignId}: no provider.upserted event was recorded (import the platform events first: renewal import FILE)`);
        process.exitCode = 1;
      }
    },
  );

program
  .command('notify')
  .description('send the notices that are due and not yet sent (never the same notice twice)')
  .requiredOption('--campaign <id>', 'campaign id (campaigns/<id>.json)')
  .addOption(new Option('--kind <kind>', 'outcome (after the final evaluation) or progress (during the season)').choices(['outcome', 'progress']).default('outcome'))
  .option('--as-of <iso>', 'progress mail: the instant the figures are as of (default now)')
  .option('--json', 'print the run result as JSON')
  .addHelpText(
    'after',
    `\nEach notice is claimed for ${durationText(NOTICE_CLAIM_LEASE_MS)} (renewed before each retry) while it is sent; another run finds it in flight (exit 75). ` +
      `A notice whose run died is sent again only once SES's evidence shows it never went out, or, on AWS, once MAIL_EVENT_WAIT_SECONDS ` +
      `(default ${durationText(MAIL_EVENT_WAIT_DEFAULT_MS)}) have passed since its claim ended without any event; until then it is uncertain (exit 75).`,
  )
  .action(async (o: { campaign: string; kind: 'outcome' | 'progress'; asOf?: string; json?: boolean }) => {
    const payload = { campaignId: o.campaign, kind: o.kind, ...(o.asOf ? { asOf: o.asOf } : {}) };
    const where = await target();
    let r;
    try {
      r = await where.notify(payload);
    } catch (err) {
      throw asUsage(err, { asOf: '--as-of', campaignId: '--campaign' });
    }
    if (o.json) printJson(r);
    else print(notifySummary(r, where.viewer));
    process.exitCode = notifyExitCode(r);
  });

program
  .command('report')
  .description('the decisions: final ones, or the latest preview')
  .requiredOption('--campaign <id>', 'campaign id (campaigns/<id>.json)')
  .option('--json', 'print {"campaignId","final","assessments":[...]}')
  .option('--csv', 'print CSV')
  .option('--html <file>', 'write the report as a self-contained page to FILE (bars, weekly chart, projection of a preview)')
  .action(async (o: { campaign: string; json?: boolean; csv?: boolean; html?: string }) => {
    if ([o.json, o.csv, o.html].filter(Boolean).length > 1) throw new UsageError('--json, --csv and --html: choose one');
    const campaign = knownCampaign(o.campaign);
    const where = await target();
    const r = await where.report(o.campaign);
    // Where the aggregates are at hand (the embedded stack), the season chart too; --aws gets the report alone.
    const byDay = where.seasonByDay ? await where.seasonByDay(o.campaign) : undefined;
    if (o.html) {
      const file = await writeReportPage(o.html, r, campaign, byDay ?? {});
      print(`report page: ${file}${byDay ? '' : ' (without the weekly chart: --aws reads the decisions only)'}`);
    } else if (o.json) printJson(r);
    else if (o.csv) process.stdout.write(reportCsv(r));
    else if (!r.assessments.length) print(`no decisions for ${o.campaign} yet: run renewal evaluate --campaign ${o.campaign}`);
    else {
      print(`${r.final ? 'final decisions' : 'PREVIEW (the period has not closed or no final run yet)'} of ${r.campaignId}\n\n${decisionTable(r.assessments)}`);
      const notes = revisionNotes(r.assessments);
      if (notes) print(`\n${notes}`);
      if (byDay) print(`\n${seasonChart(periodWindow(campaign).days, byDay)}`);
    }
  });

program
  .command('publish')
  .description('publish the public delisting notice as its schedule does: the next version when the list changed, nothing otherwise')
  .addOption(campaignOption())
  .option('--json', 'print the run result as JSON')
  .action(async (o: { campaign?: string; json?: boolean }) => {
    const r = await (await target()).publish({ campaignId: knownCampaign(o.campaign).campaignId });
    print(o.json ? JSON.stringify(r, null, 2) : publishSummary(r));
  });

program
  .command('notice')
  .description('the public delisting notice as published now: the list, the corrections and its URL')
  .addOption(campaignOption())
  .option('--json', 'print {"campaignId","version","publishedAt","url","providers":[...],"corrections":[...]}')
  .action(async (o: { campaign?: string; json?: boolean }) => {
    const { notice, url, pending } = await (await target()).notice(knownCampaign(o.campaign).campaignId);
    if (o.json) printJson({ ...notice, ...(pending ? { pending } : {}) });
    else print(noticeSummary(notice, url));
    // The ledger claimed a newer version than the public reads: a publication failed after its claim (or runs right now).
    if (pending) info(`renewal: ${pendingWarning(notice.campaignId, pending)}`);
  });

registerReapplyCommands(program, { target: () => target(), print, printJson, usage: (m) => new UsageError(m) });
registerCampaignCommands(program, context);

registerSeasonCommands(program, context);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end through here too, with exit code 0; commander has said what is wrong.
    process.exitCode = err.exitCode === 0 ? EXIT.done : EXIT.usage;
  } else {
    // By class (shared/errors.ts): bad usage or input 2, another run holds the work 75, else 1.
    // Control characters escaped (a message may quote the input), its lines kept.
    const message = (err as Error | undefined)?.message ?? String(err);
    info(`renewal: ${message.split('\n').map(printable).join('\n')}`);
    if (process.env.RENEWAL_VERBOSE) info((err as Error).stack ?? '');
    process.exitCode = exitCodeOf(err);
  }
}
