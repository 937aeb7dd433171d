import { z } from 'zod';
import { MAIL_EVENT_WAIT_DEFAULT_MS } from './leases.ts';
import { bucketEnvVar } from './store/access.ts';
import { TABLES, tableEnvVar, type TableId } from './tables.ts';
import { BadInputError } from '#shared/errors.ts';

/**
 * The functions' configuration: what each setting means, the environment variable that carries it
 * into a deployed function, and the zod schema that reads it. The stack (cdk/) sets the variables by
 * these names and the Lambda entries (functions/lambda.ts) read them with these schemas, so a name is
 * written once. The CLI and the tests build the same configuration objects without any environment.
 */

/** A configuration value is missing or malformed; the message names every such variable. */
export class ConfigError extends BadInputError {
  override name = 'ConfigError';
}

/** The environment variables of the functions, by setting. Set by cdk/, read only through the schemas below. */
export const ENV = {
  mailFrom: 'MAIL_FROM',
  mailFromName: 'MAIL_FROM_NAME',
  mailReplyTo: 'MAIL_REPLY_TO',
  sesConfigurationSet: 'SES_CONFIGURATION_SET',
  feedbackMailbox: 'FEEDBACK_MAILBOX',
  exitRefundProcedure: 'EXIT_REFUND_PROCEDURE',
  mailRatePerSecond: 'MAIL_RATE_PER_SECOND',
  mailEventWaitSeconds: 'MAIL_EVENT_WAIT_SECONDS',
  thresholdOrders: 'THRESHOLD_ORDERS',
  aggregationOverlapSeconds: 'AGGREGATION_OVERLAP_SECONDS',
  notifyFunctionName: 'NOTIFY_FUNCTION_NAME',
  publishFunctionName: 'PUBLISH_FUNCTION_NAME',
  noticeBaseUrl: 'NOTICE_BASE_URL',
  /** `TABLE_<ID>`: the physical name of a table. */
  table: tableEnvVar,
  /** `<ID>_BUCKET`: the name of a bucket. */
  bucket: bucketEnvVar,
} as const;

export type TableNames = Record<TableId, string>;

/** The local naming scheme: `<prefix>-<id>`, used by the embedded stack and the tests. */
export function localTableNames(prefix: string): TableNames {
  const names = {} as TableNames;
  for (const id of Object.keys(TABLES) as TableId[]) names[id] = `${prefix}-${id}`;
  return names;
}

// ---- Schemas over the environment ----------------------------------------------------------------

type Env = Record<string, string | undefined>;

/** An empty variable is an unset one (CloudFormation cannot remove a variable, only blank it). */
const unset = (v: unknown) => (v === '' ? undefined : v);
const required = (what: string) => z.preprocess(unset, z.string({ error: `is not set (${what})` }));
const optional = z.preprocess(unset, z.string().optional());
const wholeSeconds = (dfltSeconds: number) =>
  z
    .preprocess(
      unset,
      z
        .string()
        .regex(/^\d+$/, { error: (i) => `must be a whole number of seconds, got ${JSON.stringify(i.input)}` })
        .optional(),
    )
    .transform((v) => (v === undefined ? dfltSeconds : Number(v)) * 1000);

/**
 * AGGREGATION_OVERLAP_SECONDS: how far each aggregation run re-reads before the last watermark, in ms
 * (default 60 s). DynamoDB's indexes lag writes by a moment; dynalite's do not, so the embedded stack uses 5.
 */
export const overlapEnv = z.object({ [ENV.aggregationOverlapSeconds]: wholeSeconds(60) }).transform((e) => e[ENV.aggregationOverlapSeconds]);

/** THRESHOLD_ORDERS: the deployment's thresholdOrders, when ops set it apart from the campaign's placeholder. */
const thresholdField = z
  .preprocess(
    unset,
    z
      .string()
      .regex(/^[1-9]\d*$/, { error: (i) => `must be a positive integer, got ${JSON.stringify(i.input)}` })
      .optional(),
  )
  .transform((v) => (v === undefined ? undefined : Number(v)));
