/**
 * A tiny document model for the mails: each mail's content is written once per language as blocks, and
 * the HTML and plain-text parts are both rendered from those blocks, so the two parts cannot drift apart.
 *
 * The HTML targets mail clients, not browsers: tables for layout, inline styles only (no <style>, no
 * classes), no scripts, no images; bars are table cells with a background colour and a width in percent.
 */
import { displayWidth, html, type HtmlPart, rawHtml, type SafeHtml } from '../text/format.ts';

export type Lang = 'zh' | 'en';
export type Tone = 'good' | 'bad' | 'info' | 'warn';

/** A run of inline text: plain, bold, or a link (shown with its address in the plain-text part). */
export type Inline = string | { bold: string } | { href: string; text: string };
export type Runs = readonly Inline[];

export interface TableRow {
  cells: readonly string[];
  tone?: Tone;
}

export interface WeekRow {
  label: string;
  range: string;
  /** Counted orders; undefined for a week that has not started yet. */
  orders: number | undefined;
  ordersText: string;
  /** Bar length in percent of the largest week, 0..100. */
  percent: number;
  current: boolean;
  /** Said of the current week, e.g. '本周（截至 2024-01-15）'. */
  currentNote: string;
}

export type Block =
  | { kind: 'title'; text: string }
  | { kind: 'heading'; text: string }
  | { kind: 'p'; runs: Runs }
  | { kind: 'result'; text: string; tone: Tone }
  | { kind: 'list'; items: readonly Runs[] }
  | { kind: 'table'; head: readonly string[]; rows: readonly TableRow[] }
  | { kind: 'box'; tone: Tone; title: string; paras: readonly Runs[]; items?: readonly Runs[] }
  | { kind: 'bar'; percent: number; tone: Tone }
  | { kind: 'weeks'; rows: readonly WeekRow[] };

/** One line of the footer, bilingual: `zh` then `en` label, then the value. */
export interface FooterItem {
  zh: string;
  en: string;
  value: string;
}

export interface MailDocument {
  title: string;
  accent: Tone;
  zh: readonly Block[];
  en: readonly Block[];
  footer: readonly FooterItem[];
  /** Bilingual closing notes of the footer, each in both languages. */
  footerNotes: readonly { zh: string; en: string }[];
}

const COLORS: Record<Tone, { fg: string; bg: string; bar: string }> = {
  good: { fg: '#1a7f37', bg: '#e8f5ec', bar: '#2da44e' },
  bad: { fg: '#b42318', bg: '#fdecea', bar: '#d92d20' },
  info: { fg: '#1d4ed8', bg: '#e8effd', bar: '#2563eb' },
  warn: { fg: '#92400e', bg: '#fef3c7', bar: '#d97706' },
};

// CJK fonts first for the Chinese part; Latin fonts first for the English part, or CJK fonts would draw its
// quotes and apostrophes full-width.
const FONT_ZH = 'font-family:-apple-system,BlinkMacSystemFont,PingFang SC,Hiragino Sans GB,Microsoft YaHei,Noto Sans CJK SC,Noto Sans SC,Segoe UI,Arial,sans-serif;';
const FONT_EN = 'font-family:-apple-system,BlinkMacSystemFont,Segoe UI,Helvetica Neue,Arial,PingFang SC,Hiragino Sans GB,Microsoft YaHei,Noto Sans CJK SC,Noto Sans SC,sans-serif;';
const TABLE = rawHtml('role="presentation" cellpadding="0" cellspacing="0" border="0"');
const EMPTY_BAR_COLOR = '#e5e7eb';

// ---------------------------------------------------------------------------------------------------
// HTML

export function renderHtml(doc: MailDocument): string {
  const accent = COLORS[doc.accent];
  const footerItems = doc.footer.map((f) => html`${f.zh} <span lang="en" style="${FONT_EN}">${f.en}</span>: ${f.value}`);
  const out = html`<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${doc.title}</title>
</head>
<body style="margin:0;padding:0;background-color:#f3f4f6;">
<table ${TABLE} width="100%" style="background-color:#f3f4f6;">
<tr><td align="center" style="padding:24px 12px;">
<table ${TABLE} width="640" style="width:100%;max-width:640px;background-color:#ffffff;border:1px solid #e5e7eb;">
<tr><td style="background-color:${accent.bar};height:6px;font-size:0;line-height:0;">&nbsp;</td></tr>
<tr><td lang="zh-CN" style="${FONT_ZH}padding:28px 32px 12px;color:#1f2937;font-size:15px;line-height:1.75;">
${doc.zh.map(blockHtml)}</td></tr>
<tr><td style="padding:0 32px;"><table ${TABLE} width="100%"><tr><td style="border-top:1px solid #e5e7eb;height:1px;font-size:0;line-height:0;">&nbsp;</td></tr></table></td></tr>
<tr><td lang="en" style="${FONT_EN}padding:24px 32px 12px;color:#1f2937;font-size:15px;line-height:1.6;">
${doc.en.map(blockHtml)}</td></tr>
<tr><td style="${FONT_ZH}padding:16px 32px;background-color:#f9fafb;border-top:1px solid #e5e7eb;color:#6b7280;font-size:12px;line-height:1.6;">
${footerItems.map((f, i) => html`${i > 0 ? rawHtml('<br>\n') : ''}${f}`)}
${doc.footerNotes.map((n) => html`<br>\n${n.zh}<br>\n<span lang="en" style="${FONT_EN}">${n.en}</span>`)}
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`;
  return out.value;
}

