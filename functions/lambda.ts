import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { z } from 'zod';
import { onlyTables, readEnv, tablesEnv, type TableNames } from '#shared/config.ts';
import { logger, metrics } from '#shared/observability.ts';
import { accessOf, type StoreUse } from '#shared/store/access.ts';

/**
 * What every Lambda entry (functions/<name>.ts) shares. The entries read their configuration from
 * `process.env` here, once, at module load (of the modules a function bundles, only shared/observability.ts
 * reads it besides them, on import, for Powertools' service name and namespace): Lambda's init phase, so a missing or
 * malformed variable is a start-up error (a ConfigError naming every such variable), never a silent
 * default in the middle of a season. The handlers themselves (functions/handlers/*) are built from
 * configuration objects and have no side effect on import; the CLI and the tests build them the same
 * way with their own configuration.
 */

/**
 * Reads the function's environment: `TABLE_<ID>` for exactly the tables its use case needs (`needs`,
 * the same declaration the stack grants IAM from), and each of `schemas` (shared/config.ts). Throws
 * one ConfigError naming every missing or malformed variable.
 */
export function lambdaEnvironment<S extends Record<string, z.ZodType>>(
  fn: string,
  needs: readonly StoreUse<unknown>[],
  schemas: S,
  env: Record<string, string | undefined> = process.env,
): { tables: TableNames; sdk: SdkEnvironment } & { [K in keyof S]: z.output<S[K]> } {
  const ids = [...new Set(accessOf(needs).tables.map((t) => t.table))];
  const { tables, ...rest } = readEnv({ tables: tablesEnv(ids), ...schemas }, env);
  // eslint (typescript-eslint's view of the generic) calls this cast unnecessary; tsc needs it.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
  return { tables: onlyTables(tables as Partial<TableNames>, `the ${fn} function`), sdk: sdkEnvironment(env), ...(rest as { [K in keyof S]: z.output<S[K]> }) };
}

/** What the entries need to know of the SDK's own variables (the SDK reads endpoints, region and credentials itself). */
export interface SdkEnvironment {
  /**
   * An S3-compatible endpoint is set (`AWS_ENDPOINT_URL_S3`, or `AWS_ENDPOINT_URL` as `renewal
   * rehearse` sets it): address buckets path-style, which such servers need. AWS itself gets
   * virtual-hosted addressing.
   */
  s3ForcePathStyle: boolean;
}

function sdkEnvironment(env: Record<string, string | undefined>): SdkEnvironment {
  return { s3ForcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL) };
}

/** The Lambda handler: Powertools' logger (with the Lambda context) and, unless `metrics: false`, its metrics flushed per invocation. */
export function lambdaHandler<E, R>(handler: (event: E, context?: never) => Promise<R>, opts: { metrics?: boolean } = {}) {
  // As above: tsc needs the handler without its optional context to match middy's overloads.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
  const wrapped = middy(handler as (event: E) => Promise<R>).use(injectLambdaContext(logger));
  return opts.metrics === false ? wrapped : wrapped.use(logMetrics(metrics));
}
