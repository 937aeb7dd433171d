// One Lambda execution environment of `renewal rehearse`: a child process that loads a function's
// bundle from the cloud assembly and calls its handler as the Node.js runtime of Lambda does, one
// invocation at a time, with the environment the parent gives it.
//
// Plain JavaScript on purpose: Lambda runs the bundle with nothing but Node, so this process has no
// TypeScript loader that could hide a bundle's missing piece.
//
// Time is simulated. The parent sets the clock at the start of each invocation to the simulated
// instant of that invocation; from there it runs with the real clock, and jumps forward only when the
// process has nothing else to do than wait for a timer (no socket, file or DNS request pending): the
// jump goes to that timer's due time. So a notify that paces 100 mails at one per second takes 100
// simulated seconds and a few real milliseconds, while a timer racing real work (an SDK timeout, a
// lease heartbeat) fires when it would have. `Date` and the timer functions are replaced before the
// bundle loads; `performance.now()` stays real.
//
// AWS calls. The SDK in the bundle signs and writes each request to the rehearsal's gateway
// (`AWS_ENDPOINT_URL`) as it would to AWS; the request is handed to the gateway over this process's IPC
// channel instead of a loopback connection (`gateway-transport.mjs`), the same bytes either way.
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { routeToGateway } from './gateway-transport.mjs';

const require = createRequire(import.meta.url);
const RealDate = Date;
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetImmediate = globalThis.setImmediate;

// ---- the simulated clock ---------------------------------------------------------------------
let virtualBase = RealDate.now();
let realBase = performance.now();
let warped = 0;
const now = () => Math.floor(virtualBase + (performance.now() - realBase) + warped);

function setClock(virtualMs) {
  virtualBase = virtualMs;
  realBase = performance.now();
  warped = 0;
}

function FakeDate(...args) {
  if (!new.target) return new RealDate(now()).toString();
  return args.length === 0 ? new RealDate(now()) : new RealDate(...args);
}
FakeDate.prototype = RealDate.prototype;
FakeDate.now = now;
FakeDate.parse = RealDate.parse;
FakeDate.UTC = RealDate.UTC;
Object.defineProperty(FakeDate, 'name', { value: 'Date' });
globalThis.Date = FakeDate;

// ---- simulated timers ------------------------------------------------------------------------
let seq = 0;
/** Pending timers by id: { id, due, fn, args, repeat, ref }. */
const timers = new Map();

class SimTimeout {
  constructor(id) {
    this.id = id;
  }
  ref() {
    const t = timers.get(this.id);
    if (t) t.ref = true;
    return this;
  }
  unref() {
    const t = timers.get(this.id);
    if (t) t.ref = false;
    return this;
  }
  hasRef() {
    return timers.get(this.id)?.ref ?? false;
  }
  refresh() {
    const t = timers.get(this.id);
    if (t) t.due = now() + t.delay;
    return this;
  }
  close() {
    timers.delete(this.id);
    return this;
  }
  [Symbol.toPrimitive]() {
    return this.id;
  }
}

function addTimer(fn, delay, args, repeat) {
  if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
  const ms = Math.max(1, Number(delay) || 0);
  const id = ++seq;
  timers.set(id, { id, due: now() + ms, delay: ms, fn, args, repeat, ref: true });
  wake();
  return new SimTimeout(id);
}
const clear = (t) => {
  if (t === undefined || t === null) return;
  timers.delete(typeof t === 'object' ? t.id : Number(t));
};

globalThis.setTimeout = (fn, delay, ...args) => addTimer(fn, delay, args, false);
globalThis.setInterval = (fn, delay, ...args) => addTimer(fn, delay, args, true);
globalThis.clearTimeout = clear;
globalThis.clearInterval = clear;
const timersModule = require('node:timers');
timersModule.setTimeout = globalThis.setTimeout;
timersModule.setInterval = globalThis.setInterval;
timersModule.clearTimeout = clear;
timersModule.clearInterval = clear;
const timersPromises = require('node:timers/promises');
timersPromises.setTimeout = (delay, value, options = {}) =>
  new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(options.signal.reason);
    const t = addTimer(() => resolve(value), delay, [], false);
    options.signal?.addEventListener('abort', () => {
      clear(t);
      reject(options.signal.reason);
    });
  });

// ---- AWS calls over the IPC channel ----------------------------------------------------------
/** Requests handed to the gateway and not answered yet: real work under way, as an open socket would be. */
const awaiting = new Map();
let exchanges = 0;
if (process.env.AWS_ENDPOINT_URL) {
  const gateway = new URL(process.env.AWS_ENDPOINT_URL);
  routeToGateway(require('node:http'), {
    host: gateway.hostname,
    port: gateway.port || '80',
    exchange: (request) =>
      new Promise((resolve) => {
        const id = ++exchanges;
        awaiting.set(id, resolve);
        process.send({ type: 'aws', id, request });
      }),
  });
}
process.on('message', (msg) => {
  if (msg.type !== 'aws-response') return;
  const resolve = awaiting.get(msg.id);
  awaiting.delete(msg.id);
  resolve?.(msg.response);
  wake();
});
syncBuiltinESMExports();