function runsHtml(runs: Runs): SafeHtml {
  return html`${runs.map((r): HtmlPart => {
    if (typeof r === 'string') return r;
    if ('bold' in r) return html`<strong>${r.bold}</strong>`;
    return html`<a href="${r.href}" style="color:#1d4ed8;text-decoration:underline;">${r.text}</a>`;
  })}`;
}

function blockHtml(b: Block): SafeHtml {
  switch (b.kind) {
    case 'title':
      return html`<h1 style="margin:0 0 16px;font-size:20px;line-height:1.4;color:#111827;">${b.text}</h1>\n`;
    case 'heading':
      return html`<h2 style="margin:20px 0 8px;font-size:16px;line-height:1.4;color:#111827;">${b.text}</h2>\n`;
    case 'p':
      return html`<p style="margin:0 0 12px;">${runsHtml(b.runs)}</p>\n`;
    case 'result': {
      const c = COLORS[b.tone];
      return html`<table ${TABLE} style="margin:4px 0 16px;"><tr><td style="background-color:${c.bg};color:${c.fg};border:1px solid ${c.fg};padding:8px 16px;font-size:16px;font-weight:bold;">${b.text}</td></tr></table>\n`;
    }
    case 'list':
      return html`<ul style="margin:0 0 12px;padding-left:22px;">\n${b.items.map((i) => html`<li style="margin:0 0 8px;">${runsHtml(i)}</li>\n`)}</ul>\n`;
    case 'table':
      return tableHtml(b.head, b.rows);
    case 'box': {
      const c = COLORS[b.tone];
      const list = b.items?.length ? html`<ul style="margin:4px 0 0;padding-left:22px;">\n${b.items.map((i) => html`<li style="margin:0 0 4px;">${runsHtml(i)}</li>\n`)}</ul>\n` : '';
      return html`<table ${TABLE} width="100%" style="margin:0 0 16px;"><tr><td style="background-color:${c.bg};border-left:4px solid ${c.fg};padding:12px 16px;">
<p style="margin:0 0 6px;color:${c.fg};font-weight:bold;">${b.title}</p>
${b.paras.map((p) => html`<p style="margin:0 0 6px;">${runsHtml(p)}</p>\n`)}${list}</td></tr></table>\n`;
    }
    case 'bar':
      return html`<table ${TABLE} width="100%" style="margin:0 0 12px;border:1px solid #d1d5db;"><tr>${barCells(b.percent, COLORS[b.tone].bar, 18)}</tr></table>\n`;
    case 'weeks':
      return weeksHtml(b.rows);
  }
}

/** The filled and the empty part of a bar; a part of 0 % is left out, as some clients draw it anyway. */
function barCells(percent: number, color: string, height: number): SafeHtml {
  const filled = Math.max(0, Math.min(100, Math.round(percent)));
  const cell = (width: number, bg: string) => html`<td width="${width}%" style="width:${width}%;height:${height}px;background-color:${bg};font-size:0;line-height:0;">&nbsp;</td>`;
  return html`${filled > 0 ? cell(filled, color) : ''}${filled < 100 ? cell(100 - filled, EMPTY_BAR_COLOR) : ''}`;
}

function tableHtml(head: readonly string[], rows: readonly TableRow[]): SafeHtml {
  const th = 'padding:8px 10px;border:1px solid #e5e7eb;background-color:#f9fafb;text-align:left;font-size:13px;color:#374151;';
  const td = 'padding:8px 10px;border:1px solid #e5e7eb;font-size:14px;vertical-align:top;';
  return html`<table ${TABLE} width="100%" style="border-collapse:collapse;margin:0 0 16px;">
<tr>${head.map((h) => html`<th style="${th}">${h}</th>`)}</tr>
${rows.map((r) => {
  const last = r.cells.length - 1;
  return html`<tr>${r.cells.map((c, i) =>
    i === last && r.tone ? html`<td style="${td}color:${COLORS[r.tone].fg};font-weight:bold;white-space:nowrap;">${c}</td>` : html`<td style="${td}">${c}</td>`,
  )}</tr>\n`;
})}</table>\n`;
}

