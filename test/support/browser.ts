/// <reference lib="dom" />
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { expect } from 'vitest';

/**
 * A real headless Chromium for the page tests: Debian's `chromium` driven by playwright-core (no
 * browser download). Playwright gives every launch a fresh, temporary --user-data-dir. `npm test`
 * installs chromium with apt-get when it is missing (test/support/prerequisites.ts); without it these tests fail and say so.
 */
export const CHROMIUM = process.env.RENEWAL_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: npm test installs Debian's package (apt-get install chromium) before the tests`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** What a page did while it was open: requests, dialogs, console errors, uncaught errors. */
export interface PageWatch {
  requests: string[];
  dialogs: string[];
  errors: string[];
}

export async function openPage(browser: Browser, url: string, opts: BrowserContextOptions = {}): Promise<{ page: Page; context: BrowserContext; watch: PageWatch }> {
  const context = await browser.newContext(opts);
  const watch: PageWatch = { requests: [], dialogs: [], errors: [] };
  context.on('request', (r) => watch.requests.push(r.url()));
  const page = await context.newPage();
  page.on('dialog', (d) => {
    watch.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') watch.errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => watch.errors.push(`pageerror: ${e.message}`));
  await page.goto(url, { waitUntil: 'load' });
  return { page, context, watch };
}

/** Every request stayed on this machine (loopback HTTP, or the file and data: URLs of a local page). */
export function expectOnlyLocalRequests(watch: PageWatch): void {
  expect(watch.requests.length).toBeGreaterThan(0);
  for (const u of watch.requests) {
    const url = new URL(u);
    const local = url.protocol === 'file:' || url.protocol === 'data:' || (url.protocol === 'http:' && url.hostname === '127.0.0.1');
    expect(local, u).toBe(true);
  }
}

/**
 * Elements whose visible box reaches past `width` CSS pixels (a horizontal overflow), named for the
 * failure message. A box inside an ancestor that clips its overflow (and itself fits) is not visible
 * beyond that ancestor, so it does not count.
 */
export async function overflowing(page: Page, width: number): Promise<string[]> {
  return page.evaluate((w) => {
    const out: string[] = [];
    if (document.documentElement.scrollWidth > w) out.push(`document scrollWidth ${document.documentElement.scrollWidth}`);
    const clippedWithin = (el: Element) => {
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const cs = getComputedStyle(a);
        if (cs.overflowX !== 'visible' || cs.clip !== 'auto') return a.getBoundingClientRect().right <= w + 0.5;
      }
      return false;
    };
    for (const el of Array.from(document.body.querySelectorAll('*'))) {
      // Screen-reader-only text (a 1 px clipped box) and boxes clipped by an ancestor are not seen.
      if (el.closest('.visually-hidden') || clippedWithin(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.right > w + 0.5 || r.left < -0.5) out.push(`${el.tagName.toLowerCase()}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
    return out.slice(0, 10);
  }, width);
}

/** A4 (210 mm) less the pages' 12 mm side margins, in CSS pixels (96 per inch). */
export const A4_PRINTABLE_PX = Math.floor(((210 - 24) / 25.4) * 96);

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's serious and critical violations. Runs in a context that bypasses the page's CSP (the
 * page allows no script, so axe could not be injected otherwise); the page itself is unchanged.
 */
export async function axeViolations(browser: Browser, url: string): Promise<{ id: string; impact: string; nodes: string[] }[]> {
  const { page, context } = await openPage(browser, url, { bypassCSP: true });
  try {
    await page.addScriptTag({ content: AXE });
    const result = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
      const r = await axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
    });
    return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  } finally {
    await context.close();
  }
}
