import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localTableNames, tableEnv, type TableNames } from '#shared/config.ts';
import { ensureTables } from '#shared/local-tables.ts';
import { RENEWAL_2024 } from '#shared/rules/campaign.ts';
import { noticePageUrl } from '#shared/store/notice-bucket.ts';
import { DEMO_SEASON } from './season.ts';

/**
 * The embedded stack: dynalite (DynamoDB API, LevelDB under `.local/dynamodb`), aws-ses-v2-local
 * (SES API and mail viewer) and s3rver (S3 API, files under `.local/s3`: the public delisting notice),
 * each a detached background process whose pid and port are kept in `.local/stack.json`, so every
 * later command finds them.
 */
const require = createRequire(import.meta.url);
export const PROJECT_ROOT = resolve(import.meta.dirname, '..');
export const LOCAL_DIR = process.env.RENEWAL_LOCAL_DIR ? resolve(process.env.RENEWAL_LOCAL_DIR) : join(PROJECT_ROOT, '.local');
const STATE_FILE = join(LOCAL_DIR, 'stack.json');
export const LOCAL_TABLE_PREFIX = 'renewal-local';
/** The embedded stack's notice bucket; s3rver creates it at start. */
export const LOCAL_NOTICE_BUCKET = 'renewal-notice';
/** s3rver checks only that a signature's access key is one it knows: this is its built-in one. */
const LOCAL_S3_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

interface ServiceState {
  pid: number;
  port: number;
}
interface StackState {
  dynamodb: ServiceState;
  ses: ServiceState;
  s3: ServiceState;
}

export interface StackStatus {
  running: boolean;
  dynamodb?: string;
  ses?: string;
  viewer?: string;
  /** The S3 endpoint (AWS_ENDPOINT_URL_S3). */
  s3?: string;
  /** Where the public delisting notice of the default campaign is (once `renewal publish` or the demo wrote it). */
  notice?: string;
}