export const thresholdEnv = z.object({ [ENV.thresholdOrders]: thresholdField }).transform((e) => e[ENV.thresholdOrders]);

export interface MailConfig {
  from: string;
  fromName?: string;
  replyTo?: string;
  configurationSet?: string;
  feedbackMailbox?: string;
  exitRefundProcedure?: string;
  ratePerSecond: number;
  /** How long after a claim ended SES may still publish its first event about the mail (ms). @default MAIL_EVENT_WAIT_DEFAULT_MS */
  eventWaitMs?: number;
  thresholdOrders?: number;
}

/**
 * The notify function's configuration: MAIL_FROM is required (there is no sender to fall back on);
 * MAIL_FROM_NAME, MAIL_REPLY_TO, SES_CONFIGURATION_SET, FEEDBACK_MAILBOX (default: the campaign's),
 * EXIT_REFUND_PROCEDURE, MAIL_RATE_PER_SECOND (default 1, the SES sandbox rate), MAIL_EVENT_WAIT_SECONDS
 * (default `MAIL_EVENT_WAIT_DEFAULT_MS`: how long notify waits for SES's events about a mail whose
 * sender died before it sends that notice again) and THRESHOLD_ORDERS are optional.
 */
export const mailEnv = z
  .object({
    [ENV.mailFrom]: required('the sender address'),
    [ENV.mailFromName]: optional,
    [ENV.mailReplyTo]: optional,
    [ENV.sesConfigurationSet]: optional,
    [ENV.feedbackMailbox]: optional,
    [ENV.exitRefundProcedure]: optional,
    [ENV.mailRatePerSecond]: z.preprocess(
      unset,
      z
        .string()
        .refine((v) => /^\d+(\.\d+)?$/.test(v) && Number(v) > 0, { error: (i) => `must be a positive number, got ${JSON.stringify(i.input)}` })
        .default('1'),
    ),
    [ENV.mailEventWaitSeconds]: wholeSeconds(MAIL_EVENT_WAIT_DEFAULT_MS / 1000),
    [ENV.thresholdOrders]: thresholdField,
  })
  .transform((e): MailConfig => ({
    from: e[ENV.mailFrom],
    ratePerSecond: Number(e[ENV.mailRatePerSecond]),
    eventWaitMs: e[ENV.mailEventWaitSeconds],
    ...(e[ENV.mailFromName] ? { fromName: e[ENV.mailFromName] } : {}),
    ...(e[ENV.mailReplyTo] ? { replyTo: e[ENV.mailReplyTo] } : {}),
    ...(e[ENV.sesConfigurationSet] ? { configurationSet: e[ENV.sesConfigurationSet] } : {}),
    ...(e[ENV.feedbackMailbox] ? { feedbackMailbox: e[ENV.feedbackMailbox] } : {}),
    ...(e[ENV.exitRefundProcedure] ? { exitRefundProcedure: e[ENV.exitRefundProcedure] } : {}),
    ...(e[ENV.thresholdOrders] ? { thresholdOrders: e[ENV.thresholdOrders] } : {}),
  }));

export interface NoticeConfig {
  /** The bucket the notice versions are written to (NOTICE_BUCKET). */
  bucket: string;
  /** Public base URL the bucket is read under: the CloudFront domain, or the local S3 server's bucket URL (NOTICE_BASE_URL). */
  publicBaseUrl: string;
  /** Where objections go (FEEDBACK_MAILBOX; default: the campaign's). */
  feedbackMailbox?: string;
}

