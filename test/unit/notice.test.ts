import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StoredDecision } from '#shared/model.ts';
import { emptyNotice, noticeCsv, noticeJson } from '#shared/notice/files.ts';
import { renderNoticePage } from '#shared/notice/page.ts';
import { nextNoticeVersion, noticeEntries, type NoticeEntry } from '#shared/notice/versions.ts';
import { PAGE_CSP } from '#shared/pages/page.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

/**
 * The public delisting notice as data (RULES.md clause 3): who is on it, when a new version is due and
 * what its page, JSON and CSV say. Decisions are built by what they are (final revoked, final
 * retained, not assessed, preview revoked), so the expected list is read off the labels.
 */
type Kind = 'finalRevoked' | 'finalRetained' | 'notAssessed' | 'previewRevoked' | 'previewRetained';
const REASONS = [['orders_below_threshold'], ['deposit_not_paid_in_full'], ['orders_below_threshold', 'deposit_not_paid_in_full']] as const;

function decision(providerId: string, kind: Kind, opts: { name?: string; reasons?: readonly string[]; paidOrders?: number } = {}): StoredDecision {
  const revoked = kind === 'finalRevoked' || kind === 'previewRevoked';
  const assessed = kind !== 'notAssessed';
  return {
    campaignId: 'renewal-2024',
    providerId,
    providerName: opts.name ?? `服务商 ${providerId}`,
    email: `${providerId.toLowerCase()}@example.com`,
    revision: 1,
    final: kind.startsWith('final') || kind === 'notAssessed',
    decidedAt: '2024-02-29T16:30:05.000Z',
    decidedBy: { kind: 'schedule', id: 'eventbridge-scheduler' },
    asOf: '2024-02-29T16:30:05.000Z',
    outcome: revoked ? 'revoked' : assessed ? 'retained' : 'not_assessed',
    reasons: (revoked ? (opts.reasons ?? ['orders_below_threshold']) : assessed ? [] : ['not_regularized']) as StoredDecision['reasons'],
    clauses: ['1', '2.1'],
    rulesVersion: 'renewal-2024/1',
    ...(assessed ? { paidOrders: opts.paidOrders ?? 1234, thresholdOrders: 300, depositBalanceFen: 9_999_999, depositRequiredFen: 10_000_000 } : {}),
    ...(revoked ? { noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' } : {}),
  };
}

const entry = (providerId: string, reasons: NoticeEntry['reasons'] = ['orders_below_threshold'], name = `服务商 ${providerId}`): NoticeEntry => ({
  providerId,
  name,
  reasons,
  noticeDate: '2024-03-01',
  reapplyFrom: '2024-05-30',
});

const AT1 = '2024-03-01T02:00:00.000Z';
const AT2 = '2024-03-20T06:15:00.000Z';
const settings = { campaign: RENEWAL_2024, feedbackMailbox: 'douyinpartner@bytedance.com' };
const links = { latestUrl: 'https://d1.example/renewal-2024/latest/index.html', versionUrl: 'https://d1.example/renewal-2024/v1/index.html' };

describe('who is on the notice', () => {
  it('exactly the revoked providers of the current final decisions: never retained, not assessed or preview ones', () => {
    const kinds = fc.constantFrom<Kind>('finalRevoked', 'finalRetained', 'notAssessed', 'previewRevoked', 'previewRetained');
    fc.assert(
      fc.property(fc.array(fc.tuple(kinds, fc.constantFrom(...REASONS)), { maxLength: 40 }), (rows) => {
        const decisions = rows.map(([kind, reasons], i) => decision(`P${String(rows.length - i).padStart(3, '0')}`, kind, { reasons }));
        const entries = noticeEntries(decisions);
        const expected = rows.flatMap(([kind], i) => (kind === 'finalRevoked' ? [`P${String(rows.length - i).padStart(3, '0')}`] : [])).sort();
        expect(entries.map((e) => e.providerId)).toEqual(expected);
        for (const e of entries) {
          expect(Object.keys(e).sort()).toEqual(['name', 'noticeDate', 'providerId', 'reapplyFrom', 'reasons']);
          expect(e.reasons.length).toBeGreaterThan(0);
        }
      }),
    );
  });

  it('shows the name on one line (a CR/LF cannot start a new row of the CSV or a header), and the id for a blank name', () => {
    const [hostile, blank] = noticeEntries([decision('P1', 'finalRevoked', { name: '<b>Evil</b>\r\nBcc: x@example.com' }), decision('P2', 'finalRevoked', { name: ' \n ' })]);
    expect(hostile!.name).toBe('<b>Evil</b> Bcc: x@example.com');
    expect(blank!.name).toBe('P2');
  });

  it('states no order count and no deposit amount anywhere', () => {
    const v = nextNoticeVersion(undefined, noticeEntries([decision('P1', 'finalRevoked', { paidOrders: 87_654 })]), 'renewal-2024', AT1)!;
    const all = [renderNoticePage(v, settings), JSON.stringify(noticeJson(v, links)), noticeCsv(v)].join('\n');
    expect(all).not.toMatch(/87,?654|9,?999,?999|99,999\.99|paidOrders|depositBalance|thresholdOrders/i);
  });
});

describe('versions', () => {
  it('the first publication is version 1, without corrections, even when nobody is delisted', () => {
    expect(nextNoticeVersion(undefined, [], 'renewal-2024', AT1)).toEqual({ campaignId: 'renewal-2024', version: 1, publishedAt: AT1, providers: [], corrections: [] });
  });

  it('an unchanged list gives no new version (whatever the list)', () => {
    const list = fc.uniqueArray(fc.integer({ min: 1, max: 500 }), { maxLength: 30 }).map((ids) => ids.sort((a, b) => a - b).map((n) => entry(`P${String(n).padStart(4, '0')}`)));
    fc.assert(
      fc.property(list, (entries) => {
        const v1 = nextNoticeVersion(undefined, entries, 'renewal-2024', AT1)!;
        expect(
          nextNoticeVersion(
            v1,
            entries.map((e) => ({ ...e, reasons: [...e.reasons] })),
            'renewal-2024',
            AT2,
          ),
        ).toBeUndefined();
      }),
    );
  });

  it('a correction gives the next version, with who changed and how, dated when it was published; earlier corrections stay', () => {
    const v1 = nextNoticeVersion(undefined, [entry('P1'), entry('P2'), entry('P3')], 'renewal-2024', AT1)!;
    const v2 = nextNoticeVersion(v1, [entry('P1'), entry('P3', ['orders_below_threshold', 'deposit_not_paid_in_full']), entry('P4', ['deposit_not_paid_in_full'])], 'renewal-2024', AT2)!;
    expect(v2.version).toBe(2);
    expect(v2.providers.map((p) => p.providerId)).toEqual(['P1', 'P3', 'P4']);
    expect(v2.corrections).toEqual([
      { version: 2, providerId: 'P2', name: '服务商 P2', change: 'reinstated', at: AT2, previousReasons: ['orders_below_threshold'] },
      { version: 2, providerId: 'P3', name: '服务商 P3', change: 'amended', at: AT2, reasons: ['orders_below_threshold', 'deposit_not_paid_in_full'], previousReasons: ['orders_below_threshold'] },
      { version: 2, providerId: 'P4', name: '服务商 P4', change: 'delisted', at: AT2, reasons: ['deposit_not_paid_in_full'] },
    ]);
    const v3 = nextNoticeVersion(v2, [entry('P3', ['orders_below_threshold', 'deposit_not_paid_in_full']), entry('P4', ['deposit_not_paid_in_full'])], 'renewal-2024', '2024-04-02T01:00:00.000Z')!;
    expect(v3.version).toBe(3);
    expect(v3.corrections.map((c) => [c.version, c.providerId, c.change])).toEqual([
      [2, 'P2', 'reinstated'],
      [2, 'P3', 'amended'],
      [2, 'P4', 'delisted'],
      [3, 'P1', 'reinstated'],
    ]);
    expect(v1.corrections).toEqual([]); // the earlier version is not touched
  });

  it('corrections are exactly the providers whose line changed, for any two lists', () => {
    const lists = fc.array(fc.tuple(fc.integer({ min: 1, max: 30 }), fc.constantFrom(...REASONS)), { maxLength: 20 }).map((xs) => {
      const byId = new Map(xs.map(([n, r]) => [`P${String(n).padStart(2, '0')}`, [...r] as NoticeEntry['reasons']]));
      return [...byId].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, r]) => entry(id, r));
    });
    fc.assert(
      fc.property(lists, lists, (a, b) => {
        const v1 = nextNoticeVersion(undefined, a, 'renewal-2024', AT1)!;
        const v2 = nextNoticeVersion(v1, b, 'renewal-2024', AT2);
        const before = new Map(a.map((e) => [e.providerId, e.reasons.join()]));
        const after = new Map(b.map((e) => [e.providerId, e.reasons.join()]));
        const changed = [...new Set([...before.keys(), ...after.keys()])].filter((id) => before.get(id) !== after.get(id)).sort();
        if (!changed.length) expect(v2).toBeUndefined();
        else expect(v2!.corrections.map((c) => c.providerId)).toEqual(changed);
      }),
    );
  });
});

