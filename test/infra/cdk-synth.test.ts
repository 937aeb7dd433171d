import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tableEnvVar } from '#shared/tables.ts';
import { PROJECT_ROOT } from '../../cdk/function.ts';
import { FUNCTION_NAMES } from '../../cdk/names.ts';

/**
 * `npx cdk synth --quiet` as ops run it, with real esbuild bundling (no Docker), no AWS credentials
 * and no network: env-agnostic stacks need neither. cdk-nag runs as a validation plugin of the synth,
 * so a finding without an acknowledgment fails here too. Then every bundle is loaded by Node as
 * Lambda would load it, to prove the ESM output and its `require` shim work.
 */
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'renewal-cdk-synth-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The environment without anything AWS: no keys, no profile, no region, no instance metadata. */
function offlineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|CDK_)/.test(k)) env[k] = v;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_REGION: '',
    AWS_DEFAULT_REGION: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(work, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CDK_HOME: join(work, 'cdk-home'),
    ...extra,
  };
}

describe('npx cdk synth', () => {
  const outdir = join(work, 'cdk.out');
  let synthesized: Promise<{ stdout: string; stderr: string }> | undefined;
  const synth = () =>
    (synthesized ??= run('npx', ['cdk', 'synth', '--quiet', '--no-notices', '-o', outdir], {
      cwd: PROJECT_ROOT,
      env: offlineEnv(),
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    }));

  it('synthesizes both stacks with no flags, real bundling, offline and without credentials (a fresh clone)', async () => {
    const { stderr } = await synth();
    expect(existsSync(join(outdir, 'Data.template.json'))).toBe(true);
    expect(existsSync(join(outdir, 'App.template.json'))).toBe(true);
    expect(stderr).not.toMatch(/AwsSolutions-/); // no cdk-nag finding, not even a warning
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string; environment?: string; properties?: { stackName?: string } }> };
    const stacks = Object.values(manifest.artifacts).filter((a) => a.type === 'aws:cloudformation:stack');
    expect(stacks.map((a) => a.properties?.stackName).sort()).toEqual(['ProviderRenewal-dev-App', 'ProviderRenewal-dev-Data']);
    for (const s of stacks) expect(s.environment).toBe('aws://unknown-account/unknown-region');
  }, 300_000);

  type Fn = { Type: string; Properties: { Handler: string; Environment?: { Variables?: Record<string, unknown> } }; Metadata?: Record<string, string> };
  const functionsOf = () => {
    const template = JSON.parse(readFileSync(join(outdir, 'App.template.json'), 'utf8')) as { Resources: Record<string, Fn> };
    return Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  };
  /** The function's environment as the template sets it, each unresolved reference (a table name, a URL) given a stand-in value. */
  const deployedEnv = (fn: Fn) =>
    Object.fromEntries(
      Object.entries(fn.Properties.Environment?.Variables ?? {}).map(([k, v]) => [
        k,
        typeof v === 'string' ? v : k === 'NOTICE_BASE_URL' ? 'https://d111111abcdef8.cloudfront.net' : `stand-in-${k.toLowerCase()}`,
      ]),
    );
  /** Imports a bundle in a fresh Node process, with `env` as its whole function environment. */
  const load = (fn: Fn, env: Record<string, string>) => {
    const dir = join(outdir, fn.Metadata!['aws:asset:path']!);
    // Lambda imports index.mjs and calls `handler`: do the same.
    const probe = `const m = await import(${JSON.stringify(pathToFileURL(join(dir, 'index.mjs')).href)}); if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(3); }`;
    return run(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: work, // no node_modules to fall back on: the bundle must be complete
      env: offlineEnv({ AWS_REGION: 'ap-southeast-1', POWERTOOLS_METRICS_DISABLED: 'true', ...env }),
      timeout: 30_000,
    });
  };

  it('bundles each function into an ESM module with a source map, and Node loads it with exactly the environment its stack gives it', async () => {
    await synth();
    const functions = functionsOf();
    expect(functions).toHaveLength(FUNCTION_NAMES.length);
    for (const [id, fn] of functions) {
      expect(fn.Properties.Handler, id).toBe('index.handler');
      const dir = join(outdir, fn.Metadata!['aws:asset:path']!);
      expect(readdirSync(dir).sort(), id).toEqual(['index.mjs', 'index.mjs.map']);
      await load(fn, { ...deployedEnv(fn), POWERTOOLS_LOG_LEVEL: 'SILENT' }).catch((err: { stderr?: string }) => {
        throw new Error(`${id}: the bundle does not load: ${err.stderr ?? err}`);
      });
    }
  }, 300_000);

  it('the bundles carry the campaign files they were synthesized with, and read no campaigns directory at run time', async () => {
    await synth();
    const fn = functionsOf().find(([id]) => id.startsWith('EvaluateFunction'))![1];
    const dir = join(outdir, fn.Metadata!['aws:asset:path']!);
    // An unknown campaign is refused listing the known ones: those of the synth, with no campaigns/ anywhere near the bundle.
    const probe =
      `const m = await import(${JSON.stringify(pathToFileURL(join(dir, 'index.mjs')).href)});` +
      `try { await m.handler({ campaignId: 'renewal-1999' }, { functionName: 'probe', awsRequestId: 'r1' }); console.log('accepted'); } catch (e) { console.log(e.message); }`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: work,
      env: offlineEnv({ AWS_REGION: 'ap-southeast-1', POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT', RENEWAL_CAMPAIGNS_DIR: join(work, 'no-such-dir'), ...deployedEnv(fn) }),
      timeout: 30_000,
    });
    expect(stdout.trim()).toBe('campaignId: unknown campaign "renewal-1999" (known: renewal-2024, renewal-2027)');
  }, 300_000);

  it('a function whose environment lacks what it needs fails at start-up, naming every missing variable', async () => {
    await synth();
    const fnNamed = (prefix: string) => functionsOf().find(([id]) => id.startsWith(prefix))![1];
    const failure = async (fn: Fn, without: string[]) => {
      const env = deployedEnv(fn);
      for (const k of without) delete env[k];
      const err = await load(fn, env).then<undefined, { stderr?: string }>(
        () => undefined,
        (e: { stderr?: string }) => e,
      );
      expect(err, `loads without ${without.join(', ')}`).toBeDefined();
      return err!.stderr ?? '';
    };
    // A deployed evaluation that could not hand the outcome mail over would decide without telling anyone.
    const evaluate = fnNamed('EvaluateFunction');
    expect(await failure(evaluate, ['NOTIFY_FUNCTION_NAME'])).toMatch(/ConfigError.*NOTIFY_FUNCTION_NAME is not set/s);
    expect(await failure(evaluate, ['PUBLISH_FUNCTION_NAME'])).toMatch(/PUBLISH_FUNCTION_NAME is not set/);
    const both = await failure(evaluate, ['NOTIFY_FUNCTION_NAME', tableEnvVar('decisions')]);
    expect(both).toMatch(/NOTIFY_FUNCTION_NAME is not set/);
    expect(both).toMatch(/TABLE_DECISIONS is not set/);
    expect(await failure(fnNamed('NotifyFunction'), ['MAIL_FROM'])).toMatch(/MAIL_FROM is not set/);
    const publish = fnNamed('PublishFunction');
    expect(await failure(publish, ['NOTICE_BUCKET'])).toMatch(/NOTICE_BUCKET is not set/);
    const badUrl = deployedEnv(publish);
    badUrl.NOTICE_BASE_URL = 'not a url';
    const bad = await load(publish, badUrl).then(
      () => '',
      (e: { stderr?: string }) => e.stderr ?? 'failed',
    );
    expect(bad).toMatch(/NOTICE_BASE_URL must be an http\(s\) URL/);
  }, 300_000);
});
