/**
 * The ops install: `npm ci --omit=dev` of this checkout installs (its postinstall skips patch-package,
 * a development dependency), `renewal --help` runs, the --aws commands load, and each command that
 * runs on development dependencies (the embedded stack, the demo, the rehearsal) says what to install
 * (exit 2) instead of failing in the module loader. The install comes from npm's cache where it can
 * (--prefer-offline): about half a minute.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../cdk/function.ts';

const dir = mkdtempSync(join(tmpdir(), 'renewal-ops-install-'));
// The checkout as it is, committed or not: tracked files and new ones, without what git ignores.
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);

// No AWS settings of the machine: --aws must fail on the missing region, before any network call.
const env: NodeJS.ProcessEnv = { ...process.env, AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), RENEWAL_LOCAL_DIR: join(dir, '.local') };
for (const v of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete env[v];
const renewal = (...args: string[]) => spawnSync(join(dir, 'node_modules', '.bin', 'node'), [join(dir, 'bin', 'renewal.js'), ...args], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
let install: ReturnType<typeof spawnSync>;

beforeAll(() => {
  for (const f of files) {
    if (!existsSync(join(PROJECT_ROOT, f))) continue; // deleted in the work tree
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(PROJECT_ROOT, f), join(dir, f));
  }
  install = spawnSync('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, env, encoding: 'utf8', timeout: 240_000 });
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm ci --omit=dev', () => {
  it('installs, skipping patch-package, without the development dependencies', () => {
    expect(install.status, String(install.stderr)).toBe(0);
    expect(String(install.stderr) + String(install.stdout)).toMatch(/patch-package is not installed .*skipped/);
    for (const dev of ['dynalite', 'aws-ses-v2-local', 's3rver', '@cloud-copilot/iam-simulate', 'croner', 'aws-cdk-lib', 'vitest', 'patch-package'])
      expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);
    for (const prod of ['tsx', 'commander', 'zod', '@aws-sdk/client-lambda', '@aws-lambda-powertools/logger']) expect(existsSync(join(dir, 'node_modules', prod)), prod).toBe(true);
  });

  it('renewal --help works', () => {
    const r = renewal('--help');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Usage: renewal/);
  });

  it.each([
    [['local', 'up'], 'renewal local up'],
    [['demo'], 'renewal demo'],
    [['rehearse'], 'renewal rehearse'],
    [['report', '--campaign', 'renewal-2024'], 'renewal report without --aws'],
    [['import', 'package.json'], 'renewal import without --aws'],
  ])('renewal %s says what to install (exit 2)', (args, command) => {
    const r = renewal(...args);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(`renewal: ${command}`);
    expect(r.stderr).toMatch(/needs the development dependencies, and dynalite is not installed \(an install with --omit=dev\): run `npm ci` without --omit=dev/);
    expect(r.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|at .*\.ts:\d+/);
  });

  it('the --aws commands load their modules (they fail here on the missing AWS region, not on a package)', () => {
    const r = renewal('--aws', 'report', '--campaign', 'renewal-2024');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Region is missing/);
    expect(r.stderr).not.toMatch(/development dependencies|Cannot find (package|module)/);
  });
});
