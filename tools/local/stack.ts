import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { SESv2ClientConfig } from '@aws-sdk/client-sesv2';
import { systemClock } from '#shared/clock.ts';
import { ENV, localTableNames, mailEnv, noticeEnv, overlapEnv, readEnv, thresholdEnv, type MailConfig, type NoticeConfig, type TableNames } from '#shared/config.ts';
import { ensureTables } from '#tools/local/tables.ts';
import { retry, type RetryPolicy } from '#shared/retry.ts';
import { noticePageUrl } from '#shared/store/notice-bucket.ts';
import { LOCAL_NOTICE_BUCKET } from './identity.ts';
import { withStartLock } from './locks.ts';
import { LOCAL_DIR, PROJECT_ROOT } from './paths.ts';

export { LOCAL_NOTICE_BUCKET };
export { ImportBusyError } from './locks.ts';
export { LOCAL_DIR, PROJECT_ROOT } from './paths.ts';
import { BadInputError, RenewalError } from '#shared/errors.ts';
import { LOCAL_DEFAULTS, OVERRIDABLE, firstCampaign } from './defaults.ts';
import { alive, anyFreePort, identityAt, portFree, responds, whoHolds } from './processes.ts';

/**
 * The embedded stack: dynalite (DynamoDB API, LevelDB under `.local/dynamodb`), aws-ses-v2-local
 * (SES API and mail viewer) and s3rver (S3 API, files under `.local/s3`: the public delisting
 * notice), each a detached background process (tools/local/service.ts) whose pid and
 * port are kept in `.local/stack.json` with a token of this checkout's stack. Every service answers
 * `GET /renewal-local/identity` with that token: a command takes a stack to be its own only when the
 * recorded process is alive AND the port answers with its token, never because a port answers.
 *
 * A service whose process lives but does not answer (stopped, swapping, busy) is waited for, up to
 * the patience, saying so; it is never stopped by a probe. Only a service whose process is gone is
 * started again, alone, on its port; the others keep running and `stack.json` records the new pid.
 *
 * Ports: `RENEWAL_<SERVICE>_PORT` asks for one; if it is busy that is an error naming the port and
 * who holds it (0 asks for any free port). Without it, the default port, or any free one if that is
 * taken (said on stderr).
 */
const STATE_FILE = join(LOCAL_DIR, 'stack.json');
export const LOCAL_TABLE_PREFIX = 'renewal-local';
/** s3rver accepts only its own key; the embedded services never need real credentials. */
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** The services, in start order. A new one is one more entry here and in tools/local/service.ts. */
const SERVICES = [
  { name: 'dynamodb', portVar: 'RENEWAL_DYNAMODB_PORT', defaultPort: 18567, health: '/' },
  { name: 'ses', portVar: 'RENEWAL_SES_PORT', defaultPort: 18005, health: '/health-check' },
  { name: 's3', portVar: 'RENEWAL_S3_PORT', defaultPort: 18569, health: `/${LOCAL_NOTICE_BUCKET}` },
] as const;
type ServiceName = (typeof SERVICES)[number]['name'];

interface ServiceState {
  pid: number;
  port: number;
}
type StackState = { token?: string; dataDir?: string } & Partial<Record<ServiceName, ServiceState>>;

export interface StackStatus {
  running: boolean;
  dynamodb?: string;
  ses?: string;
  viewer?: string;
  s3?: string;
  /** The public delisting notice as the embedded S3 serves it (its newest version). */
  notice?: string;
}

/** The stack cannot start as asked (a busy port): the CLI exits 2 with this message. */
export class LocalStackError extends BadInputError {
  override name = 'LocalStackError';
}

function readState(): StackState | undefined {
  if (!existsSync(STATE_FILE)) return undefined;
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

const urlOf = (port: number) => `http://127.0.0.1:${port}`;

/** Is this service of the recorded stack ours and up: the recorded pid alive, and the port answering with our token from that pid. */
async function serviceIsOurs(state: StackState, name: ServiceName): Promise<boolean> {
  const svc = state[name];
  if (!svc || !state.token || !alive(svc.pid)) return false;
  const id = await identityAt(svc.port);
  return id?.token === state.token && id.pid === svc.pid && id.service === name;
}

/** A service's process is ours (this stack's service, by its command line), whatever its port says; true where /proc cannot tell. */
function processIsOurs(pid: number, name: ServiceName, token: string): boolean {
  let cmd: string[];
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return existsSync('/proc/self') ? false : true; // gone since, or a system without /proc: assume the pid is still ours
  }
  return cmd.some((a) => a.endsWith('/tools/local/service.ts')) && cmd.includes(name) && cmd.includes(token);
}

