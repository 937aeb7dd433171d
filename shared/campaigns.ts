/**
 * The campaigns a process knows: the files `campaigns/<campaignId>.json` (OPS.md "Campaign files").
 *
 * - The CLI, the CDK app and the tests read the directory at run time (`RENEWAL_CAMPAIGNS_DIR`, else
 *   the repository's `campaigns/`), so a new file works without a build.
 * - A Lambda bundle carries the campaigns the stack was synthesized with: cdk/function.ts hands them to
 *   esbuild as the constant `__RENEWAL_CAMPAIGNS__` (`campaignBundleDefine`), and the functions never
 *   read the repository.
 *
 * The rules never look a campaign up: the handlers find it here and hand it to them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type Campaign } from './rules/campaign.ts';
import { parseCampaignFile, type CampaignFieldError } from './rules/campaign-file.ts';

/** Points the CLI, the CDK app and the tests at another campaigns directory. */
export const CAMPAIGNS_DIR_ENV = 'RENEWAL_CAMPAIGNS_DIR';

/** The repository's campaigns directory. */
export const REPO_CAMPAIGNS_DIR = resolve(import.meta.dirname, '..', 'campaigns');

/** One or more campaign files are bad; `errors` names each file, field and why. */
export class CampaignFileError extends Error {
  override name = 'CampaignFileError';
  constructor(readonly errors: readonly (CampaignFieldError & { file: string })[]) {
    super(`bad campaign file${new Set(errors.map((e) => e.file)).size > 1 ? 's' : ''}:\n${errors.map((e) => `  ${e.file}: ${e.field}: ${e.message}`).join('\n')}`);
  }
}

/** A campaign id no file has; the message lists the known ones. */
export class UnknownCampaignError extends Error {
  override name = 'UnknownCampaignError';
  constructor(
    readonly campaignId: string,
    readonly known: readonly string[],
  ) {
    super(`unknown campaign ${JSON.stringify(campaignId)} (known: ${known.join(', ') || 'none'})`);
  }
}

/** The campaigns of one deployment or one CLI run, by id; `list()` in the order of their periods. */
export class CampaignRegistry {
  private readonly byId: ReadonlyMap<string, Campaign>;
  constructor(campaigns: Iterable<Campaign>) {
    const sorted = [...campaigns].sort((a, b) => (a.periodStartDate < b.periodStartDate ? -1 : a.periodStartDate > b.periodStartDate ? 1 : a.campaignId < b.campaignId ? -1 : 1));
    const byId = new Map<string, Campaign>();
    for (const c of sorted) {
      if (byId.has(c.campaignId)) throw new CampaignFileError([{ file: `${c.campaignId}.json`, field: 'campaignId', message: 'two campaigns have this id' }]);
      byId.set(c.campaignId, c);
    }
    this.byId = byId;
  }
  /** Every id, in the order of the periods. */
  get ids(): string[] {
    return [...this.byId.keys()];
  }
  /** Every campaign, in the order of the periods (then by id). */
  list(): Campaign[] {
    return [...this.byId.values()];
  }
  /** The campaign with this id, or undefined ('constructor' or '__proto__' find nothing). */
  get(id: string): Campaign | undefined {
    return this.byId.get(id);
  }
  /** The campaign with this id, or an UnknownCampaignError listing the known ones. */
  require(id: string): Campaign {
    const c = this.byId.get(id);
    if (!c) throw new UnknownCampaignError(id, this.ids);
    return c;
  }
  /** The campaigns whose file says `"schedule": true`. */
  scheduled(): Campaign[] {
    return this.list().filter((c) => c.schedule);
  }
}

/** Reads and validates one campaign file; its name (without `.json`) must be its campaignId. */
export function readCampaignFile(path: string): { ok: true; campaign: Campaign } | { ok: false; errors: CampaignFieldError[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, errors: [{ field: '(file)', message: `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }] };
  }
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    return { ok: false, errors: [{ field: '(file)', message: `is not JSON: ${(err as Error).message}` }] };
  }
  return parseCampaignFile(value, basename(path).replace(/\.json$/, ''));
}

/** Every `*.json` of `dir`, validated; throws one CampaignFileError naming every bad file and field. */
export function loadCampaigns(dir: string): CampaignRegistry {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch (err) {
    throw new CampaignFileError([{ file: dir, field: '(directory)', message: `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  const campaigns: Campaign[] = [];
  const errors: (CampaignFieldError & { file: string })[] = [];
  for (const name of names) {
    const r = readCampaignFile(join(dir, name));
    if (r.ok) campaigns.push(r.campaign);
    else errors.push(...r.errors.map((e) => ({ file: join(dir, name), ...e })));
  }
  if (errors.length) throw new CampaignFileError(errors);
  return new CampaignRegistry(campaigns);
}

/** The campaigns directory this process reads: `RENEWAL_CAMPAIGNS_DIR`, else the repository's. */
export function campaignsDir(env: Record<string, string | undefined> = process.env): string {
  return env[CAMPAIGNS_DIR_ENV] ? resolve(env[CAMPAIGNS_DIR_ENV]!) : REPO_CAMPAIGNS_DIR;
}

/** Replaced by esbuild in a Lambda bundle: base64 of the JSON array of the synthesized campaign files. */
declare const __RENEWAL_CAMPAIGNS__: string | undefined;

/** The esbuild `define` that bundles `registry` into a function (base64, so no shell or JS quoting can touch it). */
export function campaignBundleDefine(registry: CampaignRegistry): Record<string, string> {
  const files = registry.list().map(({ utcOffsetMinutes: _o, timeZoneName: _n, ...file }) => file);
  return { __RENEWAL_CAMPAIGNS__: JSON.stringify(Buffer.from(JSON.stringify(files), 'utf8').toString('base64')) };
}

/** The campaigns of a bundle (validated again, as any file), or undefined outside one. */
function bundledCampaigns(): CampaignRegistry | undefined {
  if (typeof __RENEWAL_CAMPAIGNS__ === 'undefined') return undefined;
  const files = JSON.parse(Buffer.from(__RENEWAL_CAMPAIGNS__, 'base64').toString('utf8')) as unknown[];
  const campaigns: Campaign[] = [];
  const errors: (CampaignFieldError & { file: string })[] = [];
  for (const [i, f] of files.entries()) {
    const r = parseCampaignFile(f);
    if (r.ok) campaigns.push(r.campaign);
    else errors.push(...r.errors.map((e) => ({ file: `bundled campaign ${i}`, ...e })));
  }
  if (errors.length) throw new CampaignFileError(errors);
  return new CampaignRegistry(campaigns);
}

const loaded = new Map<string, CampaignRegistry>();

/**
 * This process's campaigns: those bundled at synth inside a Lambda bundle; elsewhere the files of
 * `campaignsDir()`, read once per directory.
 */
export function campaignRegistry(env: Record<string, string | undefined> = process.env): CampaignRegistry {
  const bundled = loaded.get('(bundle)') ?? bundledCampaigns();
  if (bundled) {
    loaded.set('(bundle)', bundled);
    return bundled;
  }
  const dir = campaignsDir(env);
  let r = loaded.get(dir);
  if (!r) loaded.set(dir, (r = loadCampaigns(dir)));
  return r;
}
