import { createHash } from 'node:crypto';
import { html, rawHtml, type SafeHtml } from '../text/format.ts';

/**
 * The shell of the pages this project writes (the public delisting notice and the ops report):
 * self-contained HTML with one stylesheet, no script, font or image from anywhere, and a
 * Content-Security-Policy that says so. The stylesheet is a constant, so its hash is too: the page's
 * own `<meta>` policy and the CloudFront response headers policy (cdk/) allow exactly this style
 * block and nothing else, without 'unsafe-inline'.
 *
 * Pages render with JavaScript off, fit a 360 px phone (tables become one card per row) and print
 * on A4.
 */

export const PAGE_CSS = `
:root{color-scheme:light;--ink:#1f2329;--muted:#5c6370;--line:#d9dce1;--soft:#f5f6f8;--accent:#b4232a;--good:#1a7f37;--warn:#9a6700;--info:#0b5cad}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#fff;color:var(--ink);font:16px/1.6 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","WenQuanYi Zen Hei",sans-serif;overflow-wrap:break-word}
main{max-width:62rem;margin:0 auto;padding:1.25rem 1rem 2.5rem}
main.wide{max-width:90rem}
td.name,.risk-list li{overflow-wrap:anywhere}
td.name{min-width:9rem}
td.reasons{min-width:8rem}
td.mail{min-width:12rem}
.note{overflow-wrap:anywhere}
.table-scroll{overflow-x:auto}
header.masthead{border-bottom:3px solid var(--accent);padding-bottom:.75rem;margin-bottom:1.25rem}
.kicker{margin:0;color:var(--muted);font-size:.875rem;letter-spacing:.02em}
h1{font-size:1.625rem;line-height:1.3;margin:.25rem 0 .5rem}
h2{font-size:1.25rem;line-height:1.35;margin:2rem 0 .75rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
h3{font-size:1.0625rem;margin:1.25rem 0 .5rem}
p{margin:.5rem 0}
a{color:var(--info)}
.meta{display:flex;flex-wrap:wrap;gap:.25rem 1.5rem;margin:0;padding:0;list-style:none;color:var(--muted);font-size:.9375rem}
.meta b{color:var(--ink);font-weight:600}
.box{border:1px solid var(--line);border-left:4px solid var(--info);background:var(--soft);padding:.75rem 1rem;margin:1rem 0;border-radius:4px}
.box.warn{border-left-color:var(--warn)}
.box.bad{border-left-color:var(--accent)}
.box h2,.box h3{margin-top:.25rem;border:0}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.9375rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border-bottom:1px solid var(--line);padding:.5rem .5rem;text-align:left;vertical-align:top}
thead th{background:var(--soft);font-weight:600;vertical-align:bottom}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
td.date{white-space:nowrap;font-variant-numeric:tabular-nums}
code,.id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.875em}
.tag{display:inline-block;padding:0 .4rem;margin:0 .25rem .125rem 0;border-radius:3px;border:1px solid currentColor;font-size:.8125rem;line-height:1.5}
.tag.bad{color:var(--accent)}
.tag.good{color:var(--good)}
.tag.warn{color:var(--warn)}
.tag.muted{color:var(--muted)}
.tag.outcome{white-space:nowrap}
.lang-en{margin-top:2.5rem;padding-top:1rem;border-top:2px dashed var(--line)}
.note{color:var(--muted);font-size:.8125rem}
footer{margin-top:2.5rem;padding-top:.75rem;border-top:1px solid var(--line);color:var(--muted);font-size:.8125rem}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.75rem;margin:1rem 0}
.tile{border:1px solid var(--line);border-radius:4px;padding:.5rem .75rem}
.tile b{display:block;font-size:1.75rem;line-height:1.2;font-variant-numeric:tabular-nums}
svg.bar{display:block;width:100%;min-width:5rem;height:.875rem}
svg.bar .track{fill:var(--soft);stroke:var(--line);stroke-width:.5}
svg.bar .fill{fill:var(--info)}
svg.bar .fill.good{fill:var(--good)}
svg.bar .fill.bad{fill:var(--accent)}
svg.bar .fill.warn{fill:var(--warn)}
svg.bar .line{stroke:var(--ink);stroke-width:1.5}
ol.versions{padding-left:1.25rem}
.visually-hidden{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
@media (max-width:40rem){
  body{font-size:15px}
  main{padding:1rem .75rem 2rem}
  h1{font-size:1.375rem}
  table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
  table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
  table.cards tr{border:1px solid var(--line);border-radius:4px;margin:0 0 .75rem;padding:.25rem .5rem}
  table.cards td,table.cards td *{overflow-wrap:anywhere}
  table.cards td.name,table.cards td.reasons,table.cards td.mail{min-width:0}
  table.cards td{position:relative;border:0;padding:.25rem 0 .25rem 8rem;min-height:1.75rem;text-align:left;white-space:normal}
  table.cards td::before{content:attr(data-label);position:absolute;left:0;top:.3rem;width:7.5rem;color:var(--muted);font-size:.8125rem;line-height:1.4}
  td.num,td.date{white-space:normal}
}
@page{size:A4;margin:14mm 12mm}
@media print{
  body{font-size:10.5pt;line-height:1.5}
  main{max-width:none;padding:0}
  a{color:inherit;text-decoration:none}
  .box,.tile{break-inside:avoid}
  tr{break-inside:avoid}
  thead{display:table-header-group}
  .table-scroll{overflow:visible}
  td.name,td.reasons,td.mail{min-width:0}
  table.report-list{font-size:8pt}
  table.report-list th,table.report-list td{padding:.25rem .2rem;overflow-wrap:anywhere}
  .tag.outcome{white-space:normal}
  svg.bar{min-width:2.5rem}
  h2,h3{break-after:avoid}
  .no-print{display:none}
}
`;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('base64');

