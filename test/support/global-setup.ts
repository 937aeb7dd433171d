import type { TestProject } from 'vitest/node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynamo, startS3, startSes } from '#tools/local/services.ts';

/**
 * One embedded stack for the whole test run, from the stack's own bootstrap (tools/local/services.ts):
 * dynalite (in memory), aws-ses-v2-local and s3rver (files in a temporary directory), all over real
 * HTTP on free loopback ports. Each test file makes its own tables (`freshTables`), so files running in
 * parallel never see each other's data.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    sesEndpoint: string;
    s3Endpoint: string;
  }
}

export default async function setup(project: TestProject) {
  const s3Dir = mkdtempSync(join(tmpdir(), 'renewal-s3-'));
  const [dynamo, ses, s3] = await Promise.all([startDynamo(), startSes(), startS3({ directory: s3Dir })]);
  project.provide('dynamodbEndpoint', dynamo.url);
  project.provide('sesEndpoint', ses.url);
  project.provide('s3Endpoint', s3.url);
  return async () => {
    await Promise.all([dynamo.close(), ses.close(), s3.close()]);
    rmSync(s3Dir, { recursive: true, force: true });
  };
}
