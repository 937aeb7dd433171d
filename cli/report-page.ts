/**
 * The ops report as a page (`renewal report --html FILE`, `.local/report.html` after `npm start`): what
 * the terminal report shows, self-contained like the public notice (shared/pages/page.ts), for ops
 * only (never published). A view of the report use case, so it lives with the command that shows it;
 * the rendering is pure (no I/O, no clock), `writeReportPage` writes it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { displayName, formatCount, formatFen, html, type SafeHtml } from '#shared/text/format.ts';
import { labelOf, OUTCOME_LABEL, REASON_LABEL } from '#shared/text/labels.ts';
import { periodWindow, type Campaign } from '#shared/rules/campaign.ts';
import { daysElapsed, ordersPerWeek, projectedOrders } from '#shared/rules/progress.ts';
import { localDate, localDateTime, parseInstant, utcOffsetLabel } from '#shared/rules/time.ts';
import type { Report, ReportRow } from '#shared/usecases/report.ts';
import { renderPage, svgBar } from '#shared/pages/page.ts';

export interface ReportPageInput {
  report: Report;
  campaign: Campaign;
  /** Counted orders per CST day, all providers (the weekly chart). */
  byDay: Record<string, number>;
  /** When the page was made (shown, not used to decide anything). */
  generatedAt: string;
}

/** A provider's projection to the period end at its pace so far (previews only). */
export interface Projection {
  providerId: string;
  /** Days of the season up to and including the as-of day. */
  daysElapsed: number;
  projectedOrders: number;
  ordersAtRisk: boolean;
  depositAtRisk: boolean;
}

/**
 * Paid orders so far divided by the days elapsed (as-of day included), times the season's days,
 * rounded down. At risk: the projection is below the threshold, or the deposit is not yet in full.
 */
export function projection(row: ReportRow, asOf: string, campaign: Campaign): Projection | undefined {
  if (row.paidOrders === undefined || row.thresholdOrders === undefined) return undefined;
  const asOfMs = parseInstant(asOf);
  if (asOfMs === undefined) return undefined;
  const asOfDate = localDate(asOfMs, campaign.utcOffsetMinutes);
  const projected = projectedOrders(campaign, asOfDate, row.paidOrders);
  return {
    providerId: row.providerId,
    daysElapsed: daysElapsed(campaign, asOfDate),
    projectedOrders: projected,
    ordersAtRisk: projected < row.thresholdOrders,
    depositAtRisk: (row.depositBalanceFen ?? 0) < campaign.depositRequiredFen,
  };
}

const OUTCOME = {
  revoked: { zh: OUTCOME_LABEL.zh.revoked, en: OUTCOME_LABEL.en.revoked, tone: 'bad' },
  retained: { zh: OUTCOME_LABEL.zh.retained, en: OUTCOME_LABEL.en.retained, tone: 'good' },
  not_assessed: { zh: OUTCOME_LABEL.zh.not_assessed, en: OUTCOME_LABEL.en.not_assessed, tone: 'muted' },
} as const;
const ORDER = { revoked: 0, retained: 1, not_assessed: 2 } as const;