/**
 * The policy in the page's own `<meta>`: nothing may load or run but this stylesheet (by its hash).
 * `img-src data:` only so that the browser's favicon request is answered by the page's empty data:
 * icon instead of a request to the server.
 */
export const PAGE_CSP = `default-src 'none'; style-src 'sha256-${sha256(PAGE_CSS)}'; img-src data:; base-uri 'none'; form-action 'none'`;

/**
 * The same policy as a response header (CloudFront), with what only a header can say: the page may
 * not be framed.
 */
export const PAGE_CSP_HEADER = `${PAGE_CSP}; frame-ancestors 'none'`;

export interface PageInput {
  lang: 'zh-CN' | 'en';
  title: string;
  description?: string;
  body: SafeHtml;
}

/** A complete HTML document around `body`: charset, viewport, policy, stylesheet, and nothing else. */
export function renderPage(p: PageInput): string {
  return `<!doctype html>\n${html`<html lang="${p.lang}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${PAGE_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
${p.description ? html`<meta name="description" content="${p.description}">` : ''}
<title>${p.title}</title>
<link rel="icon" href="data:,">
<style>${rawHtml(PAGE_CSS)}</style>
</head>
<body>
${p.body}
</body>
</html>
`}`;
}

/**
 * A horizontal bar as inline SVG (no style attribute, so the policy needs no 'unsafe-inline'):
 * `value` of `max`, an optional marker line at `mark` (the threshold), a tone for the fill.
 */
export function svgBar(p: { value: number; max: number; mark?: number; tone?: 'good' | 'bad' | 'warn' | 'info'; label: string }): SafeHtml {
  const max = Math.max(1, p.max);
  const w = (n: number) => Math.max(0, Math.min(100, (n / max) * 100)).toFixed(2);
  return html`<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="${p.label}"><rect class="track" x="0" y="0" width="100" height="10"></rect><rect class="fill ${p.tone ?? 'info'}" x="0" y="0" width="${w(p.value)}" height="10"></rect>${
    p.mark !== undefined ? html`<line class="line" x1="${w(p.mark)}" x2="${w(p.mark)}" y1="0" y2="10"></line>` : ''
  }</svg>`;
}
