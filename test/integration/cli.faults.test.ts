import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The CLI as an operator meets faults (issue 9), each command a process of its own on a stack of its
 * own in a temporary `.local`: a busy port, two checkouts side by side, the database killed during an
 * import, two imports at once, an aggregation that finds the lock held.
 */
const BIN = resolve(import.meta.dirname, '../../bin/renewal.js');
const KILL_DB = resolve(import.meta.dirname, '../support/kill-db-child.ts');
const root = mkdtempSync(join(tmpdir(), 'renewal-cli-faults-'));
// The SDK's NodeVersionSupportWarning is not silenced: every command is checked not to print it (Node 24).
const base = {
  ...process.env,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
  AWS_ENDPOINT_URL_DYNAMODB: '',
  AWS_ENDPOINT_URL_SES: '',
  AWS_ENDPOINT_URL_SESV2: '',
  RENEWAL_DYNAMODB_PORT: '0',
  RENEWAL_SES_PORT: '0',
  RENEWAL_S3_PORT: '0',
};
const checkout = (name: string, extra: Record<string, string> = {}) => ({ ...base, RENEWAL_LOCAL_DIR: join(root, name, '.local'), ...extra });
const A = checkout('a');
const B = checkout('b');

function run(env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 120_000 });
  expect(r.stderr, `renewal ${args.join(' ')}`).not.toContain('NodeVersionSupportWarning');
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

const orders = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ type: 'order.paid', orderId: `${prefix}${i}`, storeId: `S${i % 50}`, paidAt: '2023-12-05T10:00:00+08:00' })).join('\n');

afterAll(() => {
  for (const env of [A, B]) run(env, 'local', 'down');
  rmSync(root, { recursive: true, force: true });
});

describe('ports and identity', () => {
  it('a busy explicitly requested port is refused, naming the port and who holds it; nothing starts', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = String((blocker.address() as { port: number }).port);
    const r = run(checkout('busy', { RENEWAL_DYNAMODB_PORT: port }), 'local', 'up');
    blocker.close();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`RENEWAL_DYNAMODB_PORT=${port}: port ${port} is in use by pid ${process.pid}`);
    expect(run(checkout('busy'), 'local', 'status', '--json').json()).toEqual({ running: false });
  });

  it("two checkouts with different data directories never share a stack: each runs its own, its data its own; one's port is refused to the other", () => {
    const a = run(A, 'local', 'up', '--json').json();
    const b = run(B, 'local', 'up', '--json').json();
    expect(a.dynamodb).not.toBe(b.dynamodb);
    const file = join(root, 'one.ndjson');
    writeFileSync(file, orders(3, 'A'));
    expect(run(A, 'import', file, '--json').json()).toMatchObject({ accepted: 3 });
    expect(run(B, 'import', file, '--json').json()).toMatchObject({ accepted: 3, duplicates: 0 }); // B's own, empty tables

    // B asks for A's port: refused, naming A's stack; B's status never takes A's stack for its own.
    const port = a.dynamodb.split(':').at(-1);
    run(B, 'local', 'down');
    const clash = run({ ...B, RENEWAL_DYNAMODB_PORT: port }, 'local', 'up');
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(new RegExp(`port ${port} is in use by the embedded stack of another checkout \\(dynamodb, pid \\d+, data in ${join(root, 'a', '.local').replaceAll('/', '\\/')}\\)`));
    // Even with B's stack.json pointing at A's ports (a stale file), B does not take A's stack for its own.
    writeFileSync(join(root, 'b', '.local', 'stack.json'), readFileSync(join(root, 'a', '.local', 'stack.json'), 'utf8').replace(/"token": "[^"]+"/, '"token": "someone-else"'));
    expect(run(B, 'local', 'status', '--json').json()).toEqual({ running: false });
    expect(run(A, 'local', 'status', '--json').json()).toMatchObject({ running: true, dynamodb: a.dynamodb });
  });
});

