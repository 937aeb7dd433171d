import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { closeBidi, cut, table } from '#shared/text/terminal.ts';
import { decisionTable } from '#cli/season-commands.ts';
import { reportCsv, type Report, type ReportRow } from '#shared/usecases/report.ts';

/**
 * Hostile names in the terminal and the CSV (issue 16, item 8): a name can carry bidi overrides and
 * isolates, zero-width joiners, combining marks, emoji sequences and wide characters. Every row of the
 * report table keeps its columns where the header has them, as a terminal shows them (string-width),
 * no bidi control reaches the terminal or the CSV, and a cut never leaves one open.
 */

const RLO = '\u202E';
const PDF = '\u202C';
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

const HOSTILE: Record<string, string> = {
  override: `${RLO}retained 99999 ¥100,000.00${PDF} shop`,
  // The closing PDF lies beyond the 22 columns the name column keeps: a cut by code points dropped it.
  overrideLong: `${RLO}a name that is long enough to be cut before its end${PDF}`,
  joiners: 'z\u200Dw\u200Dj\u200D name\u200D\u200D\u200D\u200D',
  combining: 'Ame\u0301lie\u0301\u0301\u0301\u0301 Ltd',
  isolates: '\u2067ABC\u2069 \u2066def\u2069 \u2068ghi\u2069',
  emoji: '👨‍👩‍👧‍👦 家族 👩🏽‍💻 shop 🏳️‍🌈🏳️‍🌈🏳️‍🌈🏳️‍🌈',
  cjk: '杭州四季青服装产业带服务商有限公司',
  fullwidth: 'ＡＢＣ１２３ｶﾀｶﾅ',
  plain: 'Plain Provider Ltd',
};

const row = (providerId: string, providerName: string, i: number): ReportRow => ({
  providerId,
  providerName,
  outcome: i % 2 ? 'retained' : 'revoked',
  reasons: i % 2 ? [] : ['orders_below_threshold'],
  paidOrders: 10 ** (i % 5),
  thresholdOrders: 300,
  depositBalanceFen: 10_000_000,
  ...(i % 2 ? {} : { noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' }),
  revision: 1,
  decidedAt: '2024-03-01T02:00:00.000Z',
  decidedBy: 'schedule:period-end',
});
const ROWS = Object.entries(HOSTILE).map(([id, name], i) => row(id, name, i));

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** What a terminal shows from display column `col` of `line` on (undefined: no grapheme starts there). */
function atColumn(line: string, col: number): string | undefined {
  let w = 0;
  for (const { segment, index } of graphemes.segment(line)) {
    if (w === col) return line.slice(index);
    if (w > col) return undefined;
    w += stringWidth(segment);
  }
  return undefined;
}

describe('the report table with hostile names', () => {
  const lines = decisionTable(ROWS).split('\n');
  const [header, , ...body] = lines;

  it("puts every cell after the name at the header's column, as a terminal measures it", () => {
    const col = (word: string) => stringWidth(header!.slice(0, header!.indexOf(word)));
    const outcomeCol = col('outcome');
    // Right-aligned: each figure ends where the header word does.
    const ordersEnd = col('paid orders') + stringWidth('paid orders');
    const depositEnd = col('deposit') + stringWidth('deposit');
    expect(body).toHaveLength(ROWS.length);
    body.forEach((line, i) => {
      const r = [...ROWS].sort((x, y) => (x.outcome === y.outcome ? x.providerId.localeCompare(y.providerId) : x.outcome === 'revoked' ? -1 : 1))[i]!;
      expect(line.startsWith(`${r.providerId} `), line).toBe(true);
      expect(atColumn(line, outcomeCol), line).toMatch(new RegExp(`^${r.outcome} `));
      const orders = String(r.paidOrders);
      expect(atColumn(line, ordersEnd - orders.length), line).toMatch(new RegExp(`^${orders} `));
      expect(atColumn(line, depositEnd - '¥100,000.00'.length), line).toMatch(/^¥100,000\.00 /);
    });
  });

  it('passes no bidi control to the terminal, so none is left open', () => {
    for (const line of lines) expect(line, JSON.stringify(line)).not.toMatch(BIDI);
  });

  it('cuts a long name between graphemes to at most 22 columns, with a mark', () => {
    for (const line of body) {
      const name = line.slice(line.indexOf(' ') + 1).trimStart();
      const cell = name.slice(0, name.search(/ {2}(retained|revoked)/)).trimEnd();
      expect(stringWidth(cell), cell).toBeLessThanOrEqual(22);
    }
    const long = body.find((l) => l.startsWith('overrideLong'))!;
    expect(long).toContain(' a name that is long …');
    const emoji = body.find((l) => l.startsWith('emoji'))!;
    expect(emoji).toContain('👨‍👩‍👧‍👦 家族 👩🏽‍💻 shop 🏳️‍🌈🏳️‍🌈…');
  });
});

describe('table and cut, literally', () => {
  it('renders an override and wide characters in aligned columns', () => {
    expect(
      table(
        ['name', 'n'],
        [
          [`${RLO}ab${PDF}`, 1],
          ['中文', 22],
        ],
      ),
    ).toBe(['name  n', '────  ──', ' ab   1', '中文  22'].join('\n'));
    expect(
      table(
        ['name', 'orders'],
        [
          ['e\u0301e\u0301', 5],
          ['👨‍👩‍👧‍👦', 10],
          ['a\u200Db', 7],
        ],
        ['left', 'right'],
      ),
    ).toBe(['name  orders', '────  ──────', 'e\u0301e\u0301         5', '👨‍👩‍👧‍👦        10', 'a\u200Db         7'].join('\n'));
  });

  it('cuts by grapheme and display width', () => {
    expect(cut('👨‍👩‍👧‍👦👨‍👩‍👧‍👦中文abc', 5)).toBe('👨‍👩‍👧‍👦👨‍👩‍👧‍👦…');
    expect(cut('e\u0301e\u0301e\u0301x', 3)).toBe('e\u0301e\u0301…');
    expect(cut('中文字', 4)).toBe('中…');
    expect(cut('short', 22)).toBe('short');
    expect(cut(`${RLO}abc${PDF}def`, 4)).toBe(' ab…');
  });

  it('closes whatever embedding, override or isolate a string leaves open', () => {
    expect(closeBidi(`${RLO}abc`)).toBe(`${RLO}abc${PDF}`);
    expect(closeBidi(`${RLO}a${PDF}b`)).toBe(`${RLO}a${PDF}b`);
    expect(closeBidi('\u2067x\u202Ay')).toBe('\u2067x\u202Ay\u202C\u2069');
    expect(closeBidi('\u2067x\u202Ay\u2069z')).toBe('\u2067x\u202Ay\u2069z');
  });
});

describe('the report CSV', () => {
  it('does not pass U+202E (or any bidi control) through raw', () => {
    const report: Report = { campaignId: 'renewal-2024', final: true, assessments: ROWS } as Report;
    const out = reportCsv(report);
    expect(out).not.toMatch(BIDI);
    expect(out).toContain(',revoked,');
    expect(out.split('\r\n')[1]).toMatch(/^override," retained 99999 ¥100,000\.00  shop",revoked,/u);
  });
});
