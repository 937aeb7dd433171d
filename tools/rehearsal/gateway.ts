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
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accessDenied, forwardHttp, forwardInProcess, internalFailure, invalidToken, notImplemented, reply, sesError, type GatewayResponse } from './gateway-answers.ts';
import { amzDate, credentialOf, dynamodbCall, identityOf, lambdaCall, s3Call, sesCall, sesSendFields, type ApiCall, type GatewayRequest, type SesSend } from './gateway-requests.ts';
import { Iam, type PolicyDocument, type Principal } from './iam.ts';

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
      return internalFailure(err as Error);
    }
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private async handle(req: GatewayRequest): Promise<GatewayResponse> {
    const cred = credentialOf(req);
    const principal = cred ? this.o.principals.get(cred.accessKeyId) : undefined;
    if (!cred || !principal) return invalidToken();
    const atMs = amzDate(String(req.headers['x-amz-date'] ?? ''));
    // AWS SDKs correct their clock from a response's Date header: answer in the caller's simulated
    // time, or its later requests would be signed (and dated) in this machine's real time.
    const out = await this.decideAndAnswer(req, principal, cred.service, atMs);
    out.headers.date = new Date(atMs).toUTCString();
    return out;
  }

  private async decideAndAnswer(req: GatewayRequest, principal: Principal, service: string, atMs: number): Promise<GatewayResponse> {
    const body = req.body;
    const call = this.callOf(req, service);
    if (!call) return notImplemented(service, req);
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

  /** Which API on what, read in the protocol of the service the request was signed for; undefined for one the rehearsal does not provide. */
  private callOf(req: GatewayRequest, service: string): ApiCall | undefined {
    if (service === 'dynamodb') return dynamodbCall(req);
    if (service === 'ses') return sesCall(req, this.o.ses.identities);
    if (service === 'lambda') return lambdaCall(req, (name) => this.o.lambda.resolve(name));
    if (service === 's3' && this.o.s3Url) return s3Call(req);
    return undefined;
  }

  private async sendSes(principal: Principal, req: GatewayRequest, atMs: number): Promise<GatewayResponse> {
    const send = sesSendFields(req)!;
    // SES refuses what the account has not set up, as the real service does.
    if (!identityOf(this.o.ses.identities, send.source)) {
      return sesError(req, 400, 'MessageRejected', `Email address is not verified. The following identities failed the check in region: ${send.source}`);
    }
    if (send.configurationSet && !this.o.ses.configurationSets.includes(send.configurationSet)) {
      return sesError(req, 400, 'ConfigurationSetDoesNotExist', `Configuration set <${send.configurationSet}> does not exist.`);
    }
    const out = await forwardHttp(this.o.sesUrl, req);
    const text = out.body.toString('utf8');
    const messageId = text.match(/<MessageId>([^<]+)<\/MessageId>/)?.[1] ?? (out.status === 200 ? (JSON.parse(text) as { MessageId?: string }).MessageId : undefined);
    if (out.status === 200 && messageId) this.o.onSesSend?.({ principal: principal.name, atMs, messageId, ...send });
    return reply(out.status, out.headers, out.body);
  }
}

const SECURE_TRANSPORT = Object.freeze({ 'aws:SecureTransport': 'true' });

export type { PolicyDocument };
