/**
 * Deployment configuration, read and validated once (zod) from CDK context (`-c key=value`,
 * `cdk.json`) or, where the context does not set a key, the environment (`RENEWAL_<KEY>`).
 * Every error names the key and both ways to set it. Documented in docs/operations.md ("Deploy configuration keys").
 */
import { z } from 'zod';
import { ConfigError } from '#shared/config.ts';
import { emailAddress } from '#shared/events.ts';

/** Log levels Powertools understands (POWERTOOLS_LOG_LEVEL). */
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
/** Retention periods CloudWatch Logs accepts, in days. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** Context keys arrive as strings from `-c`, as JSON values from cdk.json: accept both. */
const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const trimmed = (v: unknown) => (typeof v === 'string' ? v.trim() : v);
const optionalEmail = z.preprocess(blankToUndefined, emailAddress().optional());
const bool = (dflt: boolean) =>
  z.preprocess((v) => (typeof v === 'boolean' ? (v ? 'true' : 'false') : blankToUndefined(v)), z.stringbool({ truthy: ['true', '1', 'yes'], falsy: ['false', '0', 'no'] }).default(dflt));
const num = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => {
    const b = blankToUndefined(v);
    return typeof b === 'string' ? Number(b) : b;
  }, schema);

const schema = z.object({
  /** Deployment stage; part of the stack names. */
  stage: z.preprocess(
    (v) => blankToUndefined(trimmed(v)),
    z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,19}$/, 'lower-case letters, digits and "-", starting with a letter, at most 20 characters')
      .default('dev'),
  ),
  /**
   * Sender address of every mail: a plain address (no display name). There is no safe default, and it
   * is often not known when the app is synthesized: unset, it becomes the required CloudFormation
   * parameter `MailFrom` (no default), so `cdk deploy` refuses to deploy the App stack until it is given
   * (`--parameters MailFrom=…`). Set here, it is that parameter's default.
   */
  mailFrom: z.preprocess((v) => blankToUndefined(trimmed(v)), emailAddress('must be a plain e-mail address').optional()),
  /** Display name of the sender (`"<name>" <mailFrom>`); unset: the bare address. */
  mailFromName: z.preprocess((v) => blankToUndefined(trimmed(v)), z.string().max(100).optional()),
  /** Reply-To of every mail; unset: replies go to mailFrom. */
  mailReplyTo: optionalEmail,
  /** Where providers send feedback on their outcome (RULES.md clause 3); unset: each campaign file's `feedbackMailbox`. */
  feedbackMailbox: optionalEmail,
  /**
   * THRESHOLD_ORDERS of the evaluation and the mails (RULES.md 2.2.1, "threshold"): it stands in for a
   * campaign file whose `thresholdOrders` is null and never overrides a file's number. A scheduled
   * campaign with neither fails the synth.
   */
  thresholdOrders: num(
    z.number({ error: 'must be a positive integer' }).int({ error: 'must be a positive integer' }).positive({ error: 'must be a positive integer' }).max(Number.MAX_SAFE_INTEGER).optional(),
  ),
  /** Mails per second the notify function sends: 1 is the SES sandbox quota. */
  mailRatePerSecond: num(z.number({ error: 'must be a positive number' }).min(0.001, { error: 'must be a positive number (at least 0.001)' }).max(1000).default(1)),
  /** Where alarm notifications go (an SNS e-mail subscription, confirmed by mail); unset: topic only. */
  alarmEmail: optionalEmail,
  /** SES identity for the sender: the address itself, or its whole domain (DNS records for DKIM). */
  senderIdentity: z.preprocess(blankToUndefined, z.enum(['address', 'domain']).default('address')),
  /** Verified recipients allowed while the SES account is in the sandbox (comma-separated). */
  sandboxRecipients: z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : (v ?? []),
    z.array(emailAddress()),
  ),
  /** How a revoked provider gets its deposit back (RULES.md clause 3), quoted in the outcome mail; unset: each campaign file's `exitRefundProcedure`. */
  exitRefundProcedure: z.preprocess((v) => blankToUndefined(trimmed(v)), z.string().max(500).optional()),
  /** POWERTOOLS_LOG_LEVEL of every function. */
  logLevel: z.preprocess((v) => (typeof v === 'string' ? blankToUndefined(v.toUpperCase()) : v), z.enum(LOG_LEVELS).default('INFO')),
  /** Days the functions' logs are kept. */
  logRetentionDays: num(
    z
      .number()
      .refine((d) => RETENTION_DAYS.includes(d), `must be one of ${RETENTION_DAYS.join(', ')}`)
      .default(180),
  ),
  /** AWS X-Ray active tracing on every function. */
  tracing: bool(false),
  /**
   * Shards of one season job run at a time (the MaxConcurrency of the state machines' Map, cdk/fanout.ts).
   * An inline Map runs at most 40 at a time.
   */
  mapConcurrency: num(
    z
      .number({ error: 'must be an integer from 1 to 40' })
      .int({ error: 'must be an integer from 1 to 40' })
      .min(1, { error: 'must be an integer from 1 to 40' })
      .max(40, { error: 'must be an integer from 1 to 40 (an inline Map runs at most 40 iterations at a time)' })
      .default(10),
  ),
  /**
   * Groups of a grouped full recount run at a time (the MaxConcurrency of the aggregation's distributed
   * Map, cdk/fanout.ts): each group is a child execution running its shards `mapConcurrency` at a time,
   * so up to groupConcurrency × mapConcurrency shards are in flight. A distributed Map runs at most 10,000.
   */
  groupConcurrency: num(
    z
      .number({ error: 'must be an integer from 1 to 10000' })
      .int({ error: 'must be an integer from 1 to 10000' })
      .min(1, { error: 'must be an integer from 1 to 10000' })
      .max(10_000, { error: 'must be an integer from 1 to 10000 (a distributed Map runs at most 10,000 child executions at a time)' })
      .default(10),
  ),
  /**
   * The seasons' schedules: true makes those of every campaign whose file says `"schedule": true`;
   * false makes none (ops run the functions by hand, docs/operations.md). Which campaigns are scheduled is
   * the files' decision, never this machine's clock.
   */
  seasonSchedules: bool(true),
});

export type DeployConfig = z.output<typeof schema>;
export type ConfigKey = keyof DeployConfig;
export const CONFIG_KEYS = Object.keys(schema.shape) as ConfigKey[];

/** `mailFrom` → `RENEWAL_MAIL_FROM`. */
export function envNameOf(key: ConfigKey): string {
  return `RENEWAL_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/**
 * Validates raw values (context first, then environment). Throws a ConfigError listing every bad key,
 * each with the way to set it.
 */
export function parseConfig(raw: Partial<Record<ConfigKey, unknown>>): DeployConfig {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '?') as ConfigKey;
    const where = issue.path.length > 1 ? ` [item ${issue.path.slice(1).join('.')}]` : '';
    return `  ${key}${where} (-c ${key}=… or ${envNameOf(key)}): ${issue.message}`;
  });
  throw new ConfigError(`invalid deployment configuration:\n${lines.join('\n')}`);
}

/** Reads every key from `context(key)`, falling back to `RENEWAL_<KEY>` in `env`. */
export function readConfig(context: (key: string) => unknown, env: NodeJS.ProcessEnv = process.env): DeployConfig {
  const raw: Partial<Record<ConfigKey, unknown>> = {};
  for (const key of CONFIG_KEYS) {
    const fromContext = context(key);
    raw[key] = fromContext !== undefined ? fromContext : env[envNameOf(key)];
  }
  return parseConfig(raw);
}
