/** Terminal output: tables for people, progress on stderr. stdout carries only results. */
import { displayWidth } from '#shared/mail/format.ts';

/** Control characters (a provider name may carry any) are shown escaped, never sent to the terminal. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export type Align = 'left' | 'right';

export function table(headers: string[], rows: (string | number)[][], align: Align[] = []): string {
  const cells = rows.map((r) => r.map((c) => printable(String(c))));
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
      process.stderr.write(
        `\r${this.label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${this.total} ${(frac * 100).toFixed(0)}% ${rate.toFixed(0)}/s ${extra}\x1b[K`,
      );
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
