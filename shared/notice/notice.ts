/**
 * The public delisting notice (摘牌公示, RULES.md clause 3) as data and as files: who is on it, when a
 * new numbered version is due, and its page, JSON and CSV. Pure: no I/O, no clock; every input is
 * passed in.
 *
 * The list is exactly the revoked providers of the current final decisions. Order counts and deposit
 * amounts are not public: only the name, the id, which requirement was not met (in words), the notice
 * date and the date from which each may re-apply. Each publication is an immutable version; a version
 * after the first carries every correction so far (who, what changed, in which version, when).
 */
import type { StoredDecision } from '../model.ts';
import type { Campaign } from '../rules/campaign.ts';
import type { Reason } from '../rules/rules.ts';
import { localDateTime, parseInstant, utcOffsetLabel } from '../rules/time.ts';
import { csv } from '../csv.ts';
import { displayName, html, type SafeHtml } from '../text/format.ts';
import { REASON_LABEL } from '../text/labels.ts';
import { renderPage } from '../pages/page.ts';

/** One delisted provider, as the public sees it. */
export interface NoticeEntry {
  providerId: string;
  /** The provider's name on one line (control characters and line breaks become spaces); its id if blank. */
  name: string;
  /** Only the failing requirements: `orders_below_threshold`, `deposit_not_paid_in_full`. */
  reasons: Reason[];
  noticeDate: string;
  reapplyFrom: string;
}

export type CorrectionChange = 'delisted' | 'reinstated' | 'amended';

/** A change of the list made public by a later version. */
export interface NoticeCorrection {
  /** The version that made the change. */
  version: number;
  providerId: string;
  name: string;
  /** `delisted`: added to the list; `reinstated`: taken off it; `amended`: its reasons or dates changed. */
  change: CorrectionChange;
  /** When the correction was published (the version's publishedAt). */
  at: string;
  /** The reasons after the change (delisted, amended) and before it (reinstated, amended). */
  reasons?: Reason[];
  previousReasons?: Reason[];
}

/** One published version: what `notice.json` holds, less the URLs. */
export interface NoticeVersion {
  campaignId: string;
  version: number;
  publishedAt: string;
  providers: NoticeEntry[];
  /** Every correction since version 1, oldest first. */
  corrections: NoticeCorrection[];
}

/**
 * The public list from the current decisions: final and revoked, nobody else (retained, not assessed
 * and preview decisions never appear), ordered by provider id.
 */
export function noticeEntries(decisions: readonly StoredDecision[]): NoticeEntry[] {
  return decisions
    .filter((d) => d.final && d.outcome === 'revoked')
    .map((d) => ({
      providerId: d.providerId,
      name: publicName(d.providerName, d.providerId),
      reasons: d.reasons.filter((r): r is Reason => r === 'orders_below_threshold' || r === 'deposit_not_paid_in_full'),
      noticeDate: d.noticeDate!,
      reapplyFrom: d.reapplyFrom!,
    }))
    .sort((a, b) => (a.providerId < b.providerId ? -1 : a.providerId > b.providerId ? 1 : 0));
}

/** The name as the notice prints it: one line of text, as in the mail (escaped again wherever it is markup). */
export const publicName = displayName;

const same = (a: NoticeEntry, b: NoticeEntry) => a.name === b.name && a.noticeDate === b.noticeDate && a.reapplyFrom === b.reapplyFrom && a.reasons.join() === b.reasons.join();

/**
 * The next version, or undefined when `entries` is the list `previous` already published (publishing
 * the same list twice writes nothing). The first version has no corrections; a later one adds, for
 * each provider whose line changed, a correction dated `publishedAt`.
 */
export function nextNoticeVersion(previous: NoticeVersion | undefined, entries: readonly NoticeEntry[], campaignId: string, publishedAt: string): NoticeVersion | undefined {
  if (previous && previous.providers.length === entries.length && previous.providers.every((p, i) => p.providerId === entries[i]!.providerId && same(p, entries[i]!))) {
    return undefined;
  }
  const version = (previous?.version ?? 0) + 1;
  const corrections = [...(previous?.corrections ?? [])];
  if (previous) {
    const before = new Map(previous.providers.map((p) => [p.providerId, p]));
    const after = new Map(entries.map((p) => [p.providerId, p]));
    const ids = [...new Set([...before.keys(), ...after.keys()])].sort();
    for (const providerId of ids) {
      const b = before.get(providerId);
      const a = after.get(providerId);
      if (a && !b) corrections.push({ version, providerId, name: a.name, change: 'delisted', at: publishedAt, reasons: a.reasons });
      else if (b && !a) corrections.push({ version, providerId, name: b.name, change: 'reinstated', at: publishedAt, previousReasons: b.reasons });
      else if (a && b && !same(a, b)) corrections.push({ version, providerId, name: a.name, change: 'amended', at: publishedAt, reasons: a.reasons, previousReasons: b.reasons });
    }
  }
  return { campaignId, version, publishedAt, providers: entries.map((e) => ({ ...e, reasons: [...e.reasons] })), corrections };
}

