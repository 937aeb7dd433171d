/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stores } from '#shared/deps.ts';
import type { StoredDecision } from '#shared/model.ts';

import { publish } from '#shared/usecases/publish.ts';
import { A4_PRINTABLE_PX, axeViolations, expectOnlyLocalRequests, launchChromium, openPage, overflowing } from '../support/browser.ts';
import { freshNoticeBucket, freshTables } from '../support/stack.ts';
import { testStack } from '../support/season-fixture.ts';
import { finalDecision } from '../support/decisions.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

/**
 * The public delisting notice in a real headless Chromium, as the embedded stack serves it (s3rver
 * over HTTP): version 2 of a season with a correction, names that try to break out of the markup.
 * `RENEWAL_UPDATE_SCREENSHOTS=1` also writes docs/notice.png and docs/notice-phone.png.
 */
const HOSTILE = [`<img src=x onerror="window.__pwned=1;alert('img')">`, `"><svg onload=alert('svg')></svg><script>window.__pwned=2;alert('script')</script>`, "=cmd|' /C calc'!A0 \u202Egnp.exe"];
const NAMES: Record<string, string> = {
  P0004: '杭州四季青产业带服务商004',
  P0005: '泉州鞋服产业带服务商005',
  P0013: HOSTILE[0]!,
  P0026: '汕头玩具产业带服务商026',
  P0041: '五常大米产业带服务商041',
  P0054: HOSTILE[1]!,
  P0061: '佛山家具产业带服务商061',
  P0081: '东莞电子产业带服务商081',
  P0088: HOSTILE[2]!,
  P0093: '苏州丝绸产业带服务商093',
  P0107: '五常大米产业带服务商107——一个很长很长的服务商名称，用来检验手机上的换行是否正常工作而不会溢出屏幕宽度',
};
const REASONS: Record<string, StoredDecision['reasons']> = {
  P0004: ['deposit_not_paid_in_full'],
  P0005: ['deposit_not_paid_in_full'],
  P0081: ['orders_below_threshold', 'deposit_not_paid_in_full'],
};
/** The words the issue asks for, per reason, in each language's table. */
const WORDS = {
  zh: { orders_below_threshold: '支付订单量未达考核线', deposit_not_paid_in_full: '保证金未缴足' },
  en: { orders_below_threshold: 'paid orders below the threshold', deposit_not_paid_in_full: 'deposit not paid in full' },
} as const;

const decision = (providerId: string, outcome: 'revoked' | 'retained', revision: number): StoredDecision =>
  finalDecision(providerId, outcome, {
    revision,
    providerName: NAMES[providerId],
    reasons: outcome === 'revoked' ? REASONS[providerId] : undefined,
    paidOrders: outcome === 'revoked' ? 120 : 900,
  });

let browser: Browser;
let url: string;
let json: { version: number; providers: { providerId: string; name: string; reasons: (keyof typeof WORDS.zh)[]; reapplyFrom: string }[]; corrections: { providerId: string; change: string }[] };

