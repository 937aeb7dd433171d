// The way an execution environment of `renewal rehearse` hands its AWS calls to the gateway without
// a loopback connection. The function's SDK builds, signs and writes its request as on Lambda: its
// HTTP handler calls `http.request` and writes the body. Here `http.request`, for the gateway's host
// and port only, returns a request that collects what the SDK wrote (method, path, headers as a server
// reads them, the body's bytes) and hands that whole to `exchange` (the IPC channel to the rehearsal);
// the answer comes back as the response the SDK reads. What the gateway sees, and what IAM decides
// on, is the request the SDK wrote, byte for byte; only the socket is gone.
//
// Plain JavaScript, as `lambda-runtime.mjs` that loads it.
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { Readable, Writable } from 'node:stream';

/**
 * Routes `httpModule.request` calls for `host:port` to `exchange(request) → Promise<response>`, where
 * request is `{ method, url, headers, body }` (header names in lower case, body a Buffer) and response
 * `{ status, headers, body }`. Any other request goes out as before. Returns the function that undoes it.
 */
export function routeToGateway(httpModule, { host, port, exchange }) {
  const original = httpModule.request;
  httpModule.request = function request(...args) {
    const { options, callback } = requestArgs(args);
    if (!options || hostOf(options) !== host || String(options.port ?? 80) !== String(port)) return original.apply(this, args);
    return new GatewayRequest(options, callback, exchange);
  };
  return () => {
    httpModule.request = original;
  };
}

/** `request(options[, cb])`, `request(url[, options][, cb])`: the options, with the URL's parts, and the callback. */
function requestArgs(args) {
  let [first, second, third] = args;
  if (typeof first === 'string' || first instanceof URL) {
    const url = new URL(first);
    const fromUrl = { protocol: url.protocol, hostname: url.hostname, port: url.port || undefined, path: `${url.pathname}${url.search}` };
    if (typeof second === 'function') return { options: fromUrl, callback: second };
    return { options: { ...fromUrl, ...second }, callback: third };
  }
  if (typeof first === 'object' && first !== null) return { options: first, callback: typeof second === 'function' ? second : undefined };
  return {};
}

const hostOf = (o) => {
  const h = o.hostname ?? o.host ?? 'localhost';
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
};

/**
 * The headers as the receiving server reads them: names in lower case, a repeated value joined, and
 * what Node's client adds itself (`host`, `connection` for an agent that keeps connections alive).
 */
export function headersAsReceived(options) {
  const out = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const v = Array.isArray(value) ? value.join(', ') : String(value);
    out[key] = key in out ? `${out[key]}, ${v}` : v;
  }
  if (!('host' in out)) {
    const port = String(options.port ?? 80);
    out.host = port === '80' ? hostOf(options) : `${hostOf(options)}:${port}`;
  }
  if (!('connection' in out) && options.agent?.keepAlive) out.connection = 'keep-alive';
  return out;
}

/** The socket a request reports: already connected; its options (keep-alive, time-outs) have nothing to act on. */
class HandedSocket extends EventEmitter {
  connecting = false;
  destroyed = false;
  setKeepAlive() {
    return this;
  }
  setNoDelay() {
    return this;
  }
  setTimeout() {
    return this;
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  destroy() {
    this.destroyed = true;
    return this;
  }
}

/** A request whose bytes are handed over whole when it ends, as `http.ClientRequest` is seen by an SDK. */
class GatewayRequest extends Writable {
  constructor(options, callback, exchange) {
    // It ends when its answer has been read, not when the SDK has written the body.
    super({ emitClose: false, autoDestroy: false });
    this.options = options;
    this.exchange = exchange;
    this.method = (options.method ?? 'GET').toUpperCase();
    this.path = options.path ?? '/';
    this.chunks = [];
    this.socket = undefined;
    this.answered = false;
    this.closeEmitted = false;
    this.reused = false;
    if (callback) this.once('response', callback);
    const socket = new HandedSocket();
    process.nextTick(() => {
      if (this.destroyed) return;
      this.socket = socket;
      this.emit('socket', socket);
    });
  }

  setTimeout() {
    return this;
  }
  setNoDelay() {}
  setSocketKeepAlive() {}
  setHeader(name, value) {
    this.options = { ...this.options, headers: { ...this.options.headers, [name]: value } };
  }
  getHeader(name) {
    const key = Object.keys(this.options.headers ?? {}).find((k) => k.toLowerCase() === String(name).toLowerCase());
    return key === undefined ? undefined : this.options.headers[key];
  }
  abort() {
    this.destroy();
  }

  _write(chunk, encoding, done) {
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, encoding));
    done();
  }

  _final(done) {
    done();
    const request = { method: this.method, url: this.path, headers: headersAsReceived(this.options), body: Buffer.concat(this.chunks) };
    this.exchange(request).then(
      (response) => this.respond(response),
      (err) => this.fail(Object.assign(err instanceof Error ? err : new Error(String(err)), { code: err?.code ?? 'ECONNRESET' })),
    );
  }

  respond(response) {
    if (this.destroyed) return;
    this.answered = true;
    const res = new Readable({ read() {} });
    res.statusCode = response.status;
    res.statusMessage = STATUS_CODES[response.status] ?? '';
    res.headers = { ...response.headers };
    res.rawHeaders = Object.entries(res.headers).flat();
    res.httpVersion = '1.1';
    res.complete = false;
    res.socket = this.socket;
    res.push(toBuffer(response.body));
    res.push(null);
    res.once('end', () => {
      res.complete = true;
      this.closed();
    });
    this.emit('response', res);
    // Nobody reads it (a response whose body is not wanted): it still ends.
    if (this.listenerCount('response') === 0) res.resume();
  }

  fail(err) {
    if (this.destroyed) return;
    this.destroy(err);
  }

  _destroy(err, done) {
    // Destroyed before any answer: as a socket hung up (what Node's client reports).
    const error = err ?? (this.answered ? null : Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    done(error);
    process.nextTick(() => this.closed());
  }

  closed() {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.emit('close');
  }
}

/** A body as it crosses a structured-clone channel: a Buffer, a Uint8Array, or a string. */
export function toBuffer(body) {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return Buffer.alloc(0);
}