// ---------------------------------------------------------------------------------------------------
// Files

export interface NoticeLinks {
  /** The stable address of the newest version's page (`…/latest/index.html`). */
  latestUrl: string;
  /** This version's permanent page (`…/v<N>/index.html`). */
  versionUrl: string;
}

/** `notice.json`: the OPS.md `notice --json` shape, plus the version's own address. */
export function noticeJson(v: NoticeVersion, links: NoticeLinks) {
  return {
    campaignId: v.campaignId,
    version: v.version,
    publishedAt: v.publishedAt,
    url: links.latestUrl,
    versionUrl: links.versionUrl,
    providers: v.providers.map((p) => ({ providerId: p.providerId, name: p.name, reasons: p.reasons, noticeDate: p.noticeDate, reapplyFrom: p.reapplyFrom })),
    corrections: v.corrections,
  };
}

/** `notice.json` before anything is published (OPS.md). */
export function emptyNotice(campaignId: string) {
  return { campaignId, version: 0, providers: [] as NoticeEntry[] };
}

const CSV_HEADER = ['providerId', 'name', 'reasons', 'reasonsText', 'noticeDate', 'reapplyFrom'];

/** `notice.csv`: UTF-8 with a BOM (spreadsheet tools then read the Chinese correctly), one row per provider. */
export function noticeCsv(v: NoticeVersion): string {
  return csv(
    CSV_HEADER,
    v.providers.map((p) => [p.providerId, p.name, p.reasons, p.reasons.map((r) => REASON_LABEL.zh[r]).join('；'), p.noticeDate, p.reapplyFrom]),
    { bom: true },
  );
}

export interface NoticePageSettings {
  campaign: Campaign;
  /** Where objections go (RULES.md clause 3). */
  feedbackMailbox: string;
}

/**
 * The public page: Chinese, then English. Title, notice date, the rule applied (clauses 2.2 and 3),
 * the corrections, the list, what delisting means, where objections go, the downloads and the
 * earlier versions. Links are relative, so the same bytes serve `v<N>/` and `latest/`.
 */
