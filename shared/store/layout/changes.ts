/**
 * The `changes` table's key layout, in one place (what a record says is `../changes.ts`):
 *
 * | item          | pk            | sk                       |
 * |---------------|---------------|--------------------------|
 * | change record | `CH#<shard>`  | `<writtenAt>#<recordId>` |
 *
 * A stored event names the record that announces it by a reference, `<pk>|<sk>` (its `cr`
 * attribute): pk never holds `|`, so the first `|` splits a reference whatever the record id holds.
 */

export const changePk = (shard: number) => `CH#${shard}`;

/** The key of a change record written at `writtenAt` (UTC ISO-8601). */
export const changeKey = (shard: number, writtenAt: string, recordId: string) => ({ pk: changePk(shard), sk: `${writtenAt}#${recordId}` });

/**
 * The sk bounds for `BETWEEN` that hold every record written in `[fromIso, toIso)`, and the test that
 * drops the ones BETWEEN lets in at `toIso` itself (`<toIso>#…` sorts above `toIso`).
 */
export const writtenRange = (fromIso: string, toIso: string) => ({ from: fromIso, to: toIso, within: (sk: string) => sk < toIso });

/** The reference an event's item carries to the record that announces it. */
export const recordRef = (key: Record<string, unknown>) => `${key.pk as string}|${key.sk as string}`;

/** The key of the record a reference names (the inverse of `recordRef`). */
export function recordKey(ref: string): { pk: string; sk: string } {
  const i = ref.indexOf('|');
  if (i < 0) throw new RangeError(`${JSON.stringify(ref)} is not a change-record reference`);
  return { pk: ref.slice(0, i), sk: ref.slice(i + 1) };
}