/**
 * A recorded service as it stands: `up` (answers with our token), `silent` (its process is ours and
 * alive but does not answer: stopped, or too busy), or `gone` (no process, or the pid is another
 * program's now).
 */
type Health = { state: 'up' } | { state: 'silent'; pid: number } | { state: 'gone'; why: string };

async function healthOf(state: StackState, name: ServiceName): Promise<Health> {
  const svc = state[name];
  if (!svc || !state.token) return { state: 'gone', why: 'not recorded' };
  if (!alive(svc.pid)) return { state: 'gone', why: `pid ${svc.pid} is gone` };
  if (await serviceIsOurs(state, name)) return { state: 'up' };
  if (processIsOurs(svc.pid, name, state.token)) return { state: 'silent', pid: svc.pid };
  return { state: 'gone', why: `pid ${svc.pid} is another program now` };
}

/**
 * How long a command waits for a service that lives but does not answer, before it gives up (without
 * stopping it): 30 s, or `RENEWAL_LOCAL_PATIENCE_SECONDS`.
 */
function patienceMs(v = process.env.RENEWAL_LOCAL_PATIENCE_SECONDS): number {
  if (v === undefined || v === '') return 30_000;
  const secs = Number(v);
  if (!Number.isFinite(secs) || secs <= 0) throw new LocalStackError(`RENEWAL_LOCAL_PATIENCE_SECONDS: expected a positive number of seconds, got ${JSON.stringify(v)}`);
  return secs * 1000;
}

/** A service lives but has not answered within the patience: nothing was stopped, nothing done (exit 1). */
export class LocalServiceStalledError extends RenewalError {
  override name = 'LocalServiceStalledError';
  override readonly retryable = true;
}

/**
 * The health of every recorded service, once the silent ones have answered or died: each silent one
 * is waited for (said on stderr) up to the patience, all at once. One still silent then is an error
 * that names it and says what to do; it is left running.
 */
async function settle(state: StackState, log: (msg: string) => void): Promise<Record<ServiceName, Health>> {
  const patience = patienceMs();
  const entries = await Promise.all(
    SERVICES.map(async (s): Promise<[ServiceName, Health]> => {
      const first = await healthOf(state, s.name);
      if (first.state !== 'silent') return [s.name, first];
      log(`${s.name} (pid ${first.pid}) is not answering; waiting up to ${patience / 1000} s…`);
      const waited = await retry<Health, Health>(
        { attempts: Infinity, baseMs: 250, capMs: 250, jitter: 0, withinMs: patience },
        async () => {
          const h = await healthOf(state, s.name);
          return h.state === 'silent' ? { again: h } : { done: h };
        },
        systemClock,
      );
      if (!waited.ok) {
        throw new LocalServiceStalledError(
          `${s.name} (pid ${first.pid}) has not answered for ${patience / 1000} s; nothing was done, and it was left running. ` +
            `If it was stopped, resume it (kill -CONT ${first.pid}); if it hangs, renewal local down and renewal local up restart the stack (its data stays in ${LOCAL_DIR})`,
        );
      }
      if (waited.value.state === 'up') log(`${s.name} (pid ${first.pid}) answers again`);
      return [s.name, waited.value];
    }),
  );
  return Object.fromEntries(entries) as Record<ServiceName, Health>;
}

