/**
 * What the rehearsal's gateway answers: its own answers in each service's protocol (access denied,
 * SES's refusals), and the answers of the services behind it, collected from an in-process listener
 * (dynalite) or over HTTP, all framed by the gateway itself.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import type { GatewayRequest } from './gateway-requests.ts';

export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** The caller's access key is not one of the functions'. */
export function invalidToken(): GatewayResponse {
  return reply(
    403,
    { 'content-type': 'application/json', date: new Date().toUTCString() },
    JSON.stringify({ __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' }),
  );
}

/** An API the rehearsal does not provide, named. */
export function notImplemented(service: string, req: GatewayRequest): GatewayResponse {
  return reply(501, { 'content-type': 'application/json' }, JSON.stringify({ __type: 'NotImplemented', message: `the rehearsal does not provide ${service} ${req.method} ${req.url}` }));
}

/** The gateway itself failed on a request. */
export function internalFailure(err: Error): GatewayResponse {
  return reply(500, { 'content-type': 'application/json' }, JSON.stringify({ __type: 'InternalFailure', message: `rehearsal gateway: ${err.message}` }));
}

/** `AccessDeniedException` as each service's SDK reads it: DynamoDB JSON, S3 XML, SES Query XML, else REST JSON. */
export function accessDenied(service: string, message: string): GatewayResponse {
  if (service === 'dynamodb') {
    return reply(
      400,
      { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'AccessDeniedException' },
      JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', Message: message }),
    );
  }
  if (service === 's3') {
    return reply(
      403,
      { 'content-type': 'application/xml' },
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${xml(message)}</Message><RequestId>rehearsal</RequestId></Error>`,
    );
  }
  if (service === 'ses') {
    return reply(
      403,
      { 'content-type': 'text/xml' },
      `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${xml(message)}</Message></Error><RequestId>rehearsal</RequestId></ErrorResponse>`,
    );
  }
  return reply(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' }, JSON.stringify({ Type: 'User', Message: message, message }));
}

/** An SES refusal in the protocol of the request (v2 REST JSON or v1 Query XML). */
export function sesError(req: GatewayRequest, status: number, code: string, message: string): GatewayResponse {
  if (req.url.startsWith('/v2/')) return reply(status, { 'content-type': 'application/json', 'x-amzn-errortype': code }, JSON.stringify({ message }));
  return reply(
    status,
    { 'content-type': 'text/xml' },
    `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>rehearsal</RequestId></ErrorResponse>`,
  );
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A response with the framing headers of the service behind dropped (the gateway frames its own). */
export function reply(status: number, headers: Record<string, string | string[] | number | undefined>, body: string | Buffer): GatewayResponse {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (v === undefined || name === 'content-length' || name === 'transfer-encoding' || name === 'connection' || name === 'keep-alive' || name === 'date') continue;
    out[name] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  out['content-length'] = String(bytes.length);
  return { status, headers: out, body: bytes };
}

/** What an in-process listener writes to its response, collected (dynalite uses statusCode, setHeader and end). */
class CollectedResponse {
  statusCode = 200;
  headersSent = false;
  finished = false;
  private readonly headers: Record<string, string | string[] | number> = {};
  private readonly chunks: Buffer[] = [];

  constructor(private readonly done: (r: GatewayResponse) => void) {}

  setHeader(name: string, value: string | string[] | number): this {
    this.headers[name.toLowerCase()] = value;
    return this;
  }
  getHeader(name: string): string | string[] | number | undefined {
    return this.headers[name.toLowerCase()];
  }
  removeHeader(name: string): void {
    delete this.headers[name.toLowerCase()];
  }
  writeHead(status: number, headers?: Record<string, string | string[] | number>): this {
    this.statusCode = status;
    for (const [k, v] of Object.entries(headers ?? {})) this.setHeader(k, v);
    this.headersSent = true;
    return this;
  }
  write(chunk: string | Buffer): boolean {
    this.headersSent = true;
    this.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    return true;
  }
  end(chunk?: string | Buffer): this {
    if (this.finished) return this;
    if (chunk !== undefined) this.write(chunk);
    this.finished = true;
    this.done(reply(this.statusCode, this.headers, Buffer.concat(this.chunks)));
    return this;
  }
}

/** Hands a request whose body was already read to an in-process listener (dynalite reads `data`/`end`), and collects its answer. */
export function forwardInProcess(listener: (req: IncomingMessage, res: ServerResponse) => void, req: GatewayRequest): Promise<GatewayResponse> {
  return new Promise((resolve) => {
    const replay = Object.assign(new EventEmitter(), { headers: req.headers, method: req.method, url: req.url }) as unknown as IncomingMessage;
    listener(replay, new CollectedResponse(resolve) as unknown as ServerResponse);
    replay.emit('data', req.body);
    replay.emit('end');
  });
}

/** Passes a request on to a service over HTTP and reads its answer in full. */
export function forwardHttp(base: string, req: GatewayRequest): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const url = new URL(req.url, base);
  return new Promise((resolve, reject) => {
    const out = httpRequest(url, { method: req.method, headers: { ...req.headers, host: url.host, 'content-length': String(req.body.length) } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode ?? 500, headers: r.headers, body: Buffer.concat(chunks) }));
    });
    out.on('error', reject);
    out.end(req.body);
  });
}
