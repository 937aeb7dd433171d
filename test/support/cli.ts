import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

/** The `renewal` command, as package.json `bin` installs it. */
export const BIN = resolve(import.meta.dirname, '../../bin/renewal.js');

/**
 * The environment of a CLI test that runs `renewal` as a user runs it: an embedded stack of its own
 * under `dir/.local` on free ports, no endpoint or threshold inherited from the shell, plus `extra`.
 */
export function cliEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    RENEWAL_LOCAL_DIR: join(dir, '.local'),
    RENEWAL_DYNAMODB_PORT: '0',
    RENEWAL_SES_PORT: '0',
    RENEWAL_S3_PORT: '0',
    AWS_ENDPOINT_URL_DYNAMODB: '',
    AWS_ENDPOINT_URL_SES: '',
    AWS_ENDPOINT_URL_SESV2: '',
    AWS_ENDPOINT_URL_S3: '',
    THRESHOLD_ORDERS: '',
    ...extra,
  };
}

/** A runner of `renewal …` in `env`: a separate process; its exit code, output, and stdout as JSON. */
export function cliRunner(env: NodeJS.ProcessEnv) {
  return (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
  };
}
