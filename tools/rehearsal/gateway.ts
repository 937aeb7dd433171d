/**
 * The rehearsal's AWS endpoint. Every function's SDK sends here (`AWS_ENDPOINT_URL`); the gateway
 * reads who is calling from the request's SigV4 credential (each function has its own access key),
 * which API and which resources from the request itself, asks IAM (`iam.ts`) as AWS would, and then
 * either answers `AccessDeniedException` in that service's protocol or passes the call on: DynamoDB to
 * the embedded dynalite, SES to the embedded aws-ses-v2-local, Lambda to the rehearsal's own Lambda
 * service. An API the rehearsal does not provide is refused with a message that names it.
 *
 * A request reaches the gateway either over HTTP (its loopback listener, the `AWS_ENDPOINT_URL` of the
 * functions) or handed over whole (`answer`): the execution environments pass on the request their
 * SDK wrote, byte for byte, over their IPC channel (`lambda-runtime.mjs`), and both ways meet the
 * same IAM evaluation and the same services.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { arn } from './assembly.ts';
import { Iam, type PolicyDocument, type Principal } from './iam.ts';

/** What one call asks to do, on what. */
export interface ApiCall {
  service: string;
  /** `dynamodb:Query`, … */
  action: string;
  resources: string[];
}

export interface SesSend {
  principal: string;
  atMs: number;
  source: string;
  to: string[];
  subject: string;
  configurationSet?: string;
  tags: Record<string, string>;
  messageId: string;
}

export interface LambdaTarget {
  /** Runs an Invoke call. Event: accepted for later (202); RequestResponse: run now. */
  invoke(caller: Principal, functionArn: string, invocationType: string, payload: string, atMs: number): Promise<{ status: number; payload: string; functionError?: string }>;
  /** The ARN of a function named by name, partial or full ARN; undefined when none. */
  resolve(name: string): string | undefined;
}

export interface GatewayOptions {
  iam: Iam;
  principals: Map<string, Principal>;
  /** dynalite's request listener, called in-process. */
  dynamodb: (req: IncomingMessage, res: ServerResponse) => void;
  sesUrl: string;
  lambda: LambdaTarget;
  /** SES identities of the deployment (addresses and domains) and configuration sets, by name. */
  ses: { identities: string[]; configurationSets: string[] };
  /** The embedded S3 (s3rver) the objects go to. */
  s3Url?: string;
  /** The resource policy of a resource, where the template gives one (bucket, queue, topic policies). */
  resourcePolicy?: (resourceArn: string) => PolicyDocument | undefined;
  /** Called for every call, allowed or not, after IAM decided. */
  onCall?: (principal: Principal, call: ApiCall, allowed: boolean, atMs: number) => void;
  onSesSend?: (send: SesSend) => void;
}

