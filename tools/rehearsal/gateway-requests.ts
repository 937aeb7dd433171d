/**
 * What a request to the rehearsal's gateway asks, read from the request as the SDK wrote it: who signed
 * it (its SigV4 credential), when (its `x-amz-date`), and which API on which resources, in each
 * service's own protocol (DynamoDB JSON, SES Query and REST JSON, the Lambda Invoke path, S3
 * path-style), for IAM to decide on (`gateway.ts`).
 */
import { arn } from './assembly.ts';

/** One HTTP request as the gateway reads it: header names in lower case, the body read in full. */
export interface GatewayRequest {
  method: string;
  /** The path and query, as in the request line. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

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

/** The access key that signed a request and the service it was signed for, from its SigV4 credential. */
export function credentialOf(req: GatewayRequest): { accessKeyId: string; service: string } | undefined {
  const auth = String(req.headers.authorization ?? '');
  const cred = auth.match(/Credential=([^/]+)\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/);
  return cred ? { accessKeyId: cred[1]!, service: cred[2]! } : undefined;
}

/** SES v1 (Query protocol) and v2 (REST JSON) SendEmail: the sender's identity and the configuration set. */
export function sesCall(req: GatewayRequest, identities: string[]): ApiCall | undefined {
  const send = sesSendFields(req);
  if (!send) return undefined;
  const identity = identityOf(identities, send.source);
  const resources = [arn('ses', `identity/${identity ?? send.source.split('@')[1]}`)];
  if (send.configurationSet) resources.push(arn('ses', `configuration-set/${send.configurationSet}`));
  return { service: 'ses', action: 'ses:SendEmail', resources };
}

/** The deployed identity that covers an address: the address itself, else its domain. */
export function identityOf(ids: string[], address: string): string | undefined {
  return ids.find((i) => i.toLowerCase() === address.toLowerCase()) ?? ids.find((i) => i.toLowerCase() === address.split('@')[1]?.toLowerCase());
}

/** Lambda Invoke: the function it names, by name or ARN (`resolve`), else the ARN the name would have. */
export function lambdaCall(req: GatewayRequest, resolve: (name: string) => string | undefined): ApiCall | undefined {
  const m = req.url.match(/^\/2015-03-31\/functions\/([^/]+)\/invocations/);
  if (!m || req.method !== 'POST') return undefined;
  const name = decodeURIComponent(m[1]!);
  const fnArn = resolve(name) ?? arn('lambda', `function:${name}`);
  return { service: 'lambda', action: 'lambda:InvokeFunction', resources: [fnArn] };
}

/** S3, path-style (the SDK's choice for an IP endpoint): the object or bucket a request names. */
export function s3Call(req: GatewayRequest): ApiCall | undefined {
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
export function dynamodbCall(req: GatewayRequest): ApiCall | undefined {
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

/** The fields of an SES send (v2 REST JSON or v1 Query), or undefined for any other SES call. */
export function sesSendFields(req: GatewayRequest): Omit<SesSend, 'principal' | 'atMs' | 'messageId'> | undefined {
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
export function amzDate(s: string): number {
  const m = s.match(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : Date.now();
}
