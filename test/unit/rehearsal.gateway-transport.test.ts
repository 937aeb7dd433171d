/**
 * The hand-over of a function's AWS calls to the rehearsal's gateway without a loopback connection
 * (tools/rehearsal/gateway-transport.mjs): a real SDK client writes its request as it would over HTTP,
 * and what is handed over is that request, byte for byte; the gateway decides and answers it as it does
 * a request over HTTP.
 */
import http, { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dynamoListener } from '#tools/local/services.ts';
import type { Deployment } from '#tools/rehearsal/assembly.ts';
import { Gateway } from '#tools/rehearsal/gateway.ts';
import { forwardInProcess, type GatewayResponse } from '#tools/rehearsal/gateway-answers.ts';
import type { ApiCall, GatewayRequest } from '#tools/rehearsal/gateway-requests.ts';
import { routeToGateway } from '#tools/rehearsal/gateway-transport.mjs';
import { Iam, type Principal } from '#tools/rehearsal/iam.ts';

const TABLE = 'Orders';
const TABLE_ARN = `arn:aws:dynamodb:ap-southeast-1:123456789012:table/${TABLE}`;
/** Where no server listens: a call that reached the network would fail. */
const HANDED_PORT = 9;

const client = (endpoint: string, accessKeyId = 'ASIATEST') =>
  new DynamoDBClient({ endpoint, region: 'ap-southeast-1', maxAttempts: 1, credentials: { accessKeyId, secretAccessKey: 'rehearsal', sessionToken: 'rehearsal' } });

const commands = () => [
  new CreateTableCommand({
    TableName: TABLE,
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  }),
  new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'P0001' }, sk: { S: 'O-1 商品' }, fen: { N: '12900' } } }),
  new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'P0001' }, sk: { S: 'O-1 商品' } } }),
  new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'P0001' } } }),
];

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function read(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** A request as compared: every header and the body's bytes. */
const comparable = (r: GatewayRequest) => ({ method: r.method, url: r.url, headers: r.headers, body: r.body.toString('hex') });

/** The instant and the invocation ids the SDK signs, fixed: two clients then sign identical requests identically. */
function fixSigningInputs() {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2024-02-29T08:30:00Z'));
  let n = 0;
  const spy = vi.spyOn(globalThis.crypto, 'randomUUID').mockImplementation(() => `00000000-0000-4000-8000-${String(++n % 4).padStart(12, '0')}` as `${string}-${string}-${string}-${string}-${string}`);
  undo.push(() => spy.mockRestore());
  return () => (n = 0);
}

const undo: (() => void)[] = [];
afterEach(() => {
  vi.useRealTimers();
  while (undo.length) undo.pop()!();
});

describe('the request an SDK hands over', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('is the request it sends over HTTP, byte for byte, and its answer reads the same', async () => {
    // Both clients sign at the same instant with the same invocation ids, so their signatures must agree too.
    const restartIds = fixSigningInputs();
    const overHttp: GatewayRequest[] = [];
    const dynaliteA = dynamoListener();
    const server = createServer((req, res) => {
      void read(req).then((body) => {
        const request = { method: req.method!, url: req.url!, headers: req.headers, body };
        overHttp.push(request);
        void forwardInProcess(dynaliteA, request).then((out) => {
          // Dated as the gateway dates its answers (the SDK corrects its clock from it).
          res.writeHead(out.status, { ...out.headers, date: new Date().toUTCString() });
          res.end(out.body);
        });
      });
    });
    servers.push(server);
    const url = await listen(server);
    const handed: GatewayRequest[] = [];
    const dynaliteB = dynamoListener();
    const port = new URL(url).port;
    undo.push(
      routeToGateway(http, {
        host: '127.0.0.1',
        port: HANDED_PORT,
        exchange: (request: GatewayRequest) => {
          handed.push(request);
          return forwardInProcess(dynaliteB, request).then((out) => ({ ...out, headers: { ...out.headers, date: new Date().toUTCString() } }));
        },
      }),
    );
    const a = client(url);
    const b = client(`http://127.0.0.1:${HANDED_PORT}`);
    const outA: unknown[] = [];
    const outB: unknown[] = [];
    for (const [ca, cb] of commands().map((c, i) => [c, commands()[i]!] as const)) {
      restartIds();
      outA.push(strip(await a.send(ca as never)));
      restartIds();
      outB.push(strip(await b.send(cb as never)));
    }
    expect(handed).toHaveLength(4);
    expect(overHttp).toHaveLength(4);
    // The host header names the endpoint each client was given; everything else is the same bytes.
    expect(handed.map((r) => r.headers.host)).toEqual(Array(4).fill(`127.0.0.1:${HANDED_PORT}`));
    // (The host is signed, so the signatures differ with it: the next test compares them on one endpoint.)
    const sameHost = (r: GatewayRequest) => comparable({ ...r, headers: { ...r.headers, host: 'endpoint', authorization: 'signed' } });
    expect(handed.map(sameHost)).toEqual(overHttp.map(sameHost));
    expect(handed[1]!.headers['x-amz-target']).toBe('DynamoDB_20120810.PutItem');
    expect(JSON.parse(handed[1]!.body.toString('utf8'))).toEqual({ TableName: TABLE, Item: { pk: { S: 'P0001' }, sk: { S: 'O-1 商品' }, fen: { N: '12900' } } });
    expect(outB).toEqual(outA);
    expect((outB[2] as { Item: unknown }).Item).toEqual({ pk: { S: 'P0001' }, sk: { S: 'O-1 商品' }, fen: { N: '12900' } });
    // Any other host and port still goes over the network.
    expect(port).not.toBe(String(HANDED_PORT));
    a.destroy();
    b.destroy();
  });

  it('signs the same bytes: with the same clock and endpoint, the same signature', async () => {
    const restartIds = fixSigningInputs();
    const seen: GatewayRequest[] = [];
    const server = createServer((req, res) => {
      void read(req).then((body) => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'com.amazon.coral.validate#ValidationException', message: 'recorded' }));
      });
    });
    servers.push(server);
    const url = await listen(server);
    const port = Number(new URL(url).port);
    const get = () => new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'P0001' }, sk: { S: 'O-1' } } });
    restartIds();
    await expect(client(url).send(get())).rejects.toThrow('recorded');
    // Now the same endpoint handed over: the request the server would have read.
    const handed: GatewayRequest[] = [];
    undo.push(
      routeToGateway(http, {
        host: '127.0.0.1',
        port,
        exchange: (request: GatewayRequest) => {
          handed.push(request);
          return Promise.resolve({ status: 400, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: Buffer.from(JSON.stringify({ __type: 'ValidationException', message: 'handed' })) });
        },
      }),
    );
    restartIds();
    await expect(client(url).send(get())).rejects.toThrow('handed');
    expect(seen).toHaveLength(1);
    expect(handed.map(comparable)).toEqual(seen.map(comparable));
    expect(handed[0]!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIATEST\/20240229\/ap-southeast-1\/dynamodb\/aws4_request, SignedHeaders=.*host.*, Signature=[0-9a-f]{64}$/);
  });

  it('fails as a dropped connection when the hand-over fails, and the SDK reports it', async () => {
    undo.push(routeToGateway(http, { host: '127.0.0.1', port: HANDED_PORT, exchange: () => Promise.reject(new Error('channel closed')) }));
    await expect(client(`http://127.0.0.1:${HANDED_PORT}`).send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'x' } } }))).rejects.toThrow('channel closed');
  });
});