// Resources that mean "something real is under way": the process must not jump ahead of it.
const IDLE_KINDS = new Set(['Timeout', 'Immediate', 'PipeWrap', 'TTYWrap', 'SignalWrap', 'MessagePort', 'ProcessWrap']);
const busy = () => process.getActiveResourcesInfo().some((kind) => !IDLE_KINDS.has(kind));

let ticking = false;
let running = false; // an invocation is under way: only then does simulated time pass
function wake() {
  if (ticking || !running) return;
  ticking = true;
  realSetTimeout(tick, 0);
}

/** Fires what is due; when nothing but timers remain, jumps to the earliest one. */
function tick() {
  ticking = false;
  if (!running || timers.size === 0) return;
  let next;
  for (const t of timers.values()) if (!next || t.due < next.due || (t.due === next.due && t.id < next.id)) next = t;
  const t0 = now();
  if (next.due > t0) {
    // A call at the gateway: its answer wakes the clock again.
    if (awaiting.size > 0) return;
    if (busy()) {
      ticking = true;
      realSetTimeout(tick, 1);
      return;
    }
    warped += next.due - t0;
  }
  if (next.repeat) next.due = Math.max(now(), next.due) + next.delay;
  else timers.delete(next.id);
  try {
    next.fn(...next.args);
  } catch (err) {
    realSetImmediate(() => {
      throw err;
    });
  }
  wake();
}

// ---- the handler -----------------------------------------------------------------------------
let handlerFn;
let initError;

async function loadHandler() {
  const root = process.env.LAMBDA_TASK_ROOT;
  const [file, name] = splitHandler(process.env._HANDLER ?? 'index.handler');
  const candidates = ['.mjs', '.js', '.cjs'].map((ext) => join(root, `${file}${ext}`));
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw Object.assign(new Error(`Cannot find module '${file}' in ${root}`), { name: 'Runtime.ImportModuleError' });
  const mod = await import(pathToFileURL(path).href);
  const fn = mod[name] ?? mod.default?.[name];
  if (typeof fn !== 'function') throw Object.assign(new Error(`${file}.${name} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  return fn;
}

function splitHandler(h) {
  const dot = h.lastIndexOf('.');
  return [h.slice(0, dot), h.slice(dot + 1)];
}

function errorShape(err) {
  const e = err instanceof Error ? err : new Error(String(err));
  return { errorType: e.name ?? 'Error', errorMessage: e.message, trace: String(e.stack ?? '').split('\n') };
}

process.on('message', async (msg) => {
  if (msg.type !== 'invoke') return;
  setClock(msg.virtualStartMs);
  running = true;
  wake();
  const started = now();
  const deadline = started + msg.timeoutMs;
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: msg.invokedFunctionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: msg.requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
  };
  // Lambda stops a run at its timeout: watch the simulated clock, which jumps with the timers.
  let timedOut = false;
  let watchdog;
  const watch = () => {
    if (now() <= deadline) {
      watchdog = realSetTimeout(watch, 5);
      return;
    }
    timedOut = true;
    process.send({
      type: 'result',
      id: msg.id,
      ok: false,
      timedOut: true,
      error: { errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${(msg.timeoutMs / 1000).toFixed(2)} seconds` },
      virtualDurationMs: now() - started,
      virtualEndMs: now(),
      maxRssKb: peakRssKb(),
    });
    // The environment is discarded, as Lambda discards a timed-out one.
    realSetTimeout(() => process.exit(0), 10);
  };
  watchdog = realSetTimeout(watch, 5);
  let reply;
  try {
    if (initError) throw initError;
    if (!handlerFn) handlerFn = await loadHandler();
    const value = await handlerFn(msg.event, context);
    reply = { ok: true, value: value === undefined ? null : value };
  } catch (err) {
    if (!handlerFn) initError = err;
    reply = { ok: false, error: errorShape(err) };
  }
  realClearTimeout(watchdog);
  if (timedOut) return;
  running = false;
  const payload = JSON.stringify(reply.ok ? reply.value : null);
  process.send({ type: 'result', id: msg.id, ...reply, ...(reply.ok ? { value: JSON.parse(payload) } : {}), virtualDurationMs: now() - started, virtualEndMs: now(), maxRssKb: peakRssKb() });
});

/**
 * This environment's peak resident memory (kB). Linux keeps getrusage's maxRSS across fork and exec, so
 * a runtime forked from a large rehearsal would report the rehearsal's size: VmHWM in /proc is the
 * high-water mark of this process's own memory.
 */
function peakRssKb() {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS;
}

process.send({ type: 'ready' });