describe('the files', () => {
  const v1 = nextNoticeVersion(undefined, [entry('P1'), entry('P2', ['deposit_not_paid_in_full'], '<img src=x onerror=alert(1)>&"\'</td>')], 'renewal-2024', AT1)!;
  const v2 = nextNoticeVersion(v1, [entry('P2', ['deposit_not_paid_in_full'], '<img src=x onerror=alert(1)>&"\'</td>')], 'renewal-2024', AT2)!;

  it('notice.json has the OPS.md shape', () => {
    const j = noticeJson(v2, links);
    expect(j).toEqual({
      campaignId: 'renewal-2024',
      version: 2,
      publishedAt: AT2,
      url: links.latestUrl,
      versionUrl: links.versionUrl,
      providers: [{ providerId: 'P2', name: '<img src=x onerror=alert(1)>&"\'</td>', reasons: ['deposit_not_paid_in_full'], noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' }],
      corrections: [{ version: 2, providerId: 'P1', name: '服务商 P1', change: 'reinstated', at: AT2, previousReasons: ['orders_below_threshold'] }],
    });
    expect(emptyNotice('renewal-2024')).toEqual({ campaignId: 'renewal-2024', version: 0, providers: [] });
  });

  it('notice.csv is UTF-8 with a BOM, CRLF lines, the reasons in words, and a formula-looking name defused', () => {
    const v = nextNoticeVersion(undefined, [entry('P1', ['orders_below_threshold', 'deposit_not_paid_in_full'], '=HYPERLINK("http://x","点我")')], 'renewal-2024', AT1)!;
    const csv = noticeCsv(v);
    expect(csv.startsWith('\uFEFFproviderId,name,reasons,reasonsText,noticeDate,reapplyFrom\r\n')).toBe(true);
    expect(Buffer.from(csv, 'utf8').subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(csv.split('\r\n')[1]).toBe(`P1,"'=HYPERLINK(""http://x"",""点我"")",orders_below_threshold;deposit_not_paid_in_full,支付订单量未达考核线；保证金未缴足,2024-03-01,2024-05-30`);
  });

  it("the page escapes the provider's text, loads nothing, and allows exactly its own stylesheet", () => {
    const page = renderNoticePage(v2, settings);
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;&lt;/td&gt;');
    expect(page).not.toMatch(/<script|<link(?! rel="icon" href="data:,")|<iframe|@import|url\(/i);
    expect(page).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)![1]!;
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(page)![1]!.replaceAll('&#39;', "'");
    expect(csp).toBe(PAGE_CSP);
    expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(csp).toContain("default-src 'none'");
  });

  it('the page says what the issue asks: title, notice date, the rule and its clauses, the list, what delisting means, where objections go, the correction', () => {
    const page = renderNoticePage(v2, settings);
    for (const s of [
      '抖音电商产业带服务商摘牌公示',
      '公示日期：<b>2024-03-01</b>',
      '《抖音电商产业带服务商2024年续牌规则》第 2.2 条及第 3 条',
      '保证金未缴足',
      '不得以“抖音电商产业带服务商”身份对外开展业务，仅作为抖店服务市场服务商',
      'mailto:douyinpartner@bytedance.com',
      '更正',
      '撤销摘牌',
      'Public delisting notice',
      'Correction',
      'delisting withdrawn',
      '2024-05-30',
      '2024-03-20 14:15', // the correction's time in China time
      'href="../v1/index.html"',
      'href="notice.csv"',
    ]) {
      expect(page, s).toContain(s);
    }
    expect(page.indexOf('抖音电商产业带服务商摘牌公示')).toBeLessThan(page.indexOf('Public delisting notice')); // Chinese first
    const first = renderNoticePage(v1, settings);
    expect(first).not.toContain('更正');
    expect(first).not.toContain('../v0/');
  });
});
