/**
 * One service of the embedded stack, run as its own detached process by `renewal local up`:
 *   node --import tsx tools/local/service.ts <service> <port> <token> <dataDir>
 * It serves the service on 127.0.0.1:<port> and answers `GET /renewal-local/identity` with
 * `{service, token, dataDir, pid}`, so `local status`, `local up` and every command recognise their
 * own stack by the token in `.local/stack.json`, never by a port that merely answers.
 *
 * Each service is a factory returning the request listener of its server; a new service is a new
 * entry in SERVICES (and in tools/local/stack.ts's list).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
import { IDENTITY_PATH, LOCAL_NOTICE_BUCKET } from './identity.ts';

/** The request listener of a server built but not listening (its own listen is not used). */
const listenerOf = (server: Server) => server.listeners('request')[0] as RequestListener;

const SERVICES: Record<string, (dataDir: string) => Promise<RequestListener>> = {
  // dynalite: the DynamoDB API over LevelDB under <dataDir>/dynamodb.
  dynamodb: async (dataDir) => {
    const dynalite = require('dynalite') as (opts: object) => Server;
    return listenerOf(dynalite({ path: join(dataDir, 'dynamodb'), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }));
  },
  // aws-ses-v2-local: the SES API and its mail viewer, its mails kept under <dataDir>/ses (keepSesStore).
  // It only builds its express app inside its start function, which listens: let it listen on a
  // throwaway port, take the app, close.
  ses: async (dataDir) => {
    // Both through require: the store patched is then the very module the server's handlers use.
    keepSesStore(require('aws-ses-v2-local/dist/store.js') as SesStore, join(dataDir, 'ses'));
    const start = (require('aws-ses-v2-local') as { default: (c: object) => Promise<Server> }).default;
    const throwaway = await start({ host: '127.0.0.1', port: 0 });
    const listener = listenerOf(throwaway);
    await new Promise((r) => throwaway.close(r));
    return listener;
  },
  // s3rver: the S3 API over files under <dataDir>/s3, with the notice bucket (path-style addressing).
  s3: async (dataDir) => {
    const S3rver = require('s3rver') as new (opts: object) => { configureBuckets(): Promise<void>; callback(): RequestListener };
    const s3 = new S3rver({ directory: join(dataDir, 's3'), silent: true, vhostBuckets: false, configureBuckets: [{ name: LOCAL_NOTICE_BUCKET, configs: [] }] });
    await s3.configureBuckets();
    return s3.callback();
  },
};

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
        throw new Error(`${file}:${i + 1}: ${(err as Error).message}`);
      }
    }
  }
  const save = store.saveEmail;
  store.saveEmail = (email) => {
    appendFileSync(file, `${JSON.stringify(email)}\n`);
    save(email);
  };
  const clear = store.clearStore;
  store.clearStore = () => {
    writeFileSync(file, '');
    clear();
  };
}

/** Attachments' contents are Buffers in the store: JSON keeps them as `{type:"Buffer",data}`. */
const reviveBuffers = (_key: string, v: unknown) =>
  v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data) ? Buffer.from((v as { data: number[] }).data) : v;

const [service, port, token, dataDir] = process.argv.slice(2) as [string, string, string, string];
const make = SERVICES[service];
if (!make || !/^\d+$/.test(port ?? '') || !token || !dataDir) {
  process.stderr.write(`usage: local-service.ts <${Object.keys(SERVICES).join('|')}> <port> <token> <dataDir>\n`);
  process.exit(2);
}
const inner = await make(dataDir);
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === IDENTITY_PATH) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ service, token, dataDir, pid: process.pid }));
    return;
  }
  inner(req, res);
});
server.on('error', (err) => {
  process.stderr.write(`${service}: ${(err as Error).message}\n`);
  process.exit(1);
});
server.listen(Number(port), '127.0.0.1', () => process.stderr.write(`${service} listening on 127.0.0.1:${port} (pid ${process.pid})\n`));
