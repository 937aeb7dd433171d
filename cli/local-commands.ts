/**
 * `renewal local up | down | status`: the embedded stack (tools/local/) started, stopped and shown.
 * They work on the embedded stack only: --aws is refused.
 */
import type { Command } from 'commander';
import { table } from '#shared/text/terminal.ts';
import { localDown, localStatus, localUp, type StackStatus } from '#tools/local/stack.ts';
import { print, printJson, type CommandContext } from './command-kit.ts';
import { EMBEDDED_SERVICES, withDevDependencies } from './dev-dependencies.ts';

export function registerLocalCommands(program: Command, { embeddedOnly }: Pick<CommandContext, 'embeddedOnly'>): void {
  const local = program.command('local').description('the embedded stack: dynalite, aws-ses-v2-local and s3rver');
  const stackTable = (s: StackStatus) =>
    table(
      ['service', 'endpoint'],
      [
        ['dynamodb', s.dynamodb!],
        ['ses', s.ses!],
        ['mail viewer', s.viewer!],
        ['s3', s.s3!],
        ['public notice', s.notice!],
      ],
    );
  /** A `local` subcommand: its result as JSON with --json, else as `text` says it. */
  function localCommand<T>(name: string, description: string, json: string, run: () => Promise<T>, text: (r: T) => string) {
    local
      .command(name)
      .description(description)
      .option('--json', json)
      .action(async (o: { json?: boolean }) => {
        embeddedOnly(`renewal local ${name}`);
        const r = await run();
        if (o.json) printJson(r);
        else print(text(r));
      });
  }
  localCommand(
    'up',
    'start the embedded stack in the background (data under .local/), create the tables',
    'print the endpoints as JSON',
    () => withDevDependencies('renewal local up', EMBEDDED_SERVICES, localUp),
    stackTable,
  );
  localCommand('down', 'stop the embedded stack (data stays under .local/)', 'print what was stopped as JSON', localDown, (r) =>
    r.stopped.length ? `stopped: ${r.stopped.join(', ')}` : 'nothing was running',
  );
  localCommand('status', 'say what runs where', 'print {"running", "dynamodb", "ses", "viewer", "s3", "notice"}', localStatus, (s) =>
    s.running ? stackTable(s) : 'embedded stack: not running (renewal local up)',
  );
}