export function renderReportPage(p: ReportPageInput): string {
  const { report: r, campaign: c } = p;
  const rows = [...r.assessments].sort((a, b) => ORDER[a.outcome] - ORDER[b.outcome] || (a.providerId < b.providerId ? -1 : 1));
  const counts = { retained: 0, revoked: 0, not_assessed: 0 };
  for (const a of rows) counts[a.outcome]++;
  const asOf = r.asOf;
  const projections =
    !r.final && asOf
      ? new Map(
          rows.flatMap((a) => {
            const x = projection(a, asOf, c);
            return x ? [[a.providerId, x] as const] : [];
          }),
        )
      : new Map<string, Projection>();
  const atRisk = rows.filter((a) => {
    const x = projections.get(a.providerId);
    return x && (x.ordersAtRisk || x.depositAtRisk);
  });
  const title = `${r.final ? '续牌考核结果' : '续牌考核预览'} · ${r.campaignId} / ${r.final ? 'Final decisions' : 'Preview'}`;
  const body = html`<main class="wide">
<header class="masthead">
<p class="kicker">provider-renewal · 运营报告 Ops report · 仅供内部使用 Internal, not published</p>
<h1>${title}</h1>
<ul class="meta">
<li>${r.final ? html`<b>最终决定 Final</b>` : html`<b>预览 PREVIEW</b>：考核期尚未结束或尚无最终决定 (the period has not closed or no final run yet)`}</li>
${asOf ? html`<li>数据截至 As of <b>${cstTime(asOf, c)}</b></li>` : ''}
<li>考核周期 Period <b>${c.periodStartDate} ~ ${c.periodEndDate}</b></li>
<li>生成于 Generated <b>${cstTime(p.generatedAt, c)}</b> (${utcOffsetLabel(c.utcOffsetMinutes)})</li>
</ul>
</header>
<h2>按结果统计 Counts per outcome</h2>
<div class="tiles">
${(['retained', 'revoked', 'not_assessed'] as const).map((k) => html`<div class="tile" data-outcome="${k}"><span class="tag ${OUTCOME[k].tone}">${OUTCOME[k].zh} ${OUTCOME[k].en}</span><b>${counts[k]}</b></div>`)}
<div class="tile" data-outcome="total"><span class="tag muted">合计 total</span><b>${rows.length}</b></div>
</div>
${!r.final ? riskSection(atRisk, projections, c) : ''}
<h2>服务商 Providers</h2>
${rows.length ? providerTable(rows, projections, !r.final) : html`<p>尚无决定 No decisions yet: <code>renewal evaluate --campaign ${r.campaignId}</code></p>`}
<h2>每周计入订单量 Counted paid orders per week</h2>
${weeklyChart(p.byDay, c)}
<footer><p>订单量与保证金为内部数据，不对外公布。Order counts and deposits are internal: the public notice shows neither.</p></footer>
</main>`;
  return renderPage({ lang: 'zh-CN', title, body });
}

function cstTime(iso: string, c: Campaign): string {
  const ms = parseInstant(iso);
  return ms === undefined ? iso : localDateTime(ms, c.utcOffsetMinutes);
}

function reasons(list: readonly string[]): SafeHtml {
  return html`${list.map((k) => html`<span class="tag ${k.startsWith('not_') ? 'muted' : 'bad'}">${labelOf(REASON_LABEL.zh, k) ?? k} · ${labelOf(REASON_LABEL.en, k) ?? k}</span>`)}`;
}

function providerTable(rows: readonly ReportRow[], projections: Map<string, Projection>, preview: boolean): SafeHtml {
  const H = {
    id: '服务商ID Provider',
    name: '名称 Name',
    outcome: '结果 Outcome',
    orders: '支付订单量 Paid orders',
    threshold: '考核线 Threshold',
    bar: '进度 Progress',
    projected: '期末预计 Projected',
    deposit: '保证金 Deposit',
    reasons: '原因 Reasons',
    rev: '修订 Rev.',
    mail: '邮件 Mail',
  };
  // Wide: on a screen between a phone and a desktop it scrolls sideways in its own region.
  return html`<div class="table-scroll" role="region" aria-label="服务商 Providers" tabindex="0"><table class="cards report-list">
<caption class="visually-hidden">服务商 Providers</caption>
<thead><tr><th scope="col">${H.id}</th><th scope="col">${H.name}</th><th scope="col">${H.outcome}</th><th scope="col" class="num">${H.orders}</th><th scope="col" class="num">${H.threshold}</th><th scope="col">${H.bar}</th>${preview ? html`<th scope="col" class="num">${H.projected}</th>` : ''}<th scope="col" class="num">${H.deposit}</th><th scope="col">${H.reasons}</th><th scope="col" class="num">${H.rev}</th><th scope="col">${H.mail}</th></tr></thead>
<tbody>
${rows.map((a) => {
  const x = projections.get(a.providerId);
  const met = a.paidOrders !== undefined && a.thresholdOrders !== undefined && a.paidOrders >= a.thresholdOrders;
  return html`<tr data-provider-id="${a.providerId}" data-outcome="${a.outcome}"><td class="id" data-label="${H.id}">${a.providerId}</td><td class="name" data-label="${H.name}">${displayName(a.providerName, a.providerId)}</td><td data-label="${H.outcome}"><span class="tag outcome ${OUTCOME[a.outcome].tone}">${OUTCOME[a.outcome].zh} ${OUTCOME[a.outcome].en}</span></td><td class="num orders" data-label="${H.orders}">${a.paidOrders !== undefined ? formatCount(a.paidOrders) : '—'}</td><td class="num threshold" data-label="${H.threshold}">${a.thresholdOrders !== undefined ? formatCount(a.thresholdOrders) : '—'}</td><td data-label="${H.bar}">${
    a.paidOrders !== undefined && a.thresholdOrders
      ? svgBar({
          value: a.paidOrders,
          max: Math.max(a.thresholdOrders * 1.5, Math.min(a.paidOrders, a.thresholdOrders * 3)),
          mark: a.thresholdOrders,
          tone: met ? 'good' : 'bad',
          label: `${a.paidOrders} / ${a.thresholdOrders}`,
        })
      : '—'
  }</td>${preview ? html`<td class="num projected" data-label="${H.projected}">${x ? html`${formatCount(x.projectedOrders)}${x.ordersAtRisk ? html` <span class="tag warn">风险 at risk</span>` : ''}` : '—'}</td>` : ''}<td class="num deposit" data-label="${H.deposit}">${a.depositBalanceFen !== undefined ? formatFen(a.depositBalanceFen) : '—'}</td><td class="reasons" data-label="${H.reasons}">${a.reasons.length ? reasons(a.reasons) : '—'}</td><td class="num rev" data-label="${H.rev}">${a.revision || '—'}</td><td class="mail" data-label="${H.mail}">${a.mail ? html`${a.mail.status}${a.mail.detail ? html`<br><span class="note">${a.mail.detail}</span>` : ''}` : '—'}</td></tr>
`;
})}</tbody>
</table></div>`;
}