describe('import under faults', () => {
  it('a second import on the same stack refuses (exit 75) while the first runs; a lock left by a killed import is taken over', () => {
    const file = join(root, 'two.ndjson');
    writeFileSync(file, orders(2, 'T'));
    const lock = join(root, 'a', '.local', 'import.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.pid, file: 'other.ndjson', startedAt: '2024-03-01T00:00:00.000Z' }));
    const busy = run(A, 'import', file, '--json');
    expect(busy.code).toBe(75);
    expect(busy.stderr).toContain(`another import is running on this stack (pid ${process.pid}, other.ndjson, since 2024-03-01T00:00:00.000Z)`);
    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, file: 'killed.ndjson', startedAt: '2024-03-01T00:00:00.000Z' }));
    expect(run(A, 'import', file, '--json')).toMatchObject({ code: 0 });
  });

  it('the database killed mid-import: failed counts in progress, the import stops at once (exit 1) naming the endpoint and the error; after local up the same import stores everything', async () => {
    const N = 12_000;
    const file = join(root, 'big.ndjson');
    writeFileSync(file, orders(N, 'BIG'));
    const state = JSON.parse(readFileSync(join(root, 'a', '.local', 'stack.json'), 'utf8')) as { dynamodb: { pid: number; port: number } };
    // The import itself kills the database after its 200th answer from it (test/support/kill-db-child.ts).
    const env = { ...A, KILL_DB_PID: String(state.dynamodb.pid), KILL_DB_PORT: String(state.dynamodb.port), KILL_DB_AFTER: '200' };
    const child = spawn(process.execPath, ['--import', KILL_DB, BIN, 'import', file, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let stderr = '';
    let stdout = '';
    let killed: { killed: number; afterAnswers: number } | undefined;
    child.on('message', (m) => (killed = m as typeof killed));
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(killed, `the import killed the database mid-way: ${stderr}`).toEqual({ killed: state.dynamodb.pid, afterAnswers: 200 });
    expect(code).toBe(1);
    expect(stderr).toMatch(/FAILED \d+/);
    expect(stderr).toMatch(new RegExp(`import stopped: \\d+ batches failed in a row, nothing of them stored \\(DynamoDB at http://127\\.0\\.0\\.1:${state.dynamodb.port}\\)`));
    expect(stderr).toMatch(/ECONNREFUSED|connect/);
    expect(stderr).toContain('run the same import again');
    const partial = JSON.parse(stdout) as { accepted: number; duplicates: number; rejected: number; failed: number };
    expect(partial.accepted).toBeGreaterThan(0);
    // It stops at once instead of grinding through the file: past the batches in flight when the store
    // went (24 lanes, cli/import.ts) and the 3 failed in a row that stop it, nothing more is tried.
    expect(partial.failed).toBeGreaterThan(0);
    expect(partial.failed).toBeLessThanOrEqual((24 + 3) * 10);
    const notTried = N - partial.accepted - partial.duplicates - partial.rejected - partial.failed;
    expect(stderr).toContain(`; ${notTried} were not tried.`);
    expect(notTried).toBeGreaterThan(N / 2);

    // Recovery as documented: bring the stack back, run the same import again.
    expect(run(A, 'local', 'up').code).toBe(0);
    const again = run(A, 'import', file, '--json');
    expect(again.code, again.stderr).toBe(0);
    const r = again.json() as { accepted: number; duplicates: number; rejected: number };
    expect(r.rejected).toBe(0);
    expect(r.accepted + r.duplicates).toBe(N);
    // Nothing accepted before the outage was lost: it comes back as duplicates.
    expect(r.duplicates).toBeGreaterThanOrEqual(partial.accepted);
  }, 180_000);

  it('encoding faults through the CLI: a directory and a UTF-16 file exit 2 naming the problem', () => {
    const dir = run(A, 'import', root);
    expect(dir.code).toBe(2);
    expect(dir.stderr).toMatch(/FILE: .* is a directory/);
    const utf16 = join(root, 'utf16.ndjson');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(orders(2, 'U'), 'utf16le')]));
    const r = run(A, 'import', utf16);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is UTF-16/);
  });
});

describe('aggregate while another run holds the lock', () => {
  it('exits 75 saying who holds it and until when; prints the busy result with --json', async () => {
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    const { DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
    const { AggregateStore } = await import('#shared/store/aggregates.ts');
    const { localTableNames } = await import('#shared/config.ts');
    const status = run(A, 'local', 'status', '--json').json() as { dynamodb: string };
    const db = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: status.dynamodb, region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));
    const store = new AggregateStore(db, localTableNames('renewal-local'));
    const takenAt = new Date();
    expect(await store.begin('renewal-2024', 'held', takenAt, 60_000, 'renewal aggregate by ops@elsewhere (pid 4242)')).toMatchObject({ acquired: true });
    const r = run(A, 'aggregate', '--campaign', 'renewal-2024', '--json');
    await store.finish('renewal-2024', 'held');
    db.destroy();
    expect(r.code).toBe(75);
    expect(r.json()).toMatchObject({ status: 'busy', holder: { holder: 'renewal aggregate by ops@elsewhere (pid 4242)' } });
    expect(r.stderr).toContain('nothing done: the aggregation lock is held by renewal aggregate by ops@elsewhere (pid 4242) until');
    expect(r.json().holder.leaseUntil).toBe(new Date(takenAt.getTime() + 60_000).toISOString());
  });
});
