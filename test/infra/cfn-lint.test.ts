import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { synth } from './synth.ts';

/**
 * cfn-lint (the Python linter, preinstalled) on the synthesized templates of two configurations.
 * Errors fail the test; warnings are allowed (W3005: CDK's explicit DependsOn on a role the function
 * also references; W6001: the App stack re-exports the table names it imports, for the CLI).
 */
const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Finding = { Level: string; Rule: { Id: string }; Message: string; Filename: string; Location: { Path: unknown[] } };

describe('cfn-lint', () => {
  it('finds no error in the templates', async () => {
    const templates: string[] = [];
    for (const context of [{}, { stage: 'prod', senderIdentity: 'domain', alarmEmail: 'ops@example.com', tracing: 'true', thresholdOrders: '12000' }]) {
      const outdir = mkdtempSync(join(tmpdir(), 'renewal-cfn-lint-'));
      dirs.push(outdir);
      synth(context, { outdir }).app.synth();
      templates.push(...readdirSync(outdir).filter((f) => f.endsWith('.template.json')).map((f) => join(outdir, f)));
    }
    expect(templates).toHaveLength(4);
    // Exit status is a bit mask (2 errors, 4 warnings, 8 informational): read the JSON instead.
    const out = await run('cfn-lint', ['--format', 'json', '--', ...templates], { maxBuffer: 16 * 1024 * 1024 }).catch((err: { stdout?: string; code?: number }) => {
      if (typeof err.code === 'number' && err.code & 1) throw err; // the linter itself failed
      return { stdout: err.stdout ?? '' };
    });
    const results = JSON.parse(out.stdout || '[]') as Finding[];
    const errors = results.filter((r) => r.Level === 'Error').map((r) => `${r.Rule.Id} ${r.Filename} ${r.Location.Path.join('/')}: ${r.Message}`);
    expect(errors).toEqual([]);
  }, 120_000);
});
