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
