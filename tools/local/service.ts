/**
 * One service of the embedded stack, run as its own detached process by `renewal local up`:
 *   node --import tsx tools/local/service.ts <service> <port> <token> <dataDir>
 * It serves the service on 127.0.0.1:<port> and answers `GET /renewal-local/identity` with
 * `{service, token, dataDir, pid}`, so `local status`, `local up` and every command recognise their
 * own stack by the token in `.local/stack.json`, never by a port that merely answers.
 *
 * Each service is built by tools/local/services.ts (the one bootstrap, shared with the rehearsal and
 * the tests); a new service is a new entry there, in SERVICES and in tools/local/stack.ts's list.
 */
import { createServer, type RequestListener } from 'node:http';
import { join } from 'node:path';
import { IDENTITY_PATH, LOCAL_NOTICE_BUCKET } from './identity.ts';
import { dynamoListener, s3Listener, sesListener } from './services.ts';

/** Each service built by the one bootstrap (services.ts), its data under the stack's directory. */
const SERVICES: Record<string, (dataDir: string) => Promise<RequestListener>> = {
  // dynalite: LevelDB under <dataDir>/dynamodb.
  dynamodb: async (dataDir) => dynamoListener({ path: join(dataDir, 'dynamodb') }),
  // aws-ses-v2-local: its mails kept under <dataDir>/ses, as notify's reconciliation reads them after a restart.
  ses: (dataDir) => sesListener({ storeDir: join(dataDir, 'ses') }),
  // s3rver: files under <dataDir>/s3, with the notice bucket.
  s3: (dataDir) => s3Listener({ directory: join(dataDir, 's3'), buckets: [LOCAL_NOTICE_BUCKET] }),
};

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
  process.stderr.write(`${service}: ${err.message}\n`);
  process.exit(1);
});
server.listen(Number(port), '127.0.0.1', () => process.stderr.write(`${service} listening on 127.0.0.1:${port} (pid ${process.pid})\n`));
