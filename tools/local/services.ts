/**
 * The one bootstrap of the embedded services, used by the embedded stack (`service.ts`, one process
 * per service), the rehearsal (in its own process) and the test run (test/support/global-setup.ts):
 * - dynalite: the DynamoDB API over LevelDB (in memory, or under a directory);
 * - aws-ses-v2-local: the SES API and its mail viewer (its mails in memory, or kept in a directory);
 * - s3rver: the S3 API over files in a directory, path-style, with the buckets asked for.
 *
 * Each `…Listener` builds the service and returns its request listener without listening, so a caller
 * can put its own server in front (the stack answers its identity path first; the rehearsal's gateway
 * calls dynalite in-process). `start…` serves one on 127.0.0.1.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

/** A service listening on loopback. `close` ends its connections and whatever the service holds open. */
export interface RunningService {
  url: string;
  port: number;
  server: Server;
  /** The service's own request listener, for a caller that answers in-process (the rehearsal's gateway). */
  listener: RequestListener;
  close(): Promise<void>;
}

/** The one set of dynalite options: tables are ACTIVE at once, as the code never waits for CREATING. */
const DYNALITE_OPTIONS = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };

/** The request listener of a server built but not listening (its own listen is not used). */
const listenerOf = (server: Server) => server.listeners('request')[0] as RequestListener;

/** dynalite; `path` keeps its LevelDB under that directory, otherwise in memory. */
export function dynamoListener(o: { path?: string } = {}): RequestListener {
  return listenerOf(dynalite(o));
}

function dynalite(o: { path?: string }): Server {
  const make = require('dynalite') as (opts: object) => Server;
  return make({ ...DYNALITE_OPTIONS, ...(o.path ? { path: o.path } : {}) });
}

/**
 * aws-ses-v2-local. It builds its express app only inside its start function, which listens: it is
 * let listen on a throwaway port, its app taken, the throwaway closed. `storeDir` keeps its mails
 * there across restarts (`keepSesStore`). Its store is one per process, whatever the number of listeners.
 */
export async function sesListener(o: { storeDir?: string } = {}): Promise<RequestListener> {
  // Both through require: the store patched is then the very module the server's handlers use.
  if (o.storeDir) keepSesStore(require('aws-ses-v2-local/dist/store.js') as SesStore, o.storeDir);
  const start = (require('aws-ses-v2-local') as { default: (c: object) => Promise<Server> }).default;
  const throwaway = await start({ host: '127.0.0.1', port: 0 });
  const listener = listenerOf(throwaway);
  await new Promise((r) => throwaway.close(r));
  return listener;
}

/** s3rver over files under `directory`, with `buckets` made (path-style addressing). */
export async function s3Listener(o: { directory: string; buckets?: string[] }): Promise<RequestListener> {
  const S3rver = require('s3rver') as new (opts: object) => { configureBuckets(): Promise<void>; callback(): RequestListener };
  const s3 = new S3rver({ directory: o.directory, silent: true, vhostBuckets: false, configureBuckets: (o.buckets ?? []).map((name) => ({ name, configs: [] })) });
  await s3.configureBuckets();
  return s3.callback();
}

/** Serves `listener` on 127.0.0.1:`port` (0: a free port). */
export function serve(listener: RequestListener, port = 0): Promise<RunningService> {
  return listen(createServer(listener), listener, port);
}

async function listen(server: Server, listener: RequestListener, port: number): Promise<RunningService> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    server,
    listener,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** dynalite on its own server, whose close also closes its database (it does so only when it was listening). */
export function startDynamo(o: { path?: string; port?: number } = {}): Promise<RunningService> {
  const server = dynalite(o);
  return listen(server, listenerOf(server), o.port ?? 0);
}
export const startSes = async (o: { storeDir?: string; port?: number } = {}) => serve(await sesListener(o), o.port);
export const startS3 = async (o: { directory: string; buckets?: string[]; port?: number }) => serve(await s3Listener(o), o.port);

/** What aws-ses-v2-local's `store.ts` exports and this file uses (CommonJS exports, replaceable). */
interface SesStore {
  saveEmail(email: object): void;
  clearStore(): void;
  getStoreReadonly(): { emails: object[] };
}

/**
 * aws-ses-v2-local keeps its mails in memory; notify's reconciliation reads them as evidence
 * (tools/local/mail-evidence.ts), so they must outlive a restart of the service. Each mail is appended
 * to `<dir>/mail.ndjson` synchronously, before the handler answers the send (a mail SES acknowledged
 * is on disk, even if the process is killed the next instant), and the file is read back on start.
 * `POST /clear-store` empties the file too. (Templates are not kept: the project sends none.)
 */
function keepSesStore(store: SesStore, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'mail.ndjson');
  if (existsSync(file)) {
    let text = readFileSync(file, 'utf8');
    // A kill in the middle of an append leaves a torn last line: that mail was never acknowledged. Cut
    // it off, so that the next append does not glue onto it.
    if (text && !text.endsWith('\n')) writeFileSync(file, (text = text.slice(0, text.lastIndexOf('\n') + 1)));
    for (const [i, line] of text.split('\n').entries()) {
      if (!line) continue;
      try {
        store.getStoreReadonly().emails.push(JSON.parse(line, reviveBuffers) as object);
      } catch (err) {
        throw new Error(`${file}:${i + 1}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  const save = store.saveEmail.bind(store);
  store.saveEmail = (email) => {
    appendFileSync(file, `${JSON.stringify(email)}\n`);
    save(email);
  };
  const clear = store.clearStore.bind(store);
  store.clearStore = () => {
    writeFileSync(file, '');
    clear();
  };
}

/** Attachments' contents are Buffers in the store: JSON keeps them as `{type:"Buffer",data}`. */
const reviveBuffers = (_key: string, v: unknown) =>
  v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data) ? Buffer.from((v as { data: number[] }).data) : v;
