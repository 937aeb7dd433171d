/**
 * `npm run bench`: the bench's command line (`-- --json`, `-- --orders N --providers N`, `-- --scale`).
 * The bench is a development tool beside the ops command, not part of it: it measures the design on
 * the embedded stack (bench.ts), costs it at AWS list prices (cost.ts) and plays the scale run (scale.ts).
 */
import { Command, CommanderError, Option } from 'commander';
import { demoCampaign } from '#tools/demo-season/season.ts';

const print = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
const info = (s: string) => process.stderr.write(`${s}\n`);
const printJson = (v: unknown) => print(JSON.stringify(v, null, 2));

class UsageError extends Error {}

function positiveInt(flag: string) {
  return (v: string): number => {
    if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`${flag}: must be a positive integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}
const positiveIntList =
  (flag: string) =>
  (v: string): number[] =>
    v.split(',').map((x) => positiveInt(flag)(x.trim()));

const program = new Command('bench')
  .description('measure intake, aggregation, evaluation and mail, each as a ratio against a baseline of the same run or as work counted on the wire, and what it costs on AWS')
  .option('--json', 'print {"metrics": {...}, ...}')
  .addOption(new Option('--orders <n>', 'orders of the intake measurement (the evaluation uses half, four and ten times half)').default(20000).argParser(positiveInt('--orders')))
  .addOption(new Option('--providers <n>', 'providers of the evaluation measurement (--scale: 2000)').argParser(positiveInt('--providers')))
  .option('--scale', 'the scale run instead: a season at 100k, 300k and 1M orders over 2,000 providers and 20,000 stores through every stage (about an hour; not in CI)')
  .addOption(new Option('--sizes <list>', 'with --scale: the season sizes, comma-separated').default('100000,300000,1000000').argParser(positiveIntList('--sizes')))
  .showHelpAfterError()
  .exitOverride()
  .action(async (o: { json?: boolean; orders: number; providers?: number; scale?: boolean; sizes: number[] | string }) => {
    if (o.scale) {
      const { runScale } = await import('./scale.ts');
      const sizes = typeof o.sizes === 'string' ? positiveIntList('--sizes')(o.sizes) : o.sizes;
      await runScale({ json: o.json, campaign: demoCampaign(), sizes, providers: o.providers ?? 2000, storesPerProvider: 10, print, printJson, info });
      return;
    }
    const { runBench } = await import('./bench.ts');
    await runBench({ json: o.json, campaign: demoCampaign(), orders: o.orders, providers: o.providers ?? 1000, print, printJson, info });
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 2;
  else {
    info(`bench: ${(err as Error).message ?? String(err)}`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}