export function renderNoticePage(v: NoticeVersion, s: NoticePageSettings): string {
  const c = s.campaign;
  const publishedMs = parseInstant(v.publishedAt);
  if (publishedMs === undefined) throw new RangeError(`publishedAt must be an ISO-8601 instant, got '${v.publishedAt}'`);
  const published = localDateTime(publishedMs, c.utcOffsetMinutes);
  const zone = c.timeZoneName;
  const offset = utcOffsetLabel(c.utcOffsetMinutes);
  const reapplyDays = c.reapplyAfterDays;
  const noticeDate = v.providers[0]?.noticeDate ?? c.noticeDate;
  const mailto = html`<a href="mailto:${s.feedbackMailbox}">${s.feedbackMailbox}</a>`;
  const count = v.providers.length;
  const zh = html`
<section lang="zh-CN" aria-labelledby="zh-title">
<header class="masthead">
<p class="kicker">抖音电商 · 抖店服务市场</p>
<h1 id="zh-title">抖音电商产业带服务商摘牌公示</h1>
<ul class="meta">
<li>公示日期：<b>${noticeDate}</b></li>
<li>版本：<b>第 ${v.version} 版</b></li>
<li>发布时间：<b>${published}</b>（${zone.zh}）</li>
</ul>
</header>
${v.corrections.length ? correctionsZh(v, c) : ''}
<p>根据${c.rulesTitle.zh}第 2.2 条及第 3 条，下列服务商在考核周期（${c.periodStartDate} 至 ${c.periodEndDate}）结束时未达到续牌要求（绑定店铺支付订单量达到考核线，且缴足 10 万元保证金），平台已取消其抖音电商产业带服务商认证身份，现予摘牌公示。</p>
<h2 id="zh-list">摘牌服务商名单（共 ${count} 家）</h2>
${count ? listTable('zh', v) : html`<p>本次无摘牌服务商。</p>`}
<h2>说明</h2>
<ul>
<li>自公示之日（${noticeDate}）起，上述服务商不得以“抖音电商产业带服务商”身份对外开展业务，仅作为抖店服务市场服务商。</li>
<li>原则上自公示之日起 ${reapplyDays} 天内不接受其产业带服务商申请，表中“可再次申请日期”为最早可再次申请的日期；再次申请时须说明此前被取消认证的情况。</li>
<li>考核数据以平台系统统计和核算的数据为准。如对公示内容有异议，请发送邮件至 ${mailto}，平台将进行评议。</li>
</ul>
${downloads('zh', v)}
</section>`;
  const en = html`
<section lang="en" class="lang-en" aria-labelledby="en-title">
<h1 id="en-title">Public delisting notice: Douyin E-commerce industrial-belt service providers</h1>
<ul class="meta">
<li>Notice date: <b>${noticeDate}</b></li>
<li>Version: <b>${v.version}</b></li>
<li>Published: <b>${published}</b> (${zone.en}, ${offset})</li>
</ul>
${v.corrections.length ? correctionsEn(v, c) : ''}
<p>Under clauses 2.2 and 3 of the ${c.rulesTitle.en} (${c.rulesTitle.zh}), the providers below did not meet the renewal requirements at the end of the assessment period (${c.periodStartDate} to ${c.periodEndDate}): the paid orders of their bound stores reaching the threshold, and a deposit of CNY 100,000 paid in full. The platform has revoked their certification as Douyin E-commerce industrial-belt service providers and publishes this delisting notice.</p>
<h2 id="en-list">Delisted providers (${count})</h2>
${count ? listTable('en', v) : html`<p>No provider is delisted.</p>`}
<h2>What this means</h2>
<ul>
<li>From the notice date (${noticeDate}), the providers above may no longer do business or present themselves as “Douyin E-commerce industrial-belt service providers” (抖音电商产业带服务商); they remain ordinary providers of the Douyin store service market (抖店服务市场).</li>
<li>In principle, no application from them to become an industrial-belt provider is accepted within ${reapplyDays} days of the notice date; the table gives the first date each may re-apply. A new application must state that the certification was revoked.</li>
<li>The platform’s own statistics are authoritative. Objections to this notice go to ${mailto}; the platform will review them.</li>
</ul>
${downloads('en', v)}
</section>`;
  const body = html`<main>
${zh}
${en}
<footer>
<p>${c.rulesTitle.zh} · 规则版本 Rules version ${c.rulesVersion} · 依据条款 Clauses 2.2, 3 · 第 ${v.version} 版 Version ${v.version}</p>
</footer>
</main>`;
  return renderPage({
    lang: 'zh-CN',
    title: `抖音电商产业带服务商摘牌公示（第 ${v.version} 版）/ Delisting notice, version ${v.version}`,
    description: `${noticeDate} 产业带服务商摘牌公示：${count} 家 / Delisting notice of ${noticeDate}: ${count} providers`,
    body,
  });
}

function reasonTags(lang: 'zh' | 'en', reasons: readonly Reason[]): SafeHtml {
  return html`${reasons.map((r) => html`<span class="tag bad">${REASON_LABEL[lang][r]}</span>`)}`;
}

function listTable(lang: 'zh' | 'en', v: NoticeVersion): SafeHtml {
  const h =
    lang === 'zh'
      ? { n: '序号', name: '服务商名称', id: '服务商ID', reasons: '未达标项', from: '可再次申请日期', cap: '摘牌服务商名单' }
      : { n: 'No.', name: 'Provider', id: 'Provider ID', reasons: 'Requirement not met', from: 'May re-apply from', cap: 'Delisted providers' };
  return html`<table class="cards notice-list" data-lang="${lang}">
<caption class="visually-hidden">${h.cap}</caption>
<thead><tr><th scope="col" class="num">${h.n}</th><th scope="col">${h.name}</th><th scope="col">${h.id}</th><th scope="col">${h.reasons}</th><th scope="col">${h.from}</th></tr></thead>
<tbody>
${v.providers.map(
  (
    p,
    i,
  ) => html`<tr data-provider-id="${p.providerId}"><td class="num" data-label="${h.n}">${i + 1}</td><td class="name" data-label="${h.name}">${p.name}</td><td class="id" data-label="${h.id}">${p.providerId}</td><td class="reasons" data-label="${h.reasons}">${reasonTags(lang, p.reasons)}</td><td class="date reapply" data-label="${h.from}">${p.reapplyFrom}</td></tr>
`,
)}</tbody>
</table>`;
}

