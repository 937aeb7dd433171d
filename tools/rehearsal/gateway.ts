/**
 * The rehearsal's AWS endpoint. Every function's SDK sends here (`AWS_ENDPOINT_URL`); the gateway
 * reads who is calling from the request's SigV4 credential (each function has its own access key),
 * which API and which resources from the request itself, asks IAM (`iam.ts`) as AWS would, and then
 * either answers `AccessDeniedException` in that service's protocol or passes the call on: DynamoDB to
 * the embedded dynalite, SES to the embedded aws-ses-v2-local, Lambda to the rehearsal's own Lambda
 * service. An API the rehearsal does not provide is refused with a message that names it.
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

export class Gateway {
  private server?: Server;
  url = '';

  constructor(private readonly o: GatewayOptions) {}

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.handle(req, Buffer.concat(chunks), res).catch((err: Error) => {
          if (!res.headersSent) reply(res, 500, { 'content-type': 'application/json' }, JSON.stringify({ __type: 'InternalFailure', message: `rehearsal gateway: ${err.message}` }));
        });
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const auth = String(req.headers.authorization ?? '');
    const cred = auth.match(/Credential=([^/]+)\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/);
    const principal = cred ? this.o.principals.get(cred[1]!) : undefined;
    if (!cred || !principal)
      return reply(res, 403, { 'content-type': 'application/json' }, JSON.stringify({ __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' }));
    const atMs = amzDate(String(req.headers['x-amz-date'] ?? ''));
    // AWS SDKs correct their clock from a response's Date header: answer in the caller's simulated
    // time, or its later requests would be signed (and dated) in this machine's real time.
    res.setHeader('date', new Date(atMs).toUTCString());
    const service = cred[2]!;
    const call =
      service === 'dynamodb'
        ? dynamodbCall(req, body)
        : service === 'ses'
          ? this.sesCall(req, body)
          : service === 'lambda'
            ? this.lambdaCall(req)
            : service === 's3' && this.o.s3Url
              ? s3Call(req)
              : undefined;
    if (!call) {
      return reply(res, 501, { 'content-type': 'application/json' }, JSON.stringify({ __type: 'NotImplemented', message: `the rehearsal does not provide ${service} ${req.method} ${req.url}` }));
    }
    let allowed = true;
    let denied = '';
    for (const resource of call.resources) {
      const resourcePolicy = this.o.resourcePolicy?.(call.service === 's3' ? resource.replace(/\/.*$/, '') : resource);
      // Every call the SDK makes goes over TLS: a policy's aws:SecureTransport deny does not apply.
      if (!(await this.o.iam.authorize(principal, call.action, resource, { context: { 'aws:SecureTransport': 'true' }, ...(resourcePolicy ? { resourcePolicy } : {}) }))) {
        allowed = false;
        denied ||= resource;
      }
    }
    this.o.onCall?.(principal, call, allowed, atMs);
    if (!allowed) return accessDenied(res, call.service, Iam.deniedMessage(principal, call.action, denied));
    switch (call.service) {
      case 'dynamodb':
        return forwardInProcess(this.o.dynamodb, req, body, res);
      case 'ses':
        return this.sendSes(principal, req, body, res, atMs);
      case 's3': {
        // s3rver checks signatures with its own key: pass the call on unsigned (IAM has decided above).
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'authorization' && k !== 'x-amz-security-token'));
        const out = await forwardHttp(this.o.s3Url!, Object.assign(Object.create(req) as IncomingMessage, { headers }), body);
        return reply(res, out.status, out.headers, out.body);
      }
      case 'lambda': {
        const name = decodeURIComponent(req.url!.split('/')[3]!);
        const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
        const out = await this.o.lambda.invoke(principal, this.o.lambda.resolve(name)!, type, body.toString('utf8'), atMs);
        return reply(res, out.status, { 'content-type': 'application/json', ...(out.functionError ? { 'x-amz-function-error': out.functionError } : {}) }, out.payload);
      }
    }
  }

  /** SES v1 (Query protocol) and v2 (REST JSON) SendEmail: the sender's identity and the configuration set. */
  private sesCall(req: IncomingMessage, body: Buffer): ApiCall | undefined {
    const send = sesSendFields(req, body);
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

  private async sendSes(principal: Principal, req: IncomingMessage, body: Buffer, res: ServerResponse, atMs: number): Promise<void> {
    const send = sesSendFields(req, body)!;
    // SES refuses what the account has not set up, as the real service does.
    if (!this.identityOf(send.source)) return sesError(res, req, 400, 'MessageRejected', `Email address is not verified. The following identities failed the check in region: ${send.source}`);
    if (send.configurationSet && !this.o.ses.configurationSets.includes(send.configurationSet)) {
      return sesError(res, req, 400, 'ConfigurationSetDoesNotExist', `Configuration set <${send.configurationSet}> does not exist.`);
    }
    const out = await forwardHttp(this.o.sesUrl, req, body);
    const text = out.body.toString('utf8');
    const messageId = text.match(/<MessageId>([^<]+)<\/MessageId>/)?.[1] ?? (out.status === 200 ? (JSON.parse(text) as { MessageId?: string }).MessageId : undefined);
    if (out.status === 200 && messageId) this.o.onSesSend?.({ principal: principal.name, atMs, messageId, ...send });
    reply(res, out.status, out.headers, out.body);
  }

  private lambdaCall(req: IncomingMessage): ApiCall | undefined {
    const m = req.url?.match(/^\/2015-03-31\/functions\/([^/]+)\/invocations/);
    if (!m || req.method !== 'POST') return undefined;
    const name = decodeURIComponent(m[1]!);
    const fnArn = this.o.lambda.resolve(name) ?? arn('lambda', `function:${name}`);
    return { service: 'lambda', action: 'lambda:InvokeFunction', resources: [fnArn] };
  }
}

