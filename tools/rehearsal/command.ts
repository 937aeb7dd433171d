/** `renewal rehearse`: options checked, the assembly synthesized (or given), the season played, the result printed. */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { campaignRegistry } from '#shared/campaigns.ts';
import type { Campaign } from '#shared/rules/campaign.ts';
import { join, resolve } from 'node:path';
import { LOCAL_DIR } from '#tools/local/stack.ts';
import { Progress } from '#shared/text/terminal.ts';
import { DEMO_SEASON, demoCampaign, demoThreshold } from '#tools/demo-season/season.ts';
import { rehearse } from './rehearse.ts';
import { rehearsalSummary } from './summary.ts';
import { synthesize } from './synth.ts';

/** The sender a rehearsal deploys with when no `--parameter MailFrom=…` is given: the embedded stack's. */
export const REHEARSAL_MAIL_FROM = 'renewal-noreply@provider-renewal.example';

export interface RehearseCommand {
  events?: string;
  /** The campaign whose season is played (default: the demo season's). */
  campaign?: Campaign;
  /** The demo season's size and seed (default: npm start's). */
  providers?: number;
  orders?: number;
  seed?: number;
  assembly?: string;
  parameter?: string[];
  failFast?: boolean;
  trace?: boolean;
  json?: boolean;
  print: (s: string) => void;
  printJson: (v: unknown) => void;
  info: (s: string) => void;
}

/** Returns whether the rehearsal passed. Bad options are thrown through `usage`. */
export async function runRehearsal(o: RehearseCommand, usage: (message: string) => Error): Promise<boolean> {
  if (o.events && (!existsSync(o.events) || !statSync(o.events).isFile())) throw usage(`--events: no such file: ${o.events}`);
  if (o.events && (o.providers || o.orders || o.seed)) throw usage('--providers, --orders and --seed size the demo season: not with --events');
  // The demo season is generated in the period of the campaign played (default the first, npm start's).
  const played = o.campaign ?? demoCampaign();
  const demo = { providers: o.providers ?? DEMO_SEASON.providers, orders: o.orders ?? DEMO_SEASON.orders, seed: o.seed ?? DEMO_SEASON.seed };
  if (o.assembly && !existsSync(join(o.assembly, 'manifest.json'))) throw usage(`--assembly: ${o.assembly} is not a cloud assembly (no manifest.json); make one with npx cdk synth -o DIR`);
  const parameters: Record<string, string> = { MailFrom: REHEARSAL_MAIL_FROM };
  for (const p of o.parameter ?? []) {
    const m = p.match(/^([A-Za-z0-9]+)=(.*)$/);
    if (!m) throw usage(`--parameter: expected NAME=VALUE, got ${JSON.stringify(p)}`);
    parameters[m[1]!] = m[2]!;
  }
  let assemblyDir = o.assembly ? resolve(o.assembly) : undefined;
  if (!assemblyDir) {
    assemblyDir = join(LOCAL_DIR, 'rehearsal', 'cdk.out');
    // Deployed as ops would deploy it for the season it plays: its file with "schedule": true (and the
    // others' schedules left out), and the demo season's threshold when it plays the demo season.
    const campaignsDir = rehearsalCampaigns(join(LOCAL_DIR, 'rehearsal', 'campaigns'), played.campaignId);
    await synthesize(assemblyDir, o.events ? {} : { thresholdOrders: String(demoThreshold(demo)) }, o.info, campaignsDir);
  }
  const bar = new Progress('rehearsal', 1000, o.json === true && !process.stderr.isTTY);
  const result = await rehearse({
    assemblyDir,
    campaignId: played.campaignId,
    ...(o.events ? { eventsFile: o.events } : { demo }),
    parameters,
    ...(o.failFast ? { failFast: true } : {}),
    info: o.info,
    ...(o.trace ? { trace: o.info } : {}),
    progress: (now, clock, line) => bar.update(Math.floor(((now - clock.startMs) / (clock.endMs - clock.startMs)) * 1000), `${new Date(now).toISOString().slice(0, 16)}Z  ${line}`),
  });
  bar.done();
  if (o.json) o.printJson(result);
  else o.print(rehearsalSummary(result));
  return result.ok;
}

/** A copy of the campaign files in which only `campaignId` is scheduled: the deployment of that season, as its rehearsal plays it. */
export function rehearsalCampaigns(dir: string, campaignId: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const c of campaignRegistry().list()) {
    const { utcOffsetMinutes: _o, timeZoneName: _n, ...file } = c;
    writeFileSync(join(dir, `${c.campaignId}.json`), `${JSON.stringify({ ...file, schedule: c.campaignId === campaignId }, null, 2)}\n`);
  }
  return dir;
}
