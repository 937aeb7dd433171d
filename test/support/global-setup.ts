import type { TestProject } from 'vitest/node';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * One embedded stack for the whole test run: dynalite (in memory), aws-ses-v2-local and s3rver (files
 * in a temporary directory), all over real HTTP on free loopback ports. Each test file makes its own tables (`freshTables`), so files
 * running in parallel never see each other's data.
 */
const require = createRequire(import.meta.url);

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    sesEndpoint: string;
    s3Endpoint: string;
  }
}

export default async function setup(project: TestProject) {
  const dynalite = require('dynalite') as (opts: object) => Server;
  const dyn = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((r) => dyn.listen(0, '127.0.0.1', r));
  const sesServer = (await import('aws-ses-v2-local')).default as unknown as (c: object) => Promise<Server>;
  const ses = await sesServer({ host: '127.0.0.1', port: 0 });
  const S3rver = require('s3rver') as new (o: object) => { run(): Promise<AddressInfo>; close(): Promise<void> };
  const s3Dir = mkdtempSync(join(tmpdir(), 'renewal-s3-'));
  const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3Dir, vhostBuckets: false });
  const { port: s3Port } = await s3.run();
  project.provide('dynamodbEndpoint', `http://127.0.0.1:${(dyn.address() as AddressInfo).port}`);
  project.provide('sesEndpoint', `http://127.0.0.1:${(ses.address() as AddressInfo).port}`);
  project.provide('s3Endpoint', `http://127.0.0.1:${s3Port}`);
  return async () => {
    await new Promise((r) => dyn.close(r));
    await new Promise((r) => ses.close(r));
    await s3.close();
    rmSync(s3Dir, { recursive: true, force: true });
  };
}
