import { neutralizeBidi } from './text/format.ts';

/**
 * RFC 4180 CSV, for the report and the public notice. A cell that a spreadsheet would run as a
 * formula (=, +, -, @, tab or CR first) is prefixed with a quote: provider names are the providers'
 * own text. Bidi controls become spaces, as in the notice and the mails (`neutralizeBidi`), so a name
 * cannot reverse the rest of its line. Lines end with CRLF; arrays become `a;b`.
 */
export function csvCell(v: unknown): string {
  let s = neutralizeBidi(v === undefined || v === null ? '' : Array.isArray(v) ? v.join(';') : String(v));
  if (/^[=+\-@\t\r]/.test(s) && typeof v === 'string') s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A header line and one line per row. `bom` prepends U+FEFF so spreadsheet tools read UTF-8 (Chinese) correctly. */
export function csv(header: readonly string[], rows: readonly (readonly unknown[])[], opts: { bom?: boolean } = {}): string {
  const lines = [header.map(csvCell).join(','), ...rows.map((r) => r.map(csvCell).join(','))];
  return `${opts.bom ? '\uFEFF' : ''}${lines.join('\r\n')}\r\n`;
}
