import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { synth } from './synth.ts';

/**
 * cfn-lint (the Python linter; `npm test` finds it first, test/support/prerequisites.ts) on the
 * synthesized templates of two configurations. Errors fail the test; warnings are allowed (W3005: CDK's
 * explicit DependsOn on a role the function also references; W6001: the App stack re-exports the table
 * names it imports, for the CLI). A linter that does not run fails the test: no output is not "no error".
 */
const CFN_LINT = process.env.RENEWAL_CFN_LINT || 'cfn-lint';
const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** cfn-lint's JSON findings. Its exit status is a bit mask (2 errors, 4 warnings, 8 informational; 1: it failed itself). */
async function cfnLint(templates: string[], command = CFN_LINT): Promise<Finding[]> {
  const out = await run(command, ['--format', 'json', '--', ...templates], { maxBuffer: 16 * 1024 * 1024 }).catch((err: { stdout?: string; code?: number | string; message: string }) => {
    if (typeof err.code !== 'number') throw new Error(`cfn-lint did not run (${command}: ${err.code ?? err.message}); npm test finds it first (test/support/prerequisites.ts)`);
    if (err.code & 1) throw new Error(`cfn-lint failed (exit ${err.code}): ${err.message}`);
    return { stdout: err.stdout ?? '' };
  });
  const findings: unknown = JSON.parse(out.stdout);
  if (!Array.isArray(findings)) throw new Error(`cfn-lint printed no list of findings: ${out.stdout.slice(0, 200)}`);
  return findings as Finding[];
}

type Finding = { Level: string; Rule: { Id: string }; Message: string; Filename: string; Location: { Path: unknown[] } };

describe('cfn-lint', () => {
  it('finds no error in the templates', async () => {
    const templates: string[] = [];
    for (const context of [{}, { stage: 'prod', senderIdentity: 'domain', alarmEmail: 'ops@example.com', tracing: 'true', thresholdOrders: '12000' }]) {
      const outdir = mkdtempSync(join(tmpdir(), 'renewal-cfn-lint-'));
      dirs.push(outdir);
      synth(context, { outdir }).app.synth();
      templates.push(
        ...readdirSync(outdir)
          .filter((f) => f.endsWith('.template.json'))
          .map((f) => join(outdir, f)),
      );
    }
    expect(templates).toHaveLength(4);
    const results = await cfnLint(templates);
    const errors = results.filter((r) => r.Level === 'Error').map((r) => `${r.Rule.Id} ${r.Filename} ${r.Location.Path.join('/')}: ${r.Message}`);
    expect(errors).toEqual([]);
  }, 120_000);

  it('a linter that cannot be run fails, never reads as no finding', async () => {
    await expect(cfnLint(['/nonexistent.template.json'], '/nonexistent/cfn-lint')).rejects.toThrow(/cfn-lint did not run \(\/nonexistent\/cfn-lint: ENOENT\)/);
  });

  it('finds the error in a template that has one (the check can fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'renewal-cfn-lint-bad-'));
    dirs.push(dir);
    const bad = join(dir, 'bad.template.json');
    writeFileSync(bad, JSON.stringify({ Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 'soon' } } } }));
    const errors = (await cfnLint([bad])).filter((r) => r.Level === 'Error');
    expect(errors.length).toBeGreaterThan(0);
  });
});
