/// <reference lib="dom" />
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReportPage } from '#cli/report-page.ts';
import { stores } from '#shared/deps.ts';
import type { StoredDecision } from '#shared/model.ts';

import { buildReport, type Report } from '#shared/usecases/report.ts';
import { A4_PRINTABLE_PX, axeViolations, expectOnlyLocalRequests, launchChromium, openPage, overflowing } from '../support/browser.ts';
import { freshTables } from '../support/stack.ts';
import { testStack } from '../support/season-fixture.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

/**
 * The ops report as a page (`renewal report --html FILE`) in a real headless Chromium, opened from
 * the file as ops open it: the final decisions with mail status, and a preview with each provider's
 * projection to the period end and the providers at risk.
 */
const HOSTILE = `<img src=x onerror="window.__pwned=1;alert(1)"><script>alert(2)</script>`;
type Row = { id: string; name: string; outcome: StoredDecision['outcome']; paidOrders?: number; deposit?: number; reasons?: StoredDecision['reasons'] };
const ROWS: Row[] = [
  { id: 'P01', name: '义乌小商品产业带服务商001', outcome: 'retained', paidOrders: 4_120, deposit: 10_000_000 },
  { id: 'P02', name: HOSTILE, outcome: 'revoked', paidOrders: 114, deposit: 10_000_000, reasons: ['orders_below_threshold'] },
  { id: 'P03', name: '泉州鞋服产业带服务商003', outcome: 'revoked', paidOrders: 3_877, deposit: 5_000_000, reasons: ['deposit_not_paid_in_full'] },
  { id: 'P04', name: '东莞电子产业带服务商004——名称很长很长很长很长很长很长很长很长很长很长很长很长很长', outcome: 'retained', paidOrders: 301, deposit: 10_000_000 },
  { id: 'P05', name: '曹县汉服产业带服务商005', outcome: 'not_assessed', reasons: ['not_regularized'] },
];