function weeksHtml(rows: readonly WeekRow[]): SafeHtml {
  const cell = 'padding:3px 8px 3px 0;font-size:12px;line-height:1.4;white-space:nowrap;';
  return html`<table ${TABLE} width="100%" style="margin:0 0 16px;">
${rows.map((r) => {
  const color = r.current ? COLORS.warn.bar : COLORS.info.bar;
  const weight = r.current ? 'font-weight:bold;' : '';
  const bar = r.orders === undefined ? html`<td style="height:12px;border:1px dashed #d1d5db;font-size:0;line-height:0;">&nbsp;</td>` : barCells(r.percent, color, 12);
  return html`<tr><td style="${cell}color:#374151;${weight}">${r.label}</td><td style="${cell}color:#6b7280;">${r.range}</td><td width="100%" style="padding:3px 0;"><table ${TABLE} width="100%"><tr>${bar}</tr></table></td><td style="${cell}padding:3px 0 3px 8px;text-align:right;color:#111827;${weight}">${r.ordersText}</td></tr>\n`;
})}</table>\n`;
}

// ---------------------------------------------------------------------------------------------------
// Plain text

function padEndWidth(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - displayWidth(s)));
}

/** `[████████████░░░░░░░░]` for a percentage, `width` cells wide; rounds down so a bar is only full at 100 %. */
export function asciiBar(percent: number, width = 20): string {
  const p = Math.max(0, Math.min(100, percent));
  const filled = Math.floor((p * width) / 100);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

function runsText(runs: Runs): string {
  return runs
    .map((r) => {
      if (typeof r === 'string') return r;
      if ('bold' in r) return r.bold;
      if (r.href === `mailto:${r.text}`) return r.text;
      // Angle brackets delimit a URL in plain text, so no client takes the following punctuation into the link.
      return r.href === r.text ? `<${r.href}>` : `${r.text} <${r.href}>`;
    })
    .join('');
}

/**
 * A table row as one line of text, for any number of columns: the first cell names the row and the
 * second is its value, read under that name; every further cell follows with its column's heading.
 * `- Deposit: ¥60,000.00 | Requirement: ¥100,000.00 paid in full | Result: not paid in full`.
 */
function rowText(head: readonly string[], cells: readonly string[], colon: string): string {
  const [name = '', value = '', ...rest] = cells;
  return [`${name}${colon}${value}`, ...rest.map((c, i) => `${head[i + 2] ?? ''}${colon}${c}`)].join(' | ');
}

function blockText(b: Block, lang: Lang): string[] {
  const colon = lang === 'zh' ? '：' : ': ';
  switch (b.kind) {
    case 'title':
      return [b.text, '='.repeat(displayWidth(b.text)), ''];
    case 'heading':
      return [b.text, '-'.repeat(displayWidth(b.text))];
    case 'p':
      return [runsText(b.runs), ''];
    case 'result':
      return [`>> ${b.text} <<`, ''];
    case 'list':
      return [...b.items.map((i) => `- ${runsText(i)}`), ''];
    case 'table':
      return [...b.rows.map((r) => `- ${rowText(b.head, r.cells, colon)}`), ''];
    case 'box':
      return [`*** ${b.title} ***`, ...b.paras.map(runsText), ...(b.items ?? []).map((i) => `- ${runsText(i)}`), '***', ''];
    case 'bar':
      return [`${asciiBar(b.percent)} ${Math.floor(b.percent)}%`, ''];
    case 'weeks': {
      const labelW = Math.max(...b.rows.map((r) => displayWidth(r.label)));
      const rangeW = Math.max(...b.rows.map((r) => displayWidth(r.range)));
      return [
        ...b.rows.map((r) => {
          const bar = r.orders === undefined ? ' '.repeat(12) : asciiBar(r.percent, 10);
          const mark = r.current ? `  ← ${r.currentNote}` : '';
          return `${padEndWidth(r.label, labelW)}  ${padEndWidth(r.range, rangeW)}  ${bar} ${r.ordersText}${mark}`.trimEnd();
        }),
        '',
      ];
    }
  }
}

export function renderText(doc: MailDocument): string {
  const lines: string[] = [];
  for (const b of doc.zh) lines.push(...blockText(b, 'zh'));
  lines.push('', '—— English ——', '');
  for (const b of doc.en) lines.push(...blockText(b, 'en'));
  lines.push('', '----');
  for (const f of doc.footer) lines.push(`${f.zh} ${f.en}: ${f.value}`);
  for (const n of doc.footerNotes) lines.push(n.zh, n.en);
  // Collapse the blank lines that adjacent blocks leave, and end with one newline.
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}