/** The publish function's configuration: NOTICE_BUCKET and NOTICE_BASE_URL are required. */
export const noticeEnv = z
  .object({
    [ENV.bucket('notice')]: required('the notice bucket'),
    [ENV.noticeBaseUrl]: z.preprocess(
      unset,
      z.string({ error: 'is not set (the public base URL of the notice)' }).regex(/^https?:\/\/[^\s"'<>]+$/, { error: (i) => `must be an http(s) URL, got ${JSON.stringify(i.input)}` }),
    ),
    [ENV.feedbackMailbox]: optional,
  })
  .transform((e): NoticeConfig => ({
    bucket: e[ENV.bucket('notice')] as string,
    publicBaseUrl: e[ENV.noticeBaseUrl] as string,
    ...(e[ENV.feedbackMailbox] ? { feedbackMailbox: e[ENV.feedbackMailbox] } : {}),
  }));

/** A function name another function hands work to (NOTIFY_FUNCTION_NAME, PUBLISH_FUNCTION_NAME): required. */
export const functionNameEnv = (name: typeof ENV.notifyFunctionName | typeof ENV.publishFunctionName, what: string) => z.object({ [name]: required(what) }).transform((e) => e[name] as string);

/**
 * The physical names of exactly the tables `ids` (`TABLE_<ID>`), each required. A function is
 * given the tables its use case needs and no others; see `onlyTables`.
 */
export function tablesEnv(ids: readonly TableId[]) {
  return z
    .object(Object.fromEntries(ids.map((id) => [ENV.table(id), required(`the ${id} table`)])) as Record<string, ReturnType<typeof required>>)
    .transform((e) => Object.fromEntries(ids.map((id) => [id, e[ENV.table(id)] as string])) as Partial<TableNames>);
}

/**
 * Table names where only `names` are known: reading another table's name throws a ConfigError
 * saying so. A store built over it works for every method the function declared it needs (those
 * touch only its tables), and a method outside them fails with that message instead of an
 * AccessDenied from IAM, which grants the same tables and no others.
 */
export function onlyTables(names: Partial<TableNames>, who: string): TableNames {
  const out = {} as TableNames;
  for (const id of Object.keys(TABLES) as TableId[]) {
    const name = names[id];
    Object.defineProperty(out, id, {
      enumerable: name !== undefined,
      get: () => {
        if (name === undefined) throw new ConfigError(`${who} has no ${ENV.table(id)}: table ${id} is not among what its use case needs (shared/usecases/*_NEEDS)`);
        return name;
      },
    });
  }
  return out;
}

/**
 * Reads every schema over `env` and returns their results by key; throws one ConfigError naming
 * every missing or malformed variable (not just the first), e.g.
 * `configuration: MAIL_FROM is not set (the sender address); THRESHOLD_ORDERS must be a positive integer, got "x"`.
 */
export function readEnv<S extends Record<string, z.ZodType>>(schemas: S, env: Env): { [K in keyof S]: z.output<S[K]> } {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, schema] of Object.entries(schemas)) {
    const r = schema.safeParse(env);
    if (r.success) out[key] = r.data;
    else for (const issue of r.error.issues) problems.push(`${String(issue.path[0] ?? key)} ${issue.message}`);
  }
  if (problems.length) throw new ConfigError(`configuration: ${[...new Set(problems)].join('; ')}`);
  return out as { [K in keyof S]: z.output<S[K]> };
}

/**
 * The fan-out of the season jobs (shared/usecases/fanout.ts): how much one invocation takes on. A
 * counting shard reads about `ordersShardSize` orders (at the measured 2,440 µs per order, 122 s, far
 * inside Lambda's 900 s); `executionLeaseMs` is the run lock's lease when plan, shards and finish are
 * separate invocations of a state machine (no process heartbeats it, so every shard step renews it).
 * A full recount of more than `inlineShardLimit` shards is planned as groups of at most
 * `shardGroupSize` shard indices (shared/usecases/recount-groups.ts): one execution's history and
 * payload hold some 3,500 inline shards, and `States.ArrayRange` makes at most 1,000 items.
 */
export const FANOUT = {
  ordersShardSize: 50_000,
  providersShardSize: 5_000,
  executionLeaseMs: 2 * 60 * 60_000,
  inlineShardLimit: 1_000,
  shardGroupSize: 1_000,
} as const;
