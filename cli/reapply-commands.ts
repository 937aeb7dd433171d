import type { Command } from 'commander';
import { PayloadError, parsePayload, reapplyExceptPayload, reapplyPayload } from '#shared/payloads.ts';
import { CHINA_OFFSET_MINUTES, localDateTime } from '#shared/rules/time.ts';
import type { StoredExceptionRecord } from '#shared/store/exceptions.ts';
import { ReapplyRequestError, type ReapplyCheck } from '#shared/usecases/reapply.ts';
import { table } from '#shared/text/terminal.ts';
import type { Target } from './target.ts';

/**
 * `renewal reapply check | except` (OPS.md "Campaign and re-application commands"): the 90-day
 * re-application bar of clause 3 and the exceptions ops record to it.
 */

export interface ReapplyCommandIo {
  target: () => Promise<Target>;
  print: (s: string) => void;
  printJson: (v: unknown) => void;
  /** Bad usage or input (exit 2). */
  usage: (message: string) => Error;
}

/** A payload field's message with the CLI's flag in its place. */
const FLAGS: Record<string, string> = { providerId: '--provider', at: '--at', by: '--by', reason: '--reason', withdraw: '--withdraw' };
function asUsage(err: unknown, io: ReapplyCommandIo): unknown {
  if (!(err instanceof PayloadError) && !(err instanceof ReapplyRequestError)) return err;
  const message = err.message.replace(/^(\w+)/, (f: string) => FLAGS[f] ?? f);
  return io.usage(message);
}

const china = (iso: string) => `${localDateTime(Date.parse(iso), CHINA_OFFSET_MINUTES)} (UTC+8)`;

/** The check as a person reads it: one row. */
export function reapplyCheckSummary(r: ReapplyCheck): string {
  const rows = [
    [
      r.providerId,
      china(r.at),
      r.allowed ? 'yes' : 'no',
      r.reapplyFrom ? china(r.reapplyFrom) : '',
      r.basis ? `${r.basis.campaignId} revoked, notice ${r.basis.noticeDate}, revision ${r.basis.revision}` : 'no revocation bars it',
      r.exception ? `${r.exception.by} at ${china(r.exception.at)}: ${r.exception.reason}` : '',
    ],
  ];
  const note = r.exception ? '\nthe application must cite this exception (clause 3: 需在提报申请时特别说明)' : '';
  return `${table(['provider', 'at', 'may apply', 'from', 'basis', 'exception'], rows)}${note}`;
}

function exceptionSummary(r: StoredExceptionRecord): string {
  return table(['provider', 'record', 'kind', 'by', 'at', 'reason'], [[r.providerId, r.recordId, r.kind, r.by, china(r.at), r.reason]]);
}

/** Adds the `reapply` command group to `program`. */
export function registerReapplyCommands(program: Command, io: ReapplyCommandIo): void {
  const reapply = program.command('reapply').description('the 90-day re-application bar after a revocation (clause 3) and its exceptions');
  reapply
    .command('check')
    .description('may the provider apply for certification at that instant (default now)?')
    .requiredOption('--provider <id>', 'provider id')
    .option('--at <iso>', 'the instant, with its offset (Z or +08:00); default now')
    .option('--json', 'print {"providerId","at","allowed","reapplyFrom"?,"basis"?,"exception"?}')
    .action(async (o: { provider: string; at?: string; json?: boolean }) => {
      let r: ReapplyCheck;
      try {
        const payload = parsePayload(reapplyPayload, { providerId: o.provider, ...(o.at !== undefined ? { at: o.at } : {}) });
        r = await (await io.target()).reapplyCheck(payload);
      } catch (err) {
        throw asUsage(err, io);
      }
      if (o.json) io.printJson(r);
      else io.print(reapplyCheckSummary(r));
    });
  reapply
    .command('except')
    .description('record an exception to the 90-day bar ("原则上"), or with --withdraw its withdrawal: a new record, never an edit')
    .requiredOption('--provider <id>', 'provider id')
    .requiredOption('--reason <text>', 'why (kept with the record)')
    .requiredOption('--by <who>', 'who decides it (kept with the record)')
    .option('--withdraw', 'withdraw the exception that stands (recorded as a new record, with who and why)')
    .option('--json', 'print the record {"providerId","recordId","kind","by","at","reason"}')
    .action(async (o: { provider: string; reason: string; by: string; withdraw?: boolean; json?: boolean }) => {
      let r: StoredExceptionRecord;
      try {
        const req = parsePayload(reapplyExceptPayload, { providerId: o.provider, reason: o.reason, by: o.by, ...(o.withdraw ? { withdraw: true } : {}) });
        r = await (await io.target()).reapplyExcept(req);
      } catch (err) {
        throw asUsage(err, io);
      }
      if (o.json) io.printJson(r);
      else io.print(exceptionSummary(r));
    });
}