/** One HTTP request as the gateway reads it: header names in lower case, the body read in full. */
export interface GatewayRequest {
  method: string;
  /** The path and query, as in the request line. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export class Gateway {
  private server?: Server;
  url = '';

  constructor(private readonly o: GatewayOptions) {}

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.answer({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) }).then((out) => {
          res.writeHead(out.status, out.headers);
          res.end(out.body);
        });
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** Answers one request, whichever way it came: IAM decides, then the service behind answers. Never rejects. */
  async answer(req: GatewayRequest): Promise<GatewayResponse> {
    try {
      return await this.handle(req);
    } catch (err) {
      return reply(500, { 'content-type': 'application/json' }, JSON.stringify({ __type: 'InternalFailure', message: `rehearsal gateway: ${(err as Error).message}` }));
    }
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private async handle(req: GatewayRequest): Promise<GatewayResponse> {
    const auth = String(req.headers.authorization ?? '');
    const cred = auth.match(/Credential=([^/]+)\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/);
    const principal = cred ? this.o.principals.get(cred[1]!) : undefined;
    if (!cred || !principal)
      return reply(
        403,
        { 'content-type': 'application/json', date: new Date().toUTCString() },
        JSON.stringify({ __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' }),
      );
    const atMs = amzDate(String(req.headers['x-amz-date'] ?? ''));
    // AWS SDKs correct their clock from a response's Date header: answer in the caller's simulated
    // time, or its later requests would be signed (and dated) in this machine's real time.
    const out = await this.decideAndAnswer(req, principal, cred[2]!, atMs);
    out.headers.date = new Date(atMs).toUTCString();
    return out;
  }

  private async decideAndAnswer(req: GatewayRequest, principal: Principal, service: string, atMs: number): Promise<GatewayResponse> {
    const body = req.body;
    const call =
      service === 'dynamodb' ? dynamodbCall(req) : service === 'ses' ? this.sesCall(req) : service === 'lambda' ? this.lambdaCall(req) : service === 's3' && this.o.s3Url ? s3Call(req) : undefined;
    if (!call) {
      return reply(501, { 'content-type': 'application/json' }, JSON.stringify({ __type: 'NotImplemented', message: `the rehearsal does not provide ${service} ${req.method} ${req.url}` }));
    }
    let allowed = true;
    let denied = '';
    for (const resource of call.resources) {
      const resourcePolicy = this.o.resourcePolicy?.(call.service === 's3' ? resource.replace(/\/.*$/, '') : resource);
      // Every call the SDK makes goes over TLS: a policy's aws:SecureTransport deny does not apply.
      if (!(await this.o.iam.authorize(principal, call.action, resource, { context: SECURE_TRANSPORT, ...(resourcePolicy ? { resourcePolicy } : {}) }))) {
        allowed = false;
        denied ||= resource;
      }
    }
    this.o.onCall?.(principal, call, allowed, atMs);
    if (!allowed) return accessDenied(call.service, Iam.deniedMessage(principal, call.action, denied));
    switch (call.service) {
      case 'dynamodb':
        return forwardInProcess(this.o.dynamodb, req);
      case 'ses':
        return this.sendSes(principal, req, atMs);
      case 's3': {
        // s3rver checks signatures with its own key: pass the call on unsigned (IAM has decided above).
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'authorization' && k !== 'x-amz-security-token'));
        const out = await forwardHttp(this.o.s3Url!, { ...req, headers });
        return reply(out.status, out.headers, out.body);
      }
      default: {
        const name = decodeURIComponent(req.url.split('/')[3]!);
        const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
        const out = await this.o.lambda.invoke(principal, this.o.lambda.resolve(name)!, type, body.toString('utf8'), atMs);
        return reply(out.status, { 'content-type': 'application/json', ...(out.functionError ? { 'x-amz-function-error': out.functionError } : {}) }, out.payload);
      }
    }
  }

  /** SES v1 (Query protocol) and v2 (REST JSON) SendEmail: the sender's identity and the configuration set. */
  private sesCall(req: GatewayRequest): ApiCall | undefined {
    const send = sesSendFields(req);
    if (!send) return undefined;
    const identity = this.identityOf(send.source);
    const resources = [arn('ses', `identity/${identity ?? send.source.split('@')[1]}`)];
    if (send.configurationSet) resources.push(arn('ses', `configuration-set/${send.configurationSet}`));
    return { service: 'ses', action: 'ses:SendEmail', resources };
  }

  /** The deployed identity that covers an address: the address itself, else its domain. */
  private identityOf(address: string): string | undefined {
    const ids = this.o.ses.identities;
    return ids.find((i) => i.toLowerCase() === address.toLowerCase()) ?? ids.find((i) => i.toLowerCase() === address.split('@')[1]?.toLowerCase());
  }

  private async sendSes(principal: Principal, req: GatewayRequest, atMs: number): Promise<GatewayResponse> {
    const send = sesSendFields(req)!;
    // SES refuses what the account has not set up, as the real service does.
    if (!this.identityOf(send.source)) return sesError(req, 400, 'MessageRejected', `Email address is not verified. The following identities failed the check in region: ${send.source}`);
    if (send.configurationSet && !this.o.ses.configurationSets.includes(send.configurationSet)) {
      return sesError(req, 400, 'ConfigurationSetDoesNotExist', `Configuration set <${send.configurationSet}> does not exist.`);
    }
    const out = await forwardHttp(this.o.sesUrl, req);
    const text = out.body.toString('utf8');
    const messageId = text.match(/<MessageId>([^<]+)<\/MessageId>/)?.[1] ?? (out.status === 200 ? (JSON.parse(text) as { MessageId?: string }).MessageId : undefined);
    if (out.status === 200 && messageId) this.o.onSesSend?.({ principal: principal.name, atMs, messageId, ...send });
    return reply(out.status, out.headers, out.body);
  }

  private lambdaCall(req: GatewayRequest): ApiCall | undefined {
    const m = req.url.match(/^\/2015-03-31\/functions\/([^/]+)\/invocations/);
    if (!m || req.method !== 'POST') return undefined;
    const name = decodeURIComponent(m[1]!);
    const fnArn = this.o.lambda.resolve(name) ?? arn('lambda', `function:${name}`);
    return { service: 'lambda', action: 'lambda:InvokeFunction', resources: [fnArn] };
  }
}

/** S3, path-style (the SDK's choice for an IP endpoint): the object or bucket a request names. */
function s3Call(req: GatewayRequest): ApiCall | undefined {
  const url = new URL(req.url, 'http://s3');
  const [bucket, ...rest] = url.pathname.replace(/^\//, '').split('/');
  if (!bucket) return undefined;
  const key = decodeURIComponent(rest.join('/'));
  const object = `arn:aws:s3:::${bucket}/${key}`;
  const m = req.method;
  if (key && m === 'PUT') return { service: 's3', action: 's3:PutObject', resources: [object] };
  if (key && (m === 'GET' || m === 'HEAD')) return { service: 's3', action: 's3:GetObject', resources: [object] };
  if (key && m === 'DELETE') return { service: 's3', action: 's3:DeleteObject', resources: [object] };
  if (!key && m === 'GET') return { service: 's3', action: 's3:ListBucket', resources: [`arn:aws:s3:::${bucket}`] };
  return undefined;
}

/** DynamoDB (JSON 1.0): the tables and indexes a request names, each checked. */
function dynamodbCall(req: GatewayRequest): ApiCall | undefined {
  const op = String(req.headers['x-amz-target'] ?? '').split('.')[1];
  if (!op) return undefined;
  const input = JSON.parse(req.body.toString('utf8') || '{}') as {
    TableName?: string;
    IndexName?: string;
    RequestItems?: Record<string, unknown>;
    TransactItems?: Record<string, { TableName: string }>[];
  };
  const table = (name: string) => arn('dynamodb', `table/${name}`);
  let resources: string[];
  if (input.RequestItems) resources = Object.keys(input.RequestItems).map(table);
  else if (input.TransactItems) resources = [...new Set(input.TransactItems.map((t) => Object.values(t)[0]!.TableName))].map(table);
  else if (input.TableName) resources = [input.IndexName ? `${table(input.TableName)}/index/${input.IndexName}` : table(input.TableName)];
  else resources = ['*'];
  return { service: 'dynamodb', action: `dynamodb:${op}`, resources };
}

function sesSendFields(req: GatewayRequest): Omit<SesSend, 'principal' | 'atMs' | 'messageId'> | undefined {
  const body = req.body;
  if (req.url.startsWith('/v2/email/outbound-emails')) {
    const v2 = JSON.parse(body.toString('utf8')) as {
      FromEmailAddress: string;
      Destination?: { ToAddresses?: string[] };
      Content?: { Simple?: { Subject?: { Data?: string } } };
      ConfigurationSetName?: string;
      EmailTags?: { Name: string; Value: string }[];
    };
    return {
      source: addressOf(v2.FromEmailAddress),
      to: v2.Destination?.ToAddresses ?? [],
      subject: v2.Content?.Simple?.Subject?.Data ?? '',
      ...(v2.ConfigurationSetName ? { configurationSet: v2.ConfigurationSetName } : {}),
      tags: Object.fromEntries((v2.EmailTags ?? []).map((t) => [t.Name, t.Value])),
    };
  }
  const form = new URLSearchParams(body.toString('utf8'));
  if (form.get('Action') !== 'SendEmail' && form.get('Action') !== 'SendRawEmail') return undefined;
  const tags: Record<string, string> = {};
  for (let i = 1; form.has(`Tags.member.${i}.Name`); i++) tags[form.get(`Tags.member.${i}.Name`)!] = form.get(`Tags.member.${i}.Value`) ?? '';
  const to: string[] = [];
  for (let i = 1; form.has(`Destination.ToAddresses.member.${i}`); i++) to.push(form.get(`Destination.ToAddresses.member.${i}`)!);
  return {
    source: addressOf(form.get('Source') ?? ''),
    to,
    subject: form.get('Message.Subject.Data') ?? '',
    ...(form.get('ConfigurationSetName') ? { configurationSet: form.get('ConfigurationSetName')! } : {}),
    tags,
  };
}

/** `=?UTF-8?B?…?= <noreply@example.com>` → `noreply@example.com`. */
const addressOf = (mailbox: string) => mailbox.match(/<([^>]+)>\s*$/)?.[1] ?? mailbox.trim();

/** `20240229T163000Z` → epoch ms. */
function amzDate(s: string): number {
  const m = s.match(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : Date.now();
}

const SECURE_TRANSPORT = Object.freeze({ 'aws:SecureTransport': 'true' });

function accessDenied(service: string, message: string): GatewayResponse {
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

function sesError(req: GatewayRequest, status: number, code: string, message: string): GatewayResponse {
  if (req.url.startsWith('/v2/')) return reply(status, { 'content-type': 'application/json', 'x-amzn-errortype': code }, JSON.stringify({ message }));
  return reply(
    status,
    { 'content-type': 'text/xml' },
    `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>rehearsal</RequestId></ErrorResponse>`,
  );
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A response with the framing headers of the service behind dropped (the gateway frames its own). */
function reply(status: number, headers: Record<string, string | string[] | number | undefined>, body: string | Buffer): GatewayResponse {
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

function forwardHttp(base: string, req: GatewayRequest): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
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

export type { PolicyDocument };