beforeAll(async () => {
  const { db } = await testStack();
  const s = stores(await freshTables(), db);
  const b = await freshNoticeBucket();
  for (const id of Object.keys(NAMES)) await s.decisions.addRevision(decision(id, 'revoked', 1));
  await s.decisions.addRevision(decision('P0030', 'retained', 1));
  let clock = Date.parse('2024-03-01T02:00:05Z');
  const deps = { decisions: s.decisions, bucket: b.bucket, now: () => new Date(clock), settings: { publicBaseUrl: b.baseUrl, feedbackMailbox: 'douyinpartner@bytedance.com' } };
  await publish(RENEWAL_2024, deps);
  // A correction three weeks later: P0026 reinstated, P0030 delisted.
  await s.decisions.addRevision(decision('P0026', 'retained', 2));
  await s.decisions.addRevision(decision('P0030', 'revoked', 2));
  clock = Date.parse('2024-03-22T07:30:00Z');
  const r = await publish(RENEWAL_2024, deps);
  expect(r).toMatchObject({ status: 'published', version: 2 });
  url = r.url;
  json = (await (await fetch(url.replace('index.html', 'notice.json'))).json()) as typeof json;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function rows(page: import('playwright-core').Page, lang: 'zh' | 'en') {
  return page.$$eval(`table.notice-list[data-lang="${lang}"] tbody tr`, (trs) =>
    trs.map((tr) => ({
      providerId: tr.querySelector('td.id')!.textContent,
      name: tr.querySelector('td.name')!.textContent,
      reasons: Array.from(tr.querySelectorAll('td.reasons .tag')).map((t) => t.textContent),
      reapplyFrom: tr.querySelector('td.reapply')!.textContent,
    })),
  );
}

describe('the public notice in Chromium', () => {
  it('shows exactly the rows of notice.json and notice.csv, in Chinese and in English, with the correction', async () => {
    const { page, context } = await openPage(browser, url);
    try {
      expect(json.version).toBe(2);
      expect(json.providers.map((p) => p.providerId)).toContain('P0030');
      expect(json.providers.map((p) => p.providerId)).not.toContain('P0026');
      for (const lang of ['zh', 'en'] as const) {
        expect(await rows(page, lang)).toEqual(json.providers.map((p) => ({ providerId: p.providerId, name: p.name, reasons: p.reasons.map((r) => WORDS[lang][r]), reapplyFrom: p.reapplyFrom })));
      }
      const csv = (await (await fetch(url.replace('index.html', 'notice.csv'))).text()).replace(/^\uFEFF/, '');
      const ids = csv
        .trim()
        .split('\r\n')
        .slice(1)
        .map((l) => l.split(',')[0]);
      expect(ids).toEqual(json.providers.map((p) => p.providerId));
      const corrections = await page.$$eval('.corrections[aria-labelledby="zh-corrections"] tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-provider-id'), tr.getAttribute('data-change')]));
      expect(corrections).toEqual(json.corrections.map((c) => [c.providerId, c.change]));
      expect(await page.title()).toContain('第 2 版');
      // The stylesheet applied: its hash in the policy matches (otherwise Chromium refuses it).
      expect(await page.$eval('header.masthead', (h) => getComputedStyle(h).borderBottomStyle)).toBe('solid');
    } finally {
      await context.close();
    }
  });

  it('a hostile provider name shows as text: no element, no script, no dialog, no console error; not even with the CSP bypassed', async () => {
    for (const bypassCSP of [false, true]) {
      const { page, context, watch } = await openPage(browser, url, { bypassCSP });
      try {
        const names = await page.$$eval('table.notice-list[data-lang="zh"] td.name', (tds) => tds.map((td) => td.textContent ?? ''));
        expect(names).toContain(HOSTILE[0]);
        expect(names.some((n) => n.includes(`<script>window.__pwned=2;alert('script')</script>`))).toBe(true);
        // A bidi override cannot make a name read backwards: it is shown as a space.
        expect(names.some((n) => n.includes('\u202E'))).toBe(false);
        const reversed = json.providers.find((p) => p.providerId === 'P0088')!.name;
        expect(reversed).toMatch(/^=cmd\|' \/C calc'!A0 +gnp\.exe$/);
        expect(names).toContain(reversed);
        expect(await page.$$eval('script, img, svg, iframe, object, embed', (els) => els.length)).toBe(0);
        expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
        expect(watch.dialogs).toEqual([]);
        expect(watch.errors).toEqual([]);
      } finally {
        await context.close();
      }
    }
  });

  it('loads nothing from another host: every request stays on the local S3 server', async () => {
    const { context, watch } = await openPage(browser, url);
    await context.close();
    expectOnlyLocalRequests(watch);
    expect(watch.requests).toEqual([url]); // the page itself, nothing else
  });

  it('renders with JavaScript off', async () => {
    const { page, context } = await openPage(browser, url, { javaScriptEnabled: false });
    try {
      expect(await rows(page, 'zh')).toHaveLength(json.providers.length);
    } finally {
      await context.close();
    }
  });

  it('reads on a 360 px phone without horizontal overflow', async () => {
    const { page, context } = await openPage(browser, url, { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      expect(await overflowing(page, 360)).toEqual([]);
      if (process.env.RENEWAL_UPDATE_SCREENSHOTS) {
        mkdirSync(join(import.meta.dirname, '../../docs'), { recursive: true });
        await page.screenshot({ path: join(import.meta.dirname, '../../docs/notice-phone.png') });
      }
    } finally {
      await context.close();
    }
  });

  it('prints on A4 without overflow', async () => {
    const { page, context } = await openPage(browser, url, { viewport: { width: A4_PRINTABLE_PX, height: 1000 } });
    try {
      await page.emulateMedia({ media: 'print' });
      expect(await overflowing(page, A4_PRINTABLE_PX)).toEqual([]);
      const pdf = await page.pdf({ format: 'A4', printBackground: false, preferCSSPageSize: true });
      expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      expect(pdf.toString('latin1').match(/\/Type\s*\/Page\b/g)!.length).toBeGreaterThanOrEqual(2);
    } finally {
      await context.close();
    }
  });

  it('has no serious or critical accessibility violation (axe-core)', async () => {
    expect(await axeViolations(browser, url)).toEqual([]);
  });

  it('(screenshot for the README, with RENEWAL_UPDATE_SCREENSHOTS=1)', async () => {
    if (!process.env.RENEWAL_UPDATE_SCREENSHOTS) return;
    const { page, context } = await openPage(browser, url, { viewport: { width: 1000, height: 1400 } });
    await page.screenshot({ path: join(import.meta.dirname, '../../docs/notice.png') });
    await context.close();
  });
});
