/** The notice's public page (HTML), Chinese then English, from one version. Pure. */
import type { Campaign } from '../rules/campaign.ts';
import type { Reason } from '../rules/rules.ts';
import { localDateTime, parseInstant, utcOffsetLabel } from '../rules/time.ts';
import { html, type SafeHtml } from '../text/format.ts';
import { REASON_LABEL } from '../text/labels.ts';
import { renderPage } from '../pages/page.ts';
import type { NoticeCorrection, NoticeVersion } from './versions.ts';

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
${v.corrections.length ? corrections('zh', v, c) : ''}
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
${v.corrections.length ? corrections('en', v, c) : ''}
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

/** The corrections section's words, one table per language over one structure (as the mail's copy). */
interface CorrectionsCopy {
  title: string;
  intro: string;
  caption: string;
  /** Column labels: version, provider, what changed, when (the header adds the zone). */
  version: string;
  provider: string;
  what: string;
  when: string;
  whenHeader: (c: Campaign) => string;
  versionCell: (n: number) => string;
  providerCell: (k: NoticeCorrection) => SafeHtml;
  delisted: (reasons: SafeHtml) => SafeHtml;
  reinstated: SafeHtml;
  amended: (reasons: SafeHtml, previous: SafeHtml) => SafeHtml;
}

const CORRECTIONS_COPY: Record<'zh' | 'en', CorrectionsCopy> = {
  zh: {
    title: '更正',
    intro: '本公示已更正；以最新版本为准。此前各版本仍可查阅。',
    caption: '更正记录',
    version: '版本',
    provider: '服务商',
    what: '更正内容',
    when: '更正时间',
    whenHeader: (c) => `更正时间（${c.timeZoneName.zh}）`,
    versionCell: (n) => `第 ${n} 版`,
    providerCell: (k) => html`${k.name}（<span class="id">${k.providerId}</span>）`,
    delisted: (r) => html`补充摘牌（${r}）`,
    reinstated: html`撤销摘牌，恢复产业带服务商身份`,
    amended: (r, was) => html`未达标项更正为 ${r}（原为 ${was}）`,
  },
  en: {
    title: 'Correction',
    intro: 'This notice has been corrected; the newest version applies. Earlier versions stay readable.',
    caption: 'Corrections',
    version: 'Version',
    provider: 'Provider',
    what: 'What changed',
    when: 'When',
    whenHeader: (c) => `When (${utcOffsetLabel(c.utcOffsetMinutes)})`,
    versionCell: (n) => `${n}`,
    providerCell: (k) => html`${k.name} (<span class="id">${k.providerId}</span>)`,
    delisted: (r) => html`added to the list (${r})`,
    reinstated: html`delisting withdrawn: certification restored`,
    amended: (r, was) => html`requirement not met corrected to ${r} (was ${was})`,
  },
};

/** The 更正 / Correction section of a version, in one language. */
function corrections(lang: 'zh' | 'en', v: NoticeVersion, c: Campaign): SafeHtml {
  const t = CORRECTIONS_COPY[lang];
  const what = (k: NoticeCorrection) =>
    k.change === 'delisted'
      ? t.delisted(reasonTags(lang, k.reasons ?? []))
      : k.change === 'reinstated'
        ? t.reinstated
        : t.amended(reasonTags(lang, k.reasons ?? []), reasonTags(lang, k.previousReasons ?? []));
  return html`<div class="box warn corrections" role="note" aria-labelledby="${lang}-corrections">
<h2 id="${lang}-corrections">${t.title}</h2>
<p>${t.intro}</p>
<table class="cards">
<caption class="visually-hidden">${t.caption}</caption>
<thead><tr><th scope="col">${t.version}</th><th scope="col">${t.provider}</th><th scope="col">${t.what}</th><th scope="col">${t.whenHeader(c)}</th></tr></thead>
<tbody>
${v.corrections.map(
  (
    k,
  ) => html`<tr data-provider-id="${k.providerId}" data-change="${k.change}"><td data-label="${t.version}">${t.versionCell(k.version)}</td><td data-label="${t.provider}">${t.providerCell(k)}</td><td data-label="${t.what}">${what(k)}</td><td class="date" data-label="${t.when}">${cstOf(k.at, c)}</td></tr>
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
