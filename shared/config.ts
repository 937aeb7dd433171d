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