/** What runs where; a service that lives but is silent is waited for first (`settle`). */
export async function localStatus(log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<StackStatus> {
  const state = readState();
  if (!state?.token) return { running: false };
  const health = await settle(state, log);
  if (SERVICES.some((s) => health[s.name].state !== 'up')) return { running: false };
  return statusOf(state);
}

function statusOf(state: StackState): StackStatus {
  const dynamodb = urlOf(state.dynamodb!.port);
  const ses = urlOf(state.ses!.port);
  const s3 = urlOf(state.s3!.port);
  return { running: true, dynamodb, ses, viewer: `${ses}/`, s3, notice: noticePageUrl(noticeBaseUrl(s3), firstCampaign().campaignId, 'latest') };
}

/** Where the embedded S3 serves the notice bucket's objects: what NOTICE_BASE_URL points at locally. */
const noticeBaseUrl = (s3: string) => `${s3}/${LOCAL_NOTICE_BUCKET}`;

/** The port a service starts on: the one asked for (busy: an error naming who holds it), else the default or any free one. */
async function choosePort(s: (typeof SERVICES)[number], log: (msg: string) => void): Promise<number> {
  const asked = process.env[s.portVar];
  if (asked !== undefined && asked !== '') {
    if (!/^\d+$/.test(asked) || Number(asked) > 65535) throw new LocalStackError(`${s.portVar}=${JSON.stringify(asked)}: must be a port number (0: any free port)`);
    if (asked === '0') return anyFreePort();
    if (!(await portFree(Number(asked)))) {
      throw new LocalStackError(`${s.portVar}=${asked}: port ${asked} is in use by ${await whoHolds(Number(asked))}; free it, or ask for another port (0: any free one)`);
    }
    return Number(asked);
  }
  if (await portFree(s.defaultPort)) return s.defaultPort;
  const port = await anyFreePort();
  log(`${s.name}: the default port ${s.defaultPort} is in use by ${await whoHolds(s.defaultPort)}; using ${port} (set ${s.portVar} to choose)`);
  return port;
}

/** stack.json replaced whole (a reader never sees half of it). */
function writeState(state: StackState): void {
  const tmp = `${STATE_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, STATE_FILE);
}

function startDetached(name: string, port: number, token: string): number {
  const log = openSync(join(LOCAL_DIR, `${name}.log`), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'service.ts'), name, String(port), token, LOCAL_DIR], {
    detached: true,
    stdio: ['ignore', log, log],
    cwd: PROJECT_ROOT,
  });
  child.unref();
  if (!child.pid) throw new Error(`could not start ${name}`);
  return child.pid;
}

/** A service starting is asked every 100 ms, for about 20 s; a process stopping is watched for 5 s. */
const SERVICE_UP_POLL: RetryPolicy = { attempts: 200, baseMs: 100, capMs: 100, jitter: 0 };
const SERVICE_EXIT_POLL: RetryPolicy = { attempts: 51, baseMs: 100, capMs: 100, jitter: 0 };

async function waitFor(state: StackState, name: ServiceName, health: string): Promise<void> {
  const svc = state[name]!;
  const up = await retry(
    SERVICE_UP_POLL,
    async () => {
      if ((await serviceIsOurs(state, name)) && (await responds(`${urlOf(svc.port)}${health}`))) return { done: true };
      return alive(svc.pid) ? { again: 'starting' } : { done: false }; // it died: no use waiting
    },
    systemClock,
  );
  if (!up.ok || !up.value) throw new Error(`${name} did not come up on port ${svc.port} (see ${join(LOCAL_DIR, `${name}.log`)})`);
}

/**
 * Starts what is not running, creates missing tables, and returns the endpoints. Safe to run twice.
 * A live stack is never torn down: a silent service is waited for (`settle`), and only a service
 * whose process is gone is started again, alone, on its port when that is free.
 */
export async function localUp(log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<StackStatus> {
  const recorded = readState();
  if (recorded?.token) {
    const health = await settle(recorded, log);
    const gone = SERVICES.filter((s) => health[s.name].state === 'gone');
    if (gone.length < SERVICES.length) {
      if (gone.length) await withStartLock(() => restartGone(log));
      const status = statusOf(readState()!);
      await createLocalTables(status.dynamodb!);
      return status;
    }
  }
  return withStartLock(async () => {
    // Another command may have started it while this one waited for the lock.
    const now = readState();
    if (now?.token && (await Promise.all(SERVICES.map((s) => healthOf(now, s.name)))).every((h) => h.state === 'up')) return statusOf(now);
    log(`starting the embedded stack (data in ${LOCAL_DIR})`);
    await localDown(); // half-running leftovers of this checkout's stack
    mkdirSync(join(LOCAL_DIR, 'dynamodb'), { recursive: true });
    mkdirSync(join(LOCAL_DIR, 's3'), { recursive: true });
    const state: StackState = { token: randomUUID(), dataDir: LOCAL_DIR };
    for (const s of SERVICES) state[s.name] = { port: await choosePort(s, log), pid: 0 };
    for (const s of SERVICES) state[s.name]!.pid = startDetached(s.name, state[s.name]!.port, state.token!);
    writeState(state);
    for (const s of SERVICES) await waitFor(state, s.name, s.health);
    const status = statusOf(state);
    await createLocalTables(status.dynamodb!);
    return status;
  });
}

/** Under the start lock: each service of the recorded stack whose process is gone, started again on its port (else as `choosePort` says). */
async function restartGone(log: (msg: string) => void): Promise<void> {
  const state = readState()!;
  for (const s of SERVICES) {
    const h = await healthOf(state, s.name);
    if (h.state !== 'gone') continue;
    const old = state[s.name];
    const port = old && (await portFree(old.port)) ? old.port : await choosePort(s, log);
    log(`${s.name}${old ? ` (pid ${old.pid})` : ''} is gone: starting it again on port ${port}; the other services keep running`);
    state[s.name] = { port, pid: startDetached(s.name, port, state.token!) };
    writeState(state);
    await waitFor(state, s.name, s.health);
  }
}

/** Stops this checkout's stack: only processes that prove to be its services (token, or our service's command line). */
export async function localDown(): Promise<{ stopped: string[] }> {
  const state = readState();
  const stopped: string[] = [];
  if (!state) return { stopped };
  const ours = async (name: ServiceName) => {
    const svc = state[name];
    if (!svc || !alive(svc.pid)) return false;
    if (await serviceIsOurs(state, name)) return true;
    // Not answering (hung, or still starting): ours if its command line is our service's for this data dir.
    try {
      const cmd = readFileSync(`/proc/${svc.pid}/cmdline`, 'utf8');
      return cmd.includes('local/service.ts') && cmd.includes(LOCAL_DIR);
    } catch {
      return false;
    }
  };
  const victims: ServiceState[] = [];
  for (const s of SERVICES) {
    if (await ours(s.name)) {
      try {
        process.kill(state[s.name]!.pid, 'SIGTERM');
        stopped.push(s.name);
        victims.push(state[s.name]!);
      } catch {
        /* already gone */
      }
    }
  }
  for (const svc of victims) {
    const exited = await retry(SERVICE_EXIT_POLL, async () => (alive(svc.pid) ? { again: 'running' } : { done: true }), systemClock);
    if (!exited.ok) process.kill(svc.pid, 'SIGKILL');
  }
  rmSync(STATE_FILE, { force: true });
  return { stopped };
}

export const localTables = (): TableNames => localTableNames(LOCAL_TABLE_PREFIX);

async function createLocalTables(endpoint: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await ensureTables(client, localTables());
  } finally {
    client.destroy();
  }
}

/** The embedded stack as the CLI's functions are built over it: where it is, and their configuration. */
export interface LocalStack {
  status: StackStatus & { running: true; dynamodb: string; ses: string; viewer: string; s3: string; notice: string };
  tables: TableNames;
  /** SDK client settings for each service: its endpoint, a region, and credentials of its own (never the shell's). */
  clients: { dynamodb: DynamoDBClientConfig; ses: SESv2ClientConfig; s3: S3ClientConfig };
  /** The functions' configuration, read with their own schemas (shared/config.ts) over the defaults above and the shell's overrides. */
  config: { overlapMs: number; thresholdOrders?: number; mail: MailConfig; notice: NoticeConfig };
}

/**
 * The embedded stack, started if needed, with the configuration the CLI builds its functions from.
 * Nothing is written to `process.env`: the shell's variables are read as overrides of `LOCAL_DEFAULTS`
 * (`thresholdOrders`, when given, wins over both: the demo sets its season's).
 */
export async function useLocalStack(log: (msg: string) => void = () => {}, opts: { thresholdOrders?: number } = {}): Promise<LocalStack> {
  let status = await localStatus(log);
  if (!status.running) status = await localUp(log);
  const running = status as LocalStack['status'];
  const env: Record<string, string | undefined> = { ...LOCAL_DEFAULTS, [ENV.mailReplyTo]: firstCampaign().feedbackMailbox };
  for (const name of OVERRIDABLE) if (process.env[name] !== undefined) env[name] = process.env[name];
  if (opts.thresholdOrders !== undefined) env[ENV.thresholdOrders] = String(opts.thresholdOrders);
  env[ENV.bucket('notice')] = LOCAL_NOTICE_BUCKET;
  env[ENV.noticeBaseUrl] = noticeBaseUrl(running.s3);
  const config = readEnv({ overlapMs: overlapEnv, thresholdOrders: thresholdEnv, mail: mailEnv, notice: noticeEnv }, env);
  const region = process.env.AWS_REGION ?? 'ap-southeast-1';
  const common = { region, credentials: LOCAL_CREDENTIALS };
  return {
    status: running,
    tables: localTables(),
    clients: {
      dynamodb: { ...common, endpoint: running.dynamodb },
      ses: { ...common, endpoint: running.ses },
      // s3rver serves buckets path-style.
      s3: { ...common, endpoint: running.s3, forcePathStyle: true },
    },
    config: { overlapMs: config.overlapMs, ...(config.thresholdOrders !== undefined ? { thresholdOrders: config.thresholdOrders } : {}), mail: config.mail, notice: config.notice },
  };
}
