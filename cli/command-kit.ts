/**
 * What the commands of main.ts share: the output streams (results to stdout, one JSON document with
 * --json; progress and logs to stderr), the flag parsers, the --campaign option and how it resolves,
 * and what a group of commands needs of the program (`CommandContext`).
 */
import { Option } from 'commander';
import { campaignRegistry } from '#shared/campaigns.ts';
import { UsageError } from '#shared/errors.ts';
import type { Campaign } from '#shared/rules/campaign.ts';
import type { Target, TargetIo } from './target.ts';

export const print = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
export const info = (s: string) => process.stderr.write(`${s}\n`);
export const printJson = (v: unknown) => print(JSON.stringify(v, null, 2));

/** What a group of commands needs of the program: where it runs, and the guard of embedded-only commands. */
export interface CommandContext {
  /** Where this command runs, chosen once from --aws (main.ts). */
  target: (io?: Omit<TargetIo, 'print' | 'info'>, local?: { thresholdOrders?: number }) => Promise<Target>;
  onAws: () => boolean;
  /** Refuses --aws (exit 2) for a command that works on the embedded stack only. */
  embeddedOnly: (command: string) => void;
}

export const campaignOption = () => new Option('--campaign <id>', 'campaign id (campaigns/<id>.json; optional while there is only one campaign file)');
/**
 * The campaign --campaign names (campaigns/<id>.json, read now), or bad usage (exit 2) listing the
 * known ones. Without --campaign: the only campaign, when there is one; with several, a season is
 * never picked for ops by guess.
 */
export function knownCampaign(id: string | undefined, what = '--campaign'): Campaign {
  const registry = campaignRegistry();
  if (id === undefined) {
    if (registry.ids.length === 1) return registry.list()[0]!;
    throw new UsageError(`${what}: required, there are ${registry.ids.length} campaigns (${registry.ids.join(', ')})`);
  }
  const campaign = registry.get(id);
  if (!campaign) throw new UsageError(`${what}: unknown campaign ${JSON.stringify(id)} (known: ${registry.ids.join(', ')})`);
  return campaign;
}

/** `--change-threshold FROM:TO`, two positive integers. */
export function thresholdChange(v: string): { from: number; to: number } {
  const m = /^([1-9]\d*):([1-9]\d*)$/.exec(v);
  if (!m) throw new UsageError(`--change-threshold: must be FROM:TO, two positive integers (the decided threshold and the new one), got ${JSON.stringify(v)}`);
  return { from: Number(m[1]), to: Number(m[2]) };
}

/** A flag's value as a positive integer, or bad usage (exit 2) naming the flag. */
export function positiveInt(flag: string) {
  return (v: string): number => {
    if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`${flag}: must be a positive integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}

/** `s` cut to `n` characters, an ellipsis marking the cut. */
export const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