/** S3, path-style (the SDK's choice for an IP endpoint): the object or bucket a request names. */
function s3Call(req: IncomingMessage): ApiCall | undefined {
  const url = new URL(req.url!, 'http://s3');
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
function dynamodbCall(req: IncomingMessage, body: Buffer): ApiCall | undefined {
  const op = String(req.headers['x-amz-target'] ?? '').split('.')[1];
  if (!op) return undefined;
  const input = JSON.parse(body.toString('utf8') || '{}') as {
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

function sesSendFields(req: IncomingMessage, body: Buffer): Omit<SesSend, 'principal' | 'atMs' | 'messageId'> | undefined {
  if (req.url?.startsWith('/v2/email/outbound-emails')) {
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

function accessDenied(res: ServerResponse, service: string, message: string): void {
  if (service === 'dynamodb') {
    return reply(
      res,
      400,
      { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'AccessDeniedException' },
      JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', Message: message }),
    );
  }
  if (service === 's3') {
    return reply(
      res,
      403,
      { 'content-type': 'application/xml' },
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${xml(message)}</Message><RequestId>rehearsal</RequestId></Error>`,
    );
  }
  if (service === 'ses') {
    return reply(
      res,
      403,
      { 'content-type': 'text/xml' },
      `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${xml(message)}</Message></Error><RequestId>rehearsal</RequestId></ErrorResponse>`,
    );
  }
  reply(res, 403, { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' }, JSON.stringify({ Type: 'User', Message: message, message }));
}

function sesError(res: ServerResponse, req: IncomingMessage, status: number, code: string, message: string): void {
  if (req.url?.startsWith('/v2/')) return reply(res, status, { 'content-type': 'application/json', 'x-amzn-errortype': code }, JSON.stringify({ message }));
  reply(
    res,
    status,
    { 'content-type': 'text/xml' },
    `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>rehearsal</RequestId></ErrorResponse>`,
  );
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function reply(res: ServerResponse, status: number, headers: Record<string, string | string[] | undefined>, body: string | Buffer): void {
  const clean = Object.fromEntries(Object.entries(headers).filter(([k, v]) => v !== undefined && !['content-length', 'transfer-encoding', 'connection', 'date'].includes(k.toLowerCase()))) as Record<
    string,
    string
  >;
  res.writeHead(status, { ...clean, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Hands a request whose body was already read to an in-process listener (dynalite reads 'data'/'end'). */
function forwardInProcess(listener: (req: IncomingMessage, res: ServerResponse) => void, req: IncomingMessage, body: Buffer, res: ServerResponse): void {
  const replay = Object.assign(new EventEmitter(), { headers: req.headers, method: req.method, url: req.url }) as unknown as IncomingMessage;
  listener(replay, res);
  replay.emit('data', body);
  replay.emit('end');
}

function forwardHttp(base: string, req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const url = new URL(req.url!, base);
  return new Promise((resolve, reject) => {
    const out = httpRequest(url, { method: req.method, headers: { ...req.headers, host: url.host, 'content-length': String(body.length) } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode ?? 500, headers: r.headers, body: Buffer.concat(chunks) }));
    });
    out.on('error', reject);
    out.end(body);
  });
}

export type { PolicyDocument };
