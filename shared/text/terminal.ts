/** Terminal output: tables for people, progress on stderr. stdout carries only results. */
import { displayWidth, neutralizeBidi } from '#shared/text/format.ts';

/** Control characters (a provider name may carry any) are shown escaped, never sent to the terminal. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Text for a terminal cell: control characters escaped, bidi controls neutralized as in the notice. */
export const terminalText = (s: string): string => printable(neutralizeBidi(s));

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** Openers of a bidi embedding or override (closed by U+202C PDF) and of an isolate (closed by U+2069 PDI). */
const EMBEDDING = /[\u202A\u202B\u202D\u202E]/;
const ISOLATE = /[\u2066-\u2068]/;

/**
 * `s` as terminal text in at most `columns` columns: cut between graphemes (an emoji sequence or a
 * letter with its marks stays whole), measured by display width, with `…` where it was cut. Bidi
 * controls are neutralized first; should one remain, every embedding or isolate left open by the cut
 * is closed, so the rest of the row keeps its order.
 */
export function cut(s: string, columns: number): string {
  const text = terminalText(s);
  if (displayWidth(text) <= columns) return text;
  let out = '';
  let width = 0;
  for (const { segment } of graphemes.segment(text)) {
    const w = displayWidth(segment);
    if (width + w > columns - 1) break;
    out += segment;
    width += w;
  }
  return `${closeBidi(out)}…`;
}

/** `s` with a closer appended for each bidi embedding, override or isolate it leaves open. */
export function closeBidi(s: string): string {
  const open: string[] = [];
  for (const ch of s) {
    if (EMBEDDING.test(ch)) open.push('\u202C');
    else if (ISOLATE.test(ch)) open.push('\u2069');
    else if (ch === '\u202C' && open.at(-1) === '\u202C') open.pop();
    else if (ch === '\u2069') {
      // A PDI closes its isolate and every embedding opened inside it.
      const i = open.lastIndexOf('\u2069');
      if (i >= 0) open.length = i;
    }
  }
  return s + open.reverse().join('');
}

export type Align = 'left' | 'right';

/** Rows under headers in aligned columns, widths by display width (terminalText for every cell). */
export function table(headers: string[], rows: (string | number)[][], align: Align[] = []): string {
  const cells = rows.map((r) => r.map((c) => terminalText(String(c))));
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...cells.map((r) => displayWidth(r[i] ?? ''))));
  const pad = (s: string, i: number) => {
    const fill = ' '.repeat(widths[i]! - displayWidth(s));
    return align[i] === 'right' ? fill + s : s + fill;
  };
  const line = (r: string[]) => r.map(pad).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** A progress bar on stderr: redrawn in place on a terminal, a line per 10% otherwise. */
export class Progress {
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly tty = process.stderr.isTTY === true;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly quiet = false,
  ) {}

  update(done: number, extra = ''): void {
    if (this.quiet) return;
    const frac = this.total ? Math.min(1, done / this.total) : 1;
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw < 80 && done < this.total) return;
      this.lastDraw = now;
      const width = 30;
      const filled = Math.round(frac * width);
      const rate = done / Math.max(0.001, (now - this.started) / 1000);
      process.stderr.write(`\r${this.label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${this.total} ${(frac * 100).toFixed(0)}% ${rate.toFixed(0)}/s ${extra}\x1b[K`);
    } else {
      const decile = Math.floor(frac * 10);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      process.stderr.write(`${this.label}: ${done}/${this.total} (${decile * 10}%) ${extra}\n`);
    }
  }

  done(summary = ''): void {
    if (this.quiet) return;
    this.update(this.total);
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    process.stderr.write(`${this.tty ? '\n' : ''}${this.label}: done in ${secs}s ${summary}\n`);
  }
}
