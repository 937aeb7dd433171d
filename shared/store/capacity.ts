import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { IndexDef } from '../tables.ts';

/**
 * DynamoDB capacity as AWS bills it, from the items on the wire. Sources (read 2026-11-29):
 *  - item size: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
 *  - read/write units: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
 *  - index writes: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations
 *
 * Writes: one write unit per started 1 KB of the item; every global secondary index whose keys the
 * item carries costs another write of the projected entry's size. Reads: GetItem and BatchGetItem
 * round each item up to 4 KB (a key that finds nothing still costs the minimum); Query and Scan round
 * the total bytes of one response up to 4 KB. Eventually consistent reads cost half, and index reads
 * are always eventually consistent.
 */

export const WRITE_UNIT_BYTES = 1024;
export const READ_UNIT_BYTES = 4096;

/** Bytes of one attribute value (without its name), by the rules of the item-size page. */
export function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S, 'utf8');
  if (v.N !== undefined) return numberSize(v.N);
  if (v.B !== undefined) return v.B.byteLength;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS !== undefined) return v.SS.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
  if (v.NS !== undefined) return v.NS.reduce((n, s) => n + numberSize(s), 0);
  if (v.BS !== undefined) return v.BS.reduce((n, b) => n + b.byteLength, 0);
  // A list or map: 3 bytes, plus 1 byte and the size of each element (a map's keys count as names).
  if (v.L !== undefined) return 3 + v.L.reduce((n, e) => n + 1 + valueSize(e), 0);
  if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((n, [k, e]) => n + 1 + Buffer.byteLength(k, 'utf8') + valueSize(e), 0);
  return 0;
}

/** A number: 1 byte per two significant digits, plus 1 (leading and trailing zeroes trimmed). */
export function numberSize(n: string): number {
  const digits = n
    .replace(/^-/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** Bytes of an item: the names and the values of its attributes. */
export function itemSize(item: Record<string, AttributeValue>): number {
  let n = 0;
  for (const [name, v] of Object.entries(item)) n += Buffer.byteLength(name, 'utf8') + valueSize(v);
  return n;
}

/** Write request units of one item of `bytes` (a delete costs the deleted item's size alike). */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
}

/** Read request units of one item read by GetItem / BatchGetItem (missing items cost the minimum). */
export function itemReadUnits(bytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES));
  return consistent ? units : units / 2;
}

/** Read request units of one Query or Scan response: its total bytes, rounded up once. */
export function pageReadUnits(totalBytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(totalBytes / READ_UNIT_BYTES));
  return consistent ? units : units / 2;
}

/**
 * The index entries a put writes: one per global secondary index whose keys the item carries
 * (sparse indexes cost nothing for items without their key), of the size of the projected entry.
 */
export function indexEntrySizes(item: Record<string, AttributeValue>, tableKeys: readonly string[], indexes: readonly IndexDef[]): number[] {
  const sizes: number[] = [];
  for (const ix of indexes) {
    const keys = [ix.partitionKey, ...(ix.sortKey ? [ix.sortKey] : [])];
    if (!keys.every((k) => item[k] !== undefined)) continue;
    const names = ix.project === 'ALL' ? Object.keys(item) : [...new Set([...tableKeys, ...keys, ...ix.project])];
    sizes.push(itemSize(Object.fromEntries(names.filter((k) => item[k] !== undefined).map((k) => [k, item[k]!]))));
  }
  return sizes;
}

/** Write units of putting one item into a table with these indexes (the base item and each index entry). */
export function putWriteUnits(item: Record<string, AttributeValue>, tableKeys: readonly string[], indexes: readonly IndexDef[]): { table: number; indexes: number } {
  return {
    table: writeUnits(itemSize(item)),
    indexes: indexEntrySizes(item, tableKeys, indexes).reduce((n, b) => n + writeUnits(b), 0),
  };
}
