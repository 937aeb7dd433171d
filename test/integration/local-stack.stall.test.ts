import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The embedded stack under a stall and a kill (issue 16, item 5), as an operator meets them: the
 * services are real child processes of `renewal local up` in a temporary `.local`, on free ports.
 * A service stopped (SIGSTOP) past the probe is waited for, and the command works once it resumes,
 * with every service still the same process; SES killed (SIGKILL) is started again alone, and the
 * mails it held are still in its store. One that stays stopped past the patience is given up on with
 * an error that says what to do, and is left as it was.
 */
const BIN = resolve(import.meta.dirname, '../../bin/renewal.js');
const root = mkdtempSync(join(tmpdir(), 'renewal-stall-'));
const LOCAL = join(root, '.local');
const env = { ...process.env, RENEWAL_LOCAL_DIR: LOCAL, RENEWAL_DYNAMODB_PORT: '0', RENEWAL_SES_PORT: '0', RENEWAL_S3_PORT: '0', AWS_ENDPOINT_URL_SESV2: '', AWS_ENDPOINT_URL_SES: '' };

type Svc = { pid: number; port: number };
type State = { token: string; dynamodb: Svc; ses: Svc; s3: Svc };
const state = (): State => JSON.parse(readFileSync(join(LOCAL, 'stack.json'), 'utf8')) as State;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function run(...args: string[]) {
  return runWith({}, ...args);
}
function runWith(more: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...env, ...more }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A command as a child whose stderr is read as it comes; `onErr` sees all of it so far at every chunk. */
function start(args: string[], onErr: (stderr: string) => void) {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    onErr(stderr);
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => child.on('close', (code) => r({ code, stdout, stderr })));
}

beforeAll(() => {
  const up = run('local', 'up', '--json');
  expect(up.code, up.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  const s = state();
  for (const svc of [s.dynamodb, s.ses, s.s3]) if (alive(svc.pid)) process.kill(svc.pid, 'SIGCONT');
  run('local', 'down');
  rmSync(root, { recursive: true, force: true });
});

describe('a stalled service', () => {
  it('stopped past the probe: the next command says it waits, works once the service resumes, and no service was killed', async () => {
    const before = state();
    process.kill(before.s3.pid, 'SIGSTOP');
    let resumed = false;
    // The barrier: the service is resumed only once the command has said that it waits, that is once its probe failed.
    const r = await start(['notice', '--campaign', 'renewal-2024', '--json'], (stderr) => {
      if (!resumed && stderr.includes(`s3 (pid ${before.s3.pid}) is not answering; waiting up to 30 s…`)) {
        resumed = true;
        process.kill(before.s3.pid, 'SIGCONT');
      }
    });
    expect(resumed, r.stderr).toBe(true);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ campaignId: 'renewal-2024', version: 0 });
    expect(r.stderr).not.toContain('starting');
    // Same stack, same processes, all alive.
    expect(state()).toEqual(before);
    for (const svc of [before.dynamodb, before.ses, before.s3]) expect(alive(svc.pid)).toBe(true);
    const status = run('local', 'status', '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, s3: `http://127.0.0.1:${before.s3.port}` });
  }, 120_000);

  it('SES killed: the next command starts only SES again, on its port, and the mail it took before is still in its store', async () => {
    const before = state();
    const ses = new SESv2Client({ endpoint: `http://127.0.0.1:${before.ses.port}`, region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
    const { MessageId } = await ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'renewal@test.example',
        Destination: { ToAddresses: ['kept@renewal-test.example'] },
        Content: { Simple: { Subject: { Data: 'kept across a restart' }, Body: { Text: { Data: 'evidence' } }, Headers: [{ Name: 'X-Renewal-Notice', Value: 'stall-test' }] } },
      }),
    );
    ses.destroy();
    expect(MessageId).toBeTruthy();

    process.kill(before.ses.pid, 'SIGKILL');
    const r = run('notice', '--campaign', 'renewal-2024', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`ses (pid ${before.ses.pid}) is gone: starting it again on port ${before.ses.port}; the other services keep running`);
    expect(r.stderr).not.toMatch(/dynamodb .*starting|s3 .*starting|starting the embedded stack/);

    const after = state();
    expect(after.token).toBe(before.token);
    expect(after.dynamodb).toEqual(before.dynamodb);
    expect(after.s3).toEqual(before.s3);
    expect(after.ses.port).toBe(before.ses.port);
    expect(after.ses.pid).not.toBe(before.ses.pid);
    expect(alive(before.dynamodb.pid) && alive(before.s3.pid)).toBe(true);

    const store = (await (await fetch(`http://127.0.0.1:${after.ses.port}/store`)).json()) as { emails: { messageId: string; subject: string; headers?: { name: string; value: string }[] }[] };
    const kept = store.emails.filter((m) => m.messageId === MessageId);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ subject: 'kept across a restart', headers: [{ name: 'X-Renewal-Notice', value: 'stall-test' }] });
  }, 120_000);

  it('stopped for longer than the patience: the command gives up (exit 1) naming the service and what to do, and leaves it stopped, not killed', () => {
    const before = state();
    process.kill(before.dynamodb.pid, 'SIGSTOP');
    try {
      const r = runWith({ RENEWAL_LOCAL_PATIENCE_SECONDS: '1' }, 'notice', '--campaign', 'renewal-2024', '--json');
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`dynamodb (pid ${before.dynamodb.pid}) is not answering; waiting up to 1 s…`);
      expect(r.stderr).toContain(`dynamodb (pid ${before.dynamodb.pid}) has not answered for 1 s; nothing was done, and it was left running`);
      expect(r.stderr).toContain(`kill -CONT ${before.dynamodb.pid}`);
      expect(r.stderr).not.toContain('starting');
      // Left as it was: the same process, still stopped (state T in /proc), the same stack file.
      expect(alive(before.dynamodb.pid)).toBe(true);
      expect(readFileSync(`/proc/${before.dynamodb.pid}/stat`, 'utf8').split(') ')[1]![0]).toBe('T');
      expect(state()).toEqual(before);
    } finally {
      process.kill(before.dynamodb.pid, 'SIGCONT');
    }
    const status = run('local', 'status', '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, dynamodb: `http://127.0.0.1:${before.dynamodb.port}` });
  }, 120_000);

  it('a patience that is not a positive number is refused, naming the variable', () => {
    const r = runWith({ RENEWAL_LOCAL_PATIENCE_SECONDS: 'soon' }, 'local', 'status', '--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('RENEWAL_LOCAL_PATIENCE_SECONDS: expected a positive number of seconds, got "soon"');
  });
});
