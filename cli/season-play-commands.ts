/**
 * `renewal demo` and `renewal rehearse`: a season played on the embedded stack (what `npm start` runs)
 * or through the synthesized cloud assembly offline. Both are loaded on use, and both need the
 * development dependencies (dev-dependencies.ts says so when they are missing).
 */
import { Option, type Command } from 'commander';
import { UsageError } from '#shared/errors.ts';
import { DEMO_SEASON } from '#tools/demo-season/season.ts';
import type { RehearseCommand } from '#tools/rehearsal/command.ts';
import { campaignOption, info, knownCampaign, positiveInt, print, printJson, type CommandContext } from './command-kit.ts';
import { EMBEDDED_SERVICES, withDevDependencies } from './dev-dependencies.ts';

/** The rehearse command's flags: its options as the rehearsal takes them, the campaign still an id. */
type RehearseFlags = Omit<RehearseCommand, 'campaign' | 'print' | 'printJson' | 'info'> & { campaign?: string };

export function registerSeasonCommands(program: Command, { embeddedOnly }: Pick<CommandContext, 'embeddedOnly'>): void {
  program
    .command('demo')
    .description('the main job on the embedded stack (npm start): a generated season, imported and reported')
    .option('--json', 'print the summary as JSON')
    .addOption(campaignOption().default(undefined, "the demo season's"))
    .addOption(new Option('--providers <n>', 'providers in the generated season').default(DEMO_SEASON.providers).argParser(positiveInt('--providers')))
    .addOption(new Option('--orders <n>', 'orders in the generated season').default(DEMO_SEASON.orders).argParser(positiveInt('--orders')))
    .addOption(new Option('--seed <n>', 'random seed of the generated season').default(DEMO_SEASON.seed).argParser(positiveInt('--seed')))
    .action(async (o: { json?: boolean; campaign?: string; providers: number; orders: number; seed: number }) => {
      embeddedOnly('renewal demo');
      const { campaign, ...rest } = o;
      const { runDemo } = await withDevDependencies('renewal demo', EMBEDDED_SERVICES, () => import('./demo.ts')); // loaded on use: start-up speed, and an ops install has not its packages
      await runDemo({ ...rest, ...(campaign !== undefined ? { campaign: knownCampaign(campaign) } : {}), print, printJson, info });
    });

  program
    .command('rehearse')
    .description('play a season through the synthesized cloud assembly (bundles, IAM, queue, schedules) offline, and check the outcome')
    .option('--events <file>', 'an NDJSON season (default: the demo season of npm start)')
    .addOption(campaignOption().default(undefined, "the demo season's"))
    .addOption(new Option('--providers <n>', 'providers of the demo season').argParser(positiveInt('--providers')))
    .addOption(new Option('--orders <n>', 'orders of the demo season').argParser(positiveInt('--orders')))
    .addOption(new Option('--seed <n>', 'random seed of the demo season').argParser(positiveInt('--seed')))
    .option('--assembly <dir>', 'an existing cloud assembly (cdk.out) instead of a fresh npx cdk synth')
    .option('--parameter <name=value>', 'a CloudFormation parameter value, as cdk deploy --parameters (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--fail-fast', 'stop at the first denied call or dead-lettered message')
    .option('--trace', 'print every invocation (when, payload, result) to stderr')
    .option('--json', 'print the result as one JSON document')
    .action(async (o: RehearseFlags) => {
      embeddedOnly('renewal rehearse');
      const { runRehearsal } = await withDevDependencies('renewal rehearse', EMBEDDED_SERVICES, () => import('#tools/rehearsal/command.ts'));
      const { campaign, ...rest } = o;
      const ok = await runRehearsal({ ...rest, ...(campaign !== undefined ? { campaign: knownCampaign(campaign) } : {}), print, printJson, info }, (m) => new UsageError(m));
      if (!ok) process.exitCode = 1;
    });
}
