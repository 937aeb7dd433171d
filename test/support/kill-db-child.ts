/**
 * Preloaded (`node --import`) into a CLI process by the fault tests: once that process has had
 * KILL_DB_AFTER answers from the DynamoDB at 127.0.0.1:KILL_DB_PORT, it SIGKILLs KILL_DB_PID (the
 * embedded dynalite) itself, at that exact point of its work, and tells the parent over the IPC channel:
 * `{ killed: pid, afterAnswers: n }`. The kill is tied to the work done, not to a time or to progress text.
 * Plain TypeScript that Node 24 runs as it is (types only, no loader).
 */
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

const pid = Number(process.env.KILL_DB_PID);
const host = `127.0.0.1:${process.env.KILL_DB_PORT}`;
const after = Number(process.env.KILL_DB_AFTER);
let answers = 0;
// The channel must not keep the CLI alive once its work is done.
process.channel?.unref();

subscribe('http.client.response.finish', (message) => {
  const { request } = message as { request: ClientRequest };
  if (answers >= after || request.getHeader('host') !== host) return;
  if (++answers < after) return;
  process.kill(pid, 'SIGKILL');
  process.send?.({ killed: pid, afterAnswers: answers });
});