function correctionsZh(v: NoticeVersion, c: Campaign): SafeHtml {
  const what = (k: NoticeCorrection) =>
    k.change === 'delisted'
      ? html`补充摘牌（${reasonTags('zh', k.reasons ?? [])}）`
      : k.change === 'reinstated'
        ? html`撤销摘牌，恢复产业带服务商身份`
        : html`未达标项更正为 ${reasonTags('zh', k.reasons ?? [])}（原为 ${reasonTags('zh', k.previousReasons ?? [])}）`;
  return html`<div class="box warn corrections" role="note" aria-labelledby="zh-corrections">
<h2 id="zh-corrections">更正</h2>
<p>本公示已更正；以最新版本为准。此前各版本仍可查阅。</p>
<table class="cards">
<caption class="visually-hidden">更正记录</caption>
<thead><tr><th scope="col">版本</th><th scope="col">服务商</th><th scope="col">更正内容</th><th scope="col">更正时间（${c.timeZoneName.zh}）</th></tr></thead>
<tbody>
${v.corrections.map(
  (
    k,
  ) => html`<tr data-provider-id="${k.providerId}" data-change="${k.change}"><td data-label="版本">第 ${k.version} 版</td><td data-label="服务商">${k.name}（<span class="id">${k.providerId}</span>）</td><td data-label="更正内容">${what(k)}</td><td class="date" data-label="更正时间">${cstOf(k.at, c)}</td></tr>
`,
)}</tbody>
</table>
</div>`;
}

function correctionsEn(v: NoticeVersion, c: Campaign): SafeHtml {
  const what = (k: NoticeCorrection) =>
    k.change === 'delisted'
      ? html`added to the list (${reasonTags('en', k.reasons ?? [])})`
      : k.change === 'reinstated'
        ? html`delisting withdrawn: certification restored`
        : html`requirement not met corrected to ${reasonTags('en', k.reasons ?? [])} (was ${reasonTags('en', k.previousReasons ?? [])})`;
  return html`<div class="box warn corrections" role="note" aria-labelledby="en-corrections">
<h2 id="en-corrections">Correction</h2>
<p>This notice has been corrected; the newest version applies. Earlier versions stay readable.</p>
<table class="cards">
<caption class="visually-hidden">Corrections</caption>
<thead><tr><th scope="col">Version</th><th scope="col">Provider</th><th scope="col">What changed</th><th scope="col">When (${utcOffsetLabel(c.utcOffsetMinutes)})</th></tr></thead>
<tbody>
${v.corrections.map(
  (
    k,
  ) => html`<tr data-provider-id="${k.providerId}" data-change="${k.change}"><td data-label="Version">${k.version}</td><td data-label="Provider">${k.name} (<span class="id">${k.providerId}</span>)</td><td data-label="What changed">${what(k)}</td><td class="date" data-label="When">${cstOf(k.at, c)}</td></tr>
`,
)}</tbody>
</table>
</div>`;
}

/** An instant as China time, `YYYY-MM-DD HH:MM`. */
function cstOf(at: string, c: Campaign): string {
  const ms = parseInstant(at);
  return ms === undefined ? at : localDateTime(ms, c.utcOffsetMinutes);
}

function downloads(lang: 'zh' | 'en', v: NoticeVersion): SafeHtml {
  const earlier = Array.from({ length: v.version - 1 }, (_, i) => v.version - 1 - i);
  if (lang === 'zh') {
    return html`<h2>下载与版本</h2>
<ul>
<li>名单数据：<a href="notice.json" type="application/json">notice.json</a>（JSON）、<a href="notice.csv" type="text/csv">notice.csv</a>（CSV，UTF-8）</li>
<li>最新版本：<a href="../latest/index.html">../latest/index.html</a>；本版本的固定地址：<a href="../v${v.version}/index.html">第 ${v.version} 版</a></li>
${earlier.length ? html`<li>此前版本：${earlier.map((n, i) => html`${i ? '、' : ''}<a href="../v${n}/index.html">第 ${n} 版</a>`)}</li>` : ''}
</ul>`;
  }
  return html`<h2>Downloads and versions</h2>
<ul>
<li>The list as data: <a href="notice.json" type="application/json">notice.json</a> (JSON), <a href="notice.csv" type="text/csv">notice.csv</a> (CSV, UTF-8)</li>
<li>Newest version: <a href="../latest/index.html">../latest/index.html</a>; this version’s permanent address: <a href="../v${v.version}/index.html">version ${v.version}</a></li>
${earlier.length ? html`<li>Earlier versions: ${earlier.map((n, i) => html`${i ? ', ' : ''}<a href="../v${n}/index.html">version ${n}</a>`)}</li>` : ''}
</ul>`;
}
