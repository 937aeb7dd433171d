/** `npx cdk synth` as a new user runs it: no credentials, no network, into a directory of our own. */
import { spawn } from 'node:child_process';
import { PROJECT_ROOT } from '#tools/local/stack.ts';

/** `campaignsDir`: the campaign files the app reads (RENEWAL_CAMPAIGNS_DIR), when not the repository's. */
export async function synthesize(outdir: string, context: Record<string, string>, info: (s: string) => void, campaignsDir?: string): Promise<void> {
  const args = ['cdk', 'synth', '--quiet', '--no-notices', '-o', outdir, ...Object.entries(context).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  info(`synthesizing the cloud assembly: npx ${args.join(' ')}`);
  const env: NodeJS.ProcessEnv = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CDK_DISABLE_VERSION_CHECK: '1' };
  // The assembly must be the app's own, not whatever endpoints or tables this shell points at.
  for (const k of Object.keys(env)) if (/^(AWS_ENDPOINT_URL|TABLE_)/.test(k)) delete env[k];
  if (campaignsDir) env.RENEWAL_CAMPAIGNS_DIR = campaignsDir;
  await new Promise<void>((resolve, reject) => {
    const child = spawn('npx', args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npx cdk synth failed (exit ${code}):\n${stderr.trim().split('\n').slice(-15).join('\n')}`))));
  });
}