describe('the gateway, over HTTP and handed over', () => {
  const principal: Principal = {
    name: 'intake',
    roleArn: 'arn:aws:iam::123456789012:role/intake',
    sessionArn: 'arn:aws:sts::123456789012:assumed-role/intake/intake',
    policies: [{ name: 'p', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['dynamodb:CreateTable', 'dynamodb:PutItem', 'dynamodb:Query'], Resource: TABLE_ARN }] } }],
    acknowledged: [],
  };
  let gateway: Gateway;
  const calls: { call: ApiCall; allowed: boolean }[] = [];
  beforeAll(async () => {
    gateway = new Gateway({
      iam: new Iam({} as Deployment),
      principals: new Map([['ASIATEST', principal]]),
      dynamodb: dynamoListener(),
      sesUrl: 'http://127.0.0.1:9',
      ses: { identities: [], configurationSets: [] },
      lambda: { invoke: () => Promise.reject(new Error('no lambda')), resolve: () => undefined },
      onCall: (_p, call, allowed) => void calls.push({ call, allowed }),
    });
    await gateway.listen();
  });
  afterAll(() => gateway.close());

  it('decides the same call the same way, and denies GetItem (not granted) both ways', async () => {
    const port = Number(new URL(gateway.url).port);
    const overHttp = client(gateway.url);
    const out: { way: string; result: unknown }[] = [];
    const run = async (way: string, c: DynamoDBClient) => {
      for (const command of commands()) {
        out.push({
          way,
          result: await c.send(command as never).then(
            (r) => strip(r),
            (e: Error) => ({ error: e.name }),
          ),
        });
      }
    };
    await run('http', overHttp);
    const seen: { request: GatewayRequest; response: GatewayResponse }[] = [];
    undo.push(
      routeToGateway(http, {
        host: '127.0.0.1',
        port,
        exchange: async (request: GatewayRequest) => {
          const response = await gateway.answer(request);
          seen.push({ request, response });
          return response;
        },
      }),
    );
    await run('handed', client(gateway.url));
    expect(seen).toHaveLength(4);
    const http1 = calls.slice(0, 4);
    const handed1 = calls.slice(4);
    expect(handed1).toEqual(http1);
    expect(http1.map((c) => [c.call.action, c.allowed])).toEqual([
      ['dynamodb:CreateTable', true],
      ['dynamodb:PutItem', true],
      ['dynamodb:GetItem', false],
      ['dynamodb:Query', true],
    ]);
    const byWay = (w: string) => out.filter((o) => o.way === w).map((o) => o.result);
    expect(byWay('http')[2]).toEqual({ error: 'AccessDeniedException' });
    // The table exists by then: the second CreateTable fails, both the rest the same.
    expect(byWay('handed')[0]).toEqual({ error: 'ResourceInUseException' });
    expect(byWay('handed').slice(1)).toEqual(byWay('http').slice(1));
    // The answer is dated in the caller's (signed) time, as over HTTP.
    for (const { request, response } of seen) {
      const m = String(request.headers['x-amz-date']).match(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/)!;
      expect(response.headers.date).toBe(new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)).toUTCString());
    }
    overHttp.destroy();
  });
});

/** The output without its metadata (request ids differ from call to call). */
function strip(r: unknown): unknown {
  const { $metadata: _m, ...rest } = r as { $metadata: unknown };
  if ('TableDescription' in rest) return { TableDescription: { TableName: (rest.TableDescription as { TableName: string }).TableName } };
  return rest;
}
