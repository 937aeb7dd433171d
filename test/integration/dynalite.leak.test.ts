import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * dynalite 4.0.0 wraps LevelDB iterators in streams and never closed them (patches/dynalite+4.0.0.patch):
 * abstract-level keeps every open iterator attached to its db, each pinning a LevelDB snapshot, so the
 * embedded store grew with every Query and Scan. abstract-level attaches an iterator when it is created
 * and detaches it when it is closed (`attachResource` / `detachResource`): counting both on the very
 * module dynalite loads says how many are open, through real Queries and Scans over HTTP.
 */
const requireFromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
const requireFromLevel = createRequire(requireFromDynalite.resolve('level'));
const abstractLevel = createRequire(requireFromLevel.resolve('classic-level'))('abstract-level') as {
  AbstractLevel: { prototype: { attachResource(r: object): void; detachResource(r: object): void } };
  AbstractIterator: new (...a: never[]) => object;
  AbstractKeyIterator: new (...a: never[]) => object;
  AbstractValueIterator: new (...a: never[]) => object;
};

const open = new Set<object>();
let attached = 0;
const isIterator = (r: object) => r instanceof abstractLevel.AbstractIterator || r instanceof abstractLevel.AbstractKeyIterator || r instanceof abstractLevel.AbstractValueIterator;

let server: Server;
let dir: string;
let db: DynamoDBDocumentClient;
const proto = abstractLevel.AbstractLevel.prototype;
const { attachResource, detachResource } = proto;

beforeAll(async () => {
  proto.attachResource = function (this: unknown, r: object) {
    if (isIterator(r)) {
      open.add(r);
      attached++;
    }
    return attachResource.call(this, r);
  };
  proto.detachResource = function (this: unknown, r: object) {
    open.delete(r);
    return detachResource.call(this, r);
  };
  dir = mkdtempSync(join(tmpdir(), 'dynalite-leak-'));
  // As the embedded stack runs it (cli/local-service.ts): LevelDB on disk.
  server = (requireFromDynalite('dynalite') as (o: object) => Server)({ path: dir, createTableMs: 0 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const config: DynamoDBClientConfig = {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'local',
    credentials: { accessKeyId: 'leak', secretAccessKey: 'leak' },
  };
  const client = new DynamoDBClient(config);
  await client.send(
    new CreateTableCommand({
      TableName: 'leak',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'g', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byG',
          KeySchema: [
            { AttributeName: 'g', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  db = DynamoDBDocumentClient.from(client);
  for (let p = 0; p < 4; p++) {
    const items = Array.from({ length: 25 }, (_, i) => ({ pk: `P${p}`, sk: String(i).padStart(3, '0'), g: `G${i % 3}` }));
    await db.send(new BatchWriteCommand({ RequestItems: { leak: items.map((Item) => ({ PutRequest: { Item } })) } }));
  }
});

afterAll(async () => {
  proto.attachResource = attachResource;
  proto.detachResource = detachResource;
  await new Promise((r) => server?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the embedded store closes its iterators', () => {
  it('holds no open iterator after Queries and Scans run to their end, stop at a Limit, or page', async () => {
    const rounds = 50;
    for (let n = 0; n < rounds; n++) {
      const pk = `P${n % 4}`;
      expect((await db.send(new QueryCommand({ TableName: 'leak', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': pk } }))).Items).toHaveLength(25);
      // A Limit stops the stream before its end: the iterator must be closed all the same.
      const first = await db.send(new QueryCommand({ TableName: 'leak', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': pk }, Limit: 5 }));
      expect(first.Items).toHaveLength(5);
      await db.send(new QueryCommand({ TableName: 'leak', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': pk }, Limit: 5, ExclusiveStartKey: first.LastEvaluatedKey }));
      expect(
        (await db.send(new QueryCommand({ TableName: 'leak', IndexName: 'byG', KeyConditionExpression: 'g = :g', ExpressionAttributeValues: { ':g': `G${n % 3}` } }))).Items!.length,
      ).toBeGreaterThan(0);
      expect((await db.send(new ScanCommand({ TableName: 'leak' }))).Items).toHaveLength(100);
      expect((await db.send(new ScanCommand({ TableName: 'leak', Limit: 7 }))).Items).toHaveLength(7);
      expect((await db.send(new ScanCommand({ TableName: 'leak', IndexName: 'byG', Limit: 3 }))).Items).toHaveLength(3);
    }
    // The counting watches the module dynalite uses: every request opened at least one iterator.
    expect(attached).toBeGreaterThanOrEqual(rounds * 7);
    // A close settles on a later tick than the response: give the store a turn, with a bound.
    for (let i = 0; i < 50 && open.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(open.size).toBe(0);
  });
});