function riskSection(atRisk: readonly ReportRow[], projections: Map<string, Projection>, c: Campaign): SafeHtml {
  const sorted = [...atRisk].sort((a, b) => projections.get(a.providerId)!.projectedOrders / (a.thresholdOrders || 1) - projections.get(b.providerId)!.projectedOrders / (b.thresholdOrders || 1));
  return html`<div class="box warn at-risk">
<h2>风险名单 Providers at risk (${sorted.length})</h2>
<p>按目前的日均订单量推算至考核期末（${c.periodEndDate}），未达考核线或保证金尚未缴足的服务商。Projected to the period end at each provider's pace so far: below the threshold, or the deposit not yet paid in full.</p>
${
  sorted.length
    ? html`<ul class="risk-list">${sorted.map((a) => {
        const x = projections.get(a.providerId)!;
        return html`<li data-provider-id="${a.providerId}"><span class="id">${a.providerId}</span> ${displayName(a.providerName, a.providerId)}：${x.ordersAtRisk ? html`预计 projected ${formatCount(x.projectedOrders)} / ${formatCount(a.thresholdOrders ?? 0)}` : ''}${x.ordersAtRisk && x.depositAtRisk ? '；' : ''}${x.depositAtRisk ? html`保证金 deposit ${formatFen(a.depositBalanceFen ?? 0)} / ${formatFen(c.depositRequiredFen)}` : ''}</li>`;
      })}</ul>`
    : html`<p>无 None.</p>`
}
</div>`;
}

function weeklyChart(byDay: Record<string, number>, c: Campaign): SafeHtml {
  const weeks = ordersPerWeek(periodWindow(c).days, byDay).map((w) => ({ n: w.number, from: w.days[0]!, to: w.days.at(-1)!, orders: w.orders }));
  const max = Math.max(1, ...weeks.map((w) => w.orders));
  const total = weeks.reduce((s, w) => s + w.orders, 0);
  return html`<p>全部服务商合计 All providers: <b>${formatCount(total)}</b></p>
<table class="cards weekly">
<caption class="visually-hidden">每周计入订单量 Counted paid orders per week</caption>
<thead><tr><th scope="col">周 Week</th><th scope="col">日期 Dates</th><th scope="col" class="num">订单 Orders</th><th scope="col">图 Chart</th></tr></thead>
<tbody>
${weeks.map(
  (
    w,
  ) => html`<tr><td data-label="周 Week">${w.n}</td><td class="date" data-label="日期 Dates">${w.from} ~ ${w.to}</td><td class="num" data-label="订单 Orders">${formatCount(w.orders)}</td><td data-label="图 Chart">${svgBar({ value: w.orders, max, label: `${w.orders}` })}</td></tr>
`,
)}</tbody>
</table>`;
}

/** Writes the report page (`renewal report --html FILE`, `.local/report.html`); returns its absolute path. */
export async function writeReportPage(file: string, report: Report, campaign: Campaign, byDay: Record<string, number>): Promise<string> {
  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderReportPage({ report, campaign, byDay, generatedAt: new Date().toISOString() }));
  return path;
}