function decision(r: Row, final: boolean, asOf: string): StoredDecision {
  const assessed = r.outcome !== 'not_assessed';
  return {
    campaignId: 'renewal-2024',
    providerId: r.id,
    providerName: r.name,
    email: `${r.id.toLowerCase()}@example.com`,
    revision: final ? 1 : 0,
    final,
    decidedAt: asOf,
    decidedBy: { kind: 'schedule', id: 'eventbridge-scheduler' },
    asOf,
    outcome: r.outcome,
    reasons: r.reasons ?? [],
    clauses: ['1'],
    rulesVersion: 'renewal-2024/1',
    ...(assessed ? { paidOrders: r.paidOrders!, thresholdOrders: 300, depositBalanceFen: r.deposit!, depositRequiredFen: 10_000_000 } : {}),
    ...(r.outcome === 'revoked' ? { noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' } : {}),
  };
}

const BY_DAY = Object.fromEntries(Array.from({ length: 91 }, (_, i) => [new Date(Date.UTC(2023, 11, 1 + i)).toISOString().slice(0, 10), 50 + ((i * 37) % 60)]));
const dir = mkdtempSync(join(tmpdir(), 'renewal-report-'));
let browser: Browser;
const pages: Record<'final' | 'preview', { url: string; report: Report }> = {} as never;

beforeAll(async () => {
  const { db } = await testStack();
  // The preview, as of 2024-01-15 10:00 CST (day 46 of 91).
  const preview = stores(await freshTables(), db);
  await preview.decisions.putPreviews(ROWS.map((r) => decision(r, false, '2024-01-15T02:00:00.000Z')));
  const previewReport = await buildReport(preview.decisions, 'renewal-2024');
  // The final decisions, with the mail status the outbox would give.
  const final = stores(await freshTables(), db);
  for (const r of ROWS) await final.decisions.addRevision(decision(r, true, '2024-02-29T16:30:05.000Z'));
  const finalReport = await buildReport(
    final.decisions,
    'renewal-2024',
    async () =>
      new Map([
        ['P01', { status: 'sent' as const, at: '2024-02-29T16:31:00.000Z', notice: 1 }],
        ['P02', { status: 'failed' as const, detail: `permanent: ${HOSTILE}`, notice: 1 }],
      ]),
  );
  for (const [k, report] of [
    ['final', finalReport],
    ['preview', previewReport],
  ] as const) {
    const file = await writeReportPage(join(dir, `${k}.html`), report, RENEWAL_2024, BY_DAY);
    pages[k] = { url: pathToFileURL(file).href, report };
  }
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

const digits = (s: string | null) => (s && /\d/.test(s) ? Number(s.replace(/[^\d]/g, '')) : undefined);

describe.each(['final', 'preview'] as const)('the %s report page in Chromium', (kind) => {
  it('shows every provider of report --json, with its outcome, orders, threshold, deposit, revision and mail status', async () => {
    const { url, report } = pages[kind];
    const { page, context } = await openPage(browser, url);
    try {
      const shown = await page.$$eval('table.report-list tbody tr', (trs) =>
        trs.map((tr) => ({
          providerId: tr.getAttribute('data-provider-id'),
          outcome: tr.getAttribute('data-outcome'),
          name: tr.querySelector('td.name')!.textContent,
          orders: tr.querySelector('td.orders')!.textContent,
          threshold: tr.querySelector('td.threshold')!.textContent,
          deposit: tr.querySelector('td.deposit')!.textContent,
          rev: tr.querySelector('td.rev')!.textContent,
          mail: tr.querySelector('td.mail')!.textContent,
        })),
      );
      expect(shown.map((r) => r.providerId).sort()).toEqual(report.assessments.map((a) => a.providerId).sort());
      for (const a of report.assessments) {
        const r = shown.find((x) => x.providerId === a.providerId)!;
        expect(r.outcome).toBe(a.outcome);
        expect(r.name).toBe(a.providerName.replace(/\s+/g, ' ').trim());
        expect(digits(r.orders)).toBe(a.paidOrders);
        expect(digits(r.threshold)).toBe(a.thresholdOrders);
        expect(digits(r.deposit)).toBe(a.depositBalanceFen);
        expect(digits(r.rev)).toBe(a.revision || undefined);
        if (a.mail) expect(r.mail).toContain(a.mail.status);
      }
      const counts = await page.$$eval('.tile', (ts) => Object.fromEntries(ts.map((t) => [t.getAttribute('data-outcome'), Number(t.querySelector('b')!.textContent)])));
      expect(counts).toEqual({ retained: 2, revoked: 2, not_assessed: 1, total: 5 });
      expect(await page.$$eval('table.weekly tbody tr', (trs) => trs.length)).toBe(13);
      expect(await page.$$eval('svg.bar[role="img"]', (s) => s.length)).toBe(13 + 4);
    } finally {
      await context.close();
    }
  });

  it('a hostile name shows as text; no script runs, no dialog, no console error, nothing loads from elsewhere', async () => {
    for (const bypassCSP of [false, true]) {
      const { page, context, watch } = await openPage(browser, pages[kind].url, { bypassCSP });
      try {
        expect(await page.$eval('tr[data-provider-id="P02"] td.name', (td) => td.textContent)).toBe(HOSTILE);
        expect(await page.$$eval('script, img, iframe', (els) => els.length)).toBe(0);
        expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
        expect(watch.dialogs).toEqual([]);
        expect(watch.errors).toEqual([]);
        expectOnlyLocalRequests(watch);
        expect(watch.requests).toEqual([pages[kind].url]);
      } finally {
        await context.close();
      }
    }
  });

  it('renders with JavaScript off, fits a 360 px phone and prints on A4', async () => {
    const off = await openPage(browser, pages[kind].url, { javaScriptEnabled: false });
    expect(await off.page.$$eval('table.report-list tbody tr', (trs) => trs.length)).toBe(ROWS.length);
    await off.context.close();
    const phone = await openPage(browser, pages[kind].url, { viewport: { width: 360, height: 740 }, isMobile: true });
    expect(await overflowing(phone.page, 360)).toEqual([]);
    await phone.context.close();
    const print = await openPage(browser, pages[kind].url, { viewport: { width: A4_PRINTABLE_PX, height: 1000 } });
    await print.page.emulateMedia({ media: 'print' });
    expect(await overflowing(print.page, A4_PRINTABLE_PX)).toEqual([]);
    if (process.env.RENEWAL_UPDATE_SCREENSHOTS && kind === 'final') {
      await print.page.emulateMedia({ media: 'screen' });
      await print.page.setViewportSize({ width: 1200, height: 1000 });
      await print.page.screenshot({ path: join(import.meta.dirname, '../../docs/report.png') });
    }
    await print.context.close();
  });

  it('has no serious or critical accessibility violation (axe-core)', async () => {
    expect(await axeViolations(browser, pages[kind].url)).toEqual([]);
  });
});

describe('the preview page', () => {
  it('projects each provider to the period end at its pace so far, and lists those at risk', async () => {
    const { page, context } = await openPage(browser, pages.preview.url);
    try {
      // As of 2024-01-15 (day 46 of 91): P01 4,120 → 8,150; P02 114 → 225; P03 3,877 → 7,669; P04 301 → 595.
      const projected = await page.$$eval('table.report-list tbody tr', (trs) =>
        Object.fromEntries(trs.map((tr) => [tr.getAttribute('data-provider-id'), tr.querySelector('td.projected')!.textContent])),
      );
      expect(digits(projected.P01!)).toBe(8150);
      expect(digits(projected.P02!)).toBe(225);
      expect(digits(projected.P04!)).toBe(595);
      expect(projected.P05).toBe('—');
      // At risk: P02 (projected below 300), P03 (deposit not in full); not P01, P04 (on pace), nor P05 (not assessed).
      expect(await page.$$eval('.at-risk li', (lis) => lis.map((li) => li.getAttribute('data-provider-id')))).toEqual(['P02', 'P03']);
      expect(await page.textContent('h1')).toContain('预览');
    } finally {
      await context.close();
    }
    const final = await openPage(browser, pages.final.url);
    expect(await final.page.$$eval('.at-risk', (x) => x.length)).toBe(0);
    expect(await final.page.$$eval('td.projected', (x) => x.length)).toBe(0);
    await final.context.close();
  });
});