function readState(): StackState | undefined {
  if (!existsSync(STATE_FILE)) return undefined;
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function responds(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

function urls(state: StackState) {
  const dynamodb = `http://127.0.0.1:${state.dynamodb.port}`;
  const ses = `http://127.0.0.1:${state.ses.port}`;
  const s3 = `http://127.0.0.1:${state.s3.port}`;
  return { dynamodb, ses, viewer: `${ses}/`, s3, notice: noticePageUrl(noticeBaseUrl(s3), RENEWAL_2024.campaignId, 'latest') };
}

/** The public base URL of the local notice bucket: path-style, straight from s3rver. */
const noticeBaseUrl = (s3: string) => `${s3}/${LOCAL_NOTICE_BUCKET}`;

export async function localStatus(): Promise<StackStatus> {
  const state = readState();
  if (!state?.s3) return { running: false }; // (a stack.json from before s3rver: restarted by local up)
  const u = urls(state);
  const running =
    alive(state.dynamodb.pid) && alive(state.ses.pid) && alive(state.s3.pid) && (await responds(u.dynamodb)) && (await responds(`${u.ses}/health-check`)) && (await responds(u.s3));
  return running ? { running, ...u } : { running: false };
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

/** The preferred port when it is free, else any free one (0 asks for any). */
async function freePort(preferred: number): Promise<number> {
  if (preferred > 0 && (await portFree(preferred))) return preferred;
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

function startDetached(name: string, args: string[]): number {
  const log = openSync(join(LOCAL_DIR, `${name}.log`), 'a');
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log], cwd: PROJECT_ROOT });
  child.unref();
  if (!child.pid) throw new Error(`could not start ${name}`);
  return child.pid;
}

async function waitFor(url: string, what: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await responds(url)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up at ${url} (see ${LOCAL_DIR}/*.log)`);
}

/** Starts what is not running, creates missing tables, and returns the endpoints. Safe to run twice. */
export async function localUp(): Promise<StackStatus> {
  const current = await localStatus();
  if (current.running) {
    await createLocalTables(current.dynamodb!);
    return current;
  }
  await localDown(); // half-running leftovers from a crash
  mkdirSync(join(LOCAL_DIR, 'dynamodb'), { recursive: true });
  const dynPort = await freePort(Number(process.env.RENEWAL_DYNAMODB_PORT ?? 18567));
  const sesPort = await freePort(Number(process.env.RENEWAL_SES_PORT ?? 18005));
  const s3Port = await freePort(Number(process.env.RENEWAL_S3_PORT ?? 18569));
  mkdirSync(join(LOCAL_DIR, 's3'), { recursive: true });
  const dynaliteCli = require.resolve('dynalite/cli.js');
  const sesCli = require.resolve('aws-ses-v2-local/dist/cli.js');
  const s3Cli = join(dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  const state: StackState = {
    dynamodb: {
      port: dynPort,
      pid: startDetached('dynalite', [dynaliteCli, '--host', '127.0.0.1', '--port', String(dynPort), '--path', join(LOCAL_DIR, 'dynamodb'), '--createTableMs', '0', '--deleteTableMs', '0', '--updateTableMs', '0']),
    },
    ses: { port: sesPort, pid: startDetached('ses', [sesCli, '--host', '127.0.0.1', '--port', String(sesPort)]) },
    s3: {
      port: s3Port,
      pid: startDetached('s3', [s3Cli, '--directory', join(LOCAL_DIR, 's3'), '--address', '127.0.0.1', '--port', String(s3Port), '--silent', '--no-vhost-buckets', '--configure-bucket', LOCAL_NOTICE_BUCKET]),
    },
  };
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
  const u = urls(state);
  await waitFor(u.dynamodb, 'dynalite');
  await waitFor(`${u.ses}/health-check`, 'aws-ses-v2-local');
  await waitFor(u.s3, 's3rver');
  await createLocalTables(u.dynamodb);
  return { running: true, ...u };
}

export async function localDown(): Promise<{ stopped: string[] }> {
  const state = readState();
  const stopped: string[] = [];
  if (state) {
    for (const [name, svc] of Object.entries(state) as [string, ServiceState][]) {
      if (alive(svc.pid)) {
        try {
          process.kill(svc.pid, 'SIGTERM');
          stopped.push(name);
        } catch {
          /* already gone */
        }
      }
    }
    for (const svc of Object.values(state) as ServiceState[]) {
      for (let i = 0; i < 50 && alive(svc.pid); i++) await new Promise((r) => setTimeout(r, 100));
    }
    rmSync(STATE_FILE, { force: true });
  }
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

/**
 * Points this process's SDK clients and table names at the embedded stack, starting it if needed.
 * Uses the SDK's own endpoint variables, so nothing else in the code knows it is local.
 */
export async function useLocalStack(log: (msg: string) => void = () => {}): Promise<StackStatus> {
  let status = await localStatus();
  if (!status.running) {
    log('embedded stack not running: starting it (renewal local up)');
    status = await localUp();
  }
  Object.assign(process.env, localEnv(status), tableEnv(localTables()));
  // dynalite's indexes are current the moment a write returns: a short re-read window is enough.
  process.env.AGGREGATION_OVERLAP_SECONDS ??= '5';
  // The embedded stack is configured as ops configure a deployment for the demo season it plays.
  process.env.THRESHOLD_ORDERS ??= String(DEMO_SEASON.thresholdOrders);
  return status;
}

export function localEnv(status: StackStatus): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: status.dynamodb!,
    AWS_ENDPOINT_URL_SES: status.ses!,
    AWS_ENDPOINT_URL_S3: status.s3!,
    AWS_REGION: process.env.AWS_REGION ?? 'ap-southeast-1',
    // Fixed, whatever the shell holds: the embedded services never need real credentials, and s3rver
    // accepts only its own key.
    ...LOCAL_S3_CREDENTIALS,
    NOTICE_BUCKET: LOCAL_NOTICE_BUCKET,
    NOTICE_BASE_URL: noticeBaseUrl(status.s3!),
  };
}
