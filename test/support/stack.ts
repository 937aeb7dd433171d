import { randomUUID } from 'node:crypto';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { SESv2ClientConfig } from '@aws-sdk/client-sesv2';
import { inject, onTestFinished } from 'vitest';
import { localTableNames, type TableNames } from '#shared/config.ts';
import { ensureTables } from '#tools/local/tables.ts';
import { createDocumentClient } from '#shared/aws.ts';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { NoticeBucket } from '#shared/store/notice-bucket.ts';

/** SDK client settings for the run's embedded stack: its endpoints, a region, test credentials. */
export interface TestClients {
  dynamodb: DynamoDBClientConfig;
  ses: SESv2ClientConfig;
  s3: S3ClientConfig;
}

const REGION = 'ap-southeast-1';

/** Where the run's embedded stack is (test/support/global-setup.ts), as explicit client settings. */
export function testClients(): TestClients {
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  return {
    dynamodb: { endpoint: inject('dynamodbEndpoint'), region: REGION, credentials },
    ses: { endpoint: inject('sesEndpoint'), region: REGION, credentials },
    // s3rver accepts only its own key, and serves buckets path-style.
    s3: { endpoint: inject('s3Endpoint'), region: REGION, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } },
  };
}

/**
 * This test file's view of the run's embedded stack: tables of its own, a DocumentClient, and the
 * client settings to build any other client (or a handler's mailer) with. Nothing goes through the
 * environment: the handlers are built from these, as the CLI builds them from its own.
 */
export async function useTestStack(): Promise<{ tables: TableNames; db: ReturnType<typeof createDocumentClient>; sesEndpoint: string; clients: TestClients }> {
  const clients = testClients();
  const tables = await freshTables();
  return { tables, db: createDocumentClient(clients.dynamodb), sesEndpoint: inject('sesEndpoint'), clients };
}

/**
 * A DocumentClient of the test's own, for a test that mocks it to inject a fault (aws-sdk-client-mock
 * patches the client it is given): destroyed when the test ends.
 */
export function ownDocumentClient(): ReturnType<typeof createDocumentClient> {
  const doc = createDocumentClient(testClients().dynamodb);
  onTestFinished(() => doc.destroy());
  return doc;
}

/** A new, empty set of all tables under a unique prefix. */
export async function freshTables(): Promise<TableNames> {
  const names = localTableNames(`t-${randomUUID().slice(0, 8)}`);
  const client = new DynamoDBClient(testClients().dynamodb);
  await ensureTables(client, names);
  client.destroy();
  return names;
}

/**
 * What a child process of a test (test/support/*-child.ts) is told about the run's embedded stack:
 * the parent's environment plus `CHILD_DYNAMODB` and `CHILD_SES` (endpoints) and `extra`.
 */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, CHILD_DYNAMODB: inject('dynamodbEndpoint'), CHILD_SES: inject('sesEndpoint'), ...extra };
}

/**
 * A new, empty notice bucket on the run's s3rver, with a client that signs as s3rver expects, and
 * the bucket's public base URL (path-style, as the embedded stack serves it).
 */
export async function freshNoticeBucket(): Promise<{ bucket: NoticeBucket; s3: S3Client; baseUrl: string; name: string }> {
  const endpoint = inject('s3Endpoint');
  const s3 = new S3Client(testClients().s3);
  const name = `notice-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  return { bucket: new NoticeBucket(s3, name), s3, baseUrl: `${endpoint}/${name}`, name };
}
