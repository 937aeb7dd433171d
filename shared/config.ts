import { MAIL_EVENT_WAIT_DEFAULT_MS } from './leases.ts';
import { TABLES, tableEnvVar, type TableId } from './tables.ts';

/** A configuration value is missing or malformed; the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type TableNames = Record<TableId, string>;

/**
 * Physical table names from the environment (`TABLE_ORDERS`, …), read once per process.
 * Throws when one is missing: there is no default table name to write to by accident.
 */
export function tableNamesFromEnv(env: NodeJS.ProcessEnv = process.env): TableNames {
  const names = {} as TableNames;
  for (const id of Object.keys(TABLES) as TableId[]) {
    const value = env[tableEnvVar(id)];
    if (!value) throw new ConfigError(`environment variable ${tableEnvVar(id)} is not set`);
    names[id] = value;
  }
  return names;
}

/** The local naming scheme: `<prefix>-<id>`, used by the embedded stack and the tests. */
export function localTableNames(prefix: string): TableNames {
  const names = {} as TableNames;
  for (const id of Object.keys(TABLES) as TableId[]) names[id] = `${prefix}-${id}`;
  return names;
}

export function tableEnv(names: TableNames): Record<string, string> {
  return Object.fromEntries((Object.keys(names) as TableId[]).map((id) => [tableEnvVar(id), names[id]]));
}

/**
 * AGGREGATION_OVERLAP_SECONDS: how far each aggregation run re-reads before the last watermark
 * (default 60). DynamoDB's indexes lag writes by a moment; dynalite's do not, so the embedded stack uses 5.
 */
export function overlapFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.AGGREGATION_OVERLAP_SECONDS;
  if (raw === undefined) return 60_000;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`AGGREGATION_OVERLAP_SECONDS must be a whole number of seconds, got ${JSON.stringify(raw)}`);
  return Number(raw) * 1000;
}

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
export function mailConfigFromEnv(env: NodeJS.ProcessEnv = process.env): MailConfig {
  const from = env.MAIL_FROM;
  if (!from) throw new ConfigError('environment variable MAIL_FROM is not set');
  const rate = env.MAIL_RATE_PER_SECOND ?? '1';
  if (!/^\d+(\.\d+)?$/.test(rate) || Number(rate) <= 0) throw new ConfigError(`MAIL_RATE_PER_SECOND must be a positive number, got ${JSON.stringify(rate)}`);
  const wait = env.MAIL_EVENT_WAIT_SECONDS ?? String(MAIL_EVENT_WAIT_DEFAULT_MS / 1000);
  if (!/^\d+$/.test(wait)) throw new ConfigError(`MAIL_EVENT_WAIT_SECONDS must be a whole number of seconds, got ${JSON.stringify(wait)}`);
  const threshold = thresholdFromEnv(env);
  const opt = (name: string) => (env[name] ? env[name] : undefined);
  return {
    from,
    ratePerSecond: Number(rate),
    eventWaitMs: Number(wait) * 1000,
    ...(opt('MAIL_FROM_NAME') ? { fromName: opt('MAIL_FROM_NAME')! } : {}),
    ...(opt('MAIL_REPLY_TO') ? { replyTo: opt('MAIL_REPLY_TO')! } : {}),
    ...(opt('SES_CONFIGURATION_SET') ? { configurationSet: opt('SES_CONFIGURATION_SET')! } : {}),
    ...(opt('FEEDBACK_MAILBOX') ? { feedbackMailbox: opt('FEEDBACK_MAILBOX')! } : {}),
    ...(opt('EXIT_REFUND_PROCEDURE') ? { exitRefundProcedure: opt('EXIT_REFUND_PROCEDURE')! } : {}),
    ...(threshold ? { thresholdOrders: threshold } : {}),
  };
}

/** THRESHOLD_ORDERS: the deployment's thresholdOrders, when ops set it apart from the campaign's placeholder. */
export function thresholdFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.THRESHOLD_ORDERS;
  if (raw === undefined || raw === '') return undefined;
  if (!/^[1-9]\d*$/.test(raw)) throw new ConfigError(`THRESHOLD_ORDERS must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

export interface NoticeConfig {
  /** The bucket the notice versions are written to (NOTICE_BUCKET). */
  bucket: string;
  /** Public base URL the bucket is read under: the CloudFront domain, or the local S3 server's bucket URL (NOTICE_BASE_URL). */
  publicBaseUrl: string;
  /** Where objections go (FEEDBACK_MAILBOX; default: the campaign's). */
  feedbackMailbox?: string;
  /**
   * Path-style bucket addressing, for an S3-compatible server at AWS_ENDPOINT_URL_S3 (the embedded
   * stack's s3rver); AWS itself gets virtual-hosted addressing.
   */
  forcePathStyle: boolean;
}

/** The publish function's configuration: NOTICE_BUCKET and NOTICE_BASE_URL are required. */
export function noticeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): NoticeConfig {
  const bucket = env.NOTICE_BUCKET;
  if (!bucket) throw new ConfigError('environment variable NOTICE_BUCKET is not set');
  const publicBaseUrl = env.NOTICE_BASE_URL;
  if (!publicBaseUrl) throw new ConfigError('environment variable NOTICE_BASE_URL is not set');
  if (!/^https?:\/\/[^\s"'<>]+$/.test(publicBaseUrl)) throw new ConfigError(`NOTICE_BASE_URL must be an http(s) URL, got ${JSON.stringify(publicBaseUrl)}`);
  return {
    bucket,
    publicBaseUrl,
    ...(env.FEEDBACK_MAILBOX ? { feedbackMailbox: env.FEEDBACK_MAILBOX } : {}),
    forcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL),
  };
}
