import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../cdk/function.ts';
import { synth } from './synth.ts';

/**
 * The Node the code runs on: Lambda's nodejs24.x for the functions, and the Node 24 that package.json's
 * `node` dependency installs (node_modules/.bin/node, first on PATH in npm scripts and npx) for the CLI,
 * the tests, the bench and the rehearsal's function runtimes. The AWS SDK's NodeVersionSupportWarning
 * (Node < 22) is not silenced anywhere, and nothing prints it (test/integration/cli.faults.test.ts checks
 * every CLI command it runs for it too).
 */
const run = promisify(execFile);
const major = (version: string) => Number(/^v?(\d+)\./.exec(version)?.[1]);

/** Constructs an SDK client in a child of this Node, the warning not silenced; `fakeVersion` plays an older Node. */
async function sdkStderr(fakeVersion?: string): Promise<string> {
  const probe = [
    fakeVersion ? `Object.defineProperty(process, 'version', { value: ${JSON.stringify(fakeVersion)} });` : '',
    "const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');",
    "new DynamoDBClient({ region: 'local', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });",
    'await new Promise((r) => setImmediate(r));', // process warnings are printed on the next turn
  ].join('\n');
  const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined };
  const { stderr } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: PROJECT_ROOT, env });
  return stderr;
}

describe('the Node runtime', () => {
  it('the functions deploy on nodejs24.x, and this test runs on the same major', () => {
    const runtimes = new Set(Object.values(synth().appTemplate.findResources('AWS::Lambda::Function')).map((f) => (f as { Properties: { Runtime: string } }).Properties.Runtime));
    expect([...runtimes]).toEqual(['nodejs24.x']);
    expect(major(process.version)).toBe(24);
  });

  it('package.json brings Node 24 as a dependency (so `npx renewal` after `npm ci --omit=dev` runs on it too), and its bin is what npm runs', () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(major(pkg.dependencies.node!)).toBe(24);
    expect(pkg.devDependencies.node).toBeUndefined();
    expect(major(pkg.devDependencies['@types/node']!)).toBe(24);
    expect(process.execPath).toBe(join(PROJECT_ROOT, 'node_modules', 'node', 'bin', 'node'));
  });

  it('the AWS SDK prints no NodeVersionSupportWarning on this Node (and the probe sees one on Node 20)', async () => {
    expect(await sdkStderr()).not.toContain('NodeVersionSupportWarning');
    expect(await sdkStderr('v20.20.2')).toContain('NodeVersionSupportWarning');
  });
});
