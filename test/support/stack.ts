import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { localTableNames, tableEnv, type TableNames } from '#shared/config.ts';
import { ensureTables } from '#shared/local-tables.ts';
import { createDocumentClient } from '#shared/aws.ts';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { NoticeBucket } from '#shared/store/notice-bucket.ts';

/**
 * Points this test file's SDK clients at the run's embedded stack (the SDK's own endpoint
 * variables) and gives it tables of its own. Call before importing a function module: functions
 * read their configuration when loaded, as on Lambda.
 */
export async function useTestStack(): Promise<{ tables: TableNames; db: ReturnType<typeof createDocumentClient>; sesEndpoint: string }> {
  const dynamodb = inject('dynamodbEndpoint');
  const ses = inject('sesEndpoint');
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb,
    AWS_ENDPOINT_URL_SES: ses,
    AWS_ENDPOINT_URL_SESV2: ses,
    AWS_REGION: 'ap-southeast-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  const tables = await freshTables();
  Object.assign(process.env, tableEnv(tables));
  return { tables, db: createDocumentClient(), sesEndpoint: ses };
}

/** A new, empty set of all tables under a unique prefix. */
export async function freshTables(): Promise<TableNames> {
  const names = localTableNames(`t-${randomUUID().slice(0, 8)}`);
  const client = new DynamoDBClient({ endpoint: inject('dynamodbEndpoint') });
  await ensureTables(client, names);
  client.destroy();
  return names;
}

/**
 * A new, empty notice bucket on the run's s3rver, with a client that signs as s3rver expects, and
 * the bucket's public base URL (path-style, as the embedded stack serves it).
 */
export async function freshNoticeBucket(): Promise<{ bucket: NoticeBucket; s3: S3Client; baseUrl: string; name: string }> {
  const endpoint = inject('s3Endpoint');
  const s3 = new S3Client({ endpoint, region: 'ap-southeast-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const name = `notice-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  return { bucket: new NoticeBucket(s3, name), s3, baseUrl: `${endpoint}/${name}`, name };
}
