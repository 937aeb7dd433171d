/** The formatting helpers of the mails: money in fen, HTML escaping, one-line header text. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml, formatFen, headerSafe } from '#shared/mail/templates.ts';

describe('formatFen', () => {
  it.each([
    [0, '¥0.00'],
    [1, '¥0.01'],
    [99, '¥0.99'],
    [100, '¥1.00'],
    [123_456, '¥1,234.56'],
    [9_999_999, '¥99,999.99'],
    [10_000_000, '¥100,000.00'],
    [-1, '-¥0.01'],
    [-150, '-¥1.50'],
    [-10_000_000, '-¥100,000.00'],
    [-0, '¥0.00'],
    [Number.MAX_SAFE_INTEGER, '¥90,071,992,547,409.91'],
    [Number.MIN_SAFE_INTEGER, '-¥90,071,992,547,409.91'],
  ])('%d fen → %s', (fen, expected) => {
    expect(formatFen(fen)).toBe(expected);
  });

  it.each([0.5, 1.005, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('rejects %d, which is not a safe integer of fen', (fen) => {
    expect(() => formatFen(fen)).toThrow(RangeError);
  });

  it('is exact for every safe integer: the digits read back to the same amount', () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -100_000_000, max: 100_000_000 })), (fen) => {
        const s = formatFen(fen);
        expect(s).toMatch(/^-?¥\d{1,3}(,\d{3})*\.\d{2}$/);
        expect(BigInt(s.replace(/[¥,.]/g, ''))).toBe(BigInt(fen));
      }),
    );
  });
});

describe('escapeHtml', () => {
  it('escapes the five markup characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('leaves other text alone, Chinese included', () => {
    expect(escapeHtml('义乌小商品 ¥100,000.00 — ok')).toBe('义乌小商品 ¥100,000.00 — ok');
  });

  it('never leaves a markup character, and unescapes back to the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const e = escapeHtml(s);
        expect(e).not.toMatch(/[<>"']/);
        expect(e).not.toMatch(/&(?!amp;|lt;|gt;|quot;|#39;)/);
        const back = e.replace(/&(lt|gt|quot|#39|amp);/g, (_, n: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[n] ?? '');
        expect(back).toBe(s);
      }),
    );
  });
});

describe('headerSafe', () => {
  it.each([
    ['Evil\r\nBcc: x@y.com', 'Evil Bcc: x@y.com'],
    ['a\nb\rc', 'a b c'],
    ['  tabs\tand   spaces  ', 'tabs and spaces'],
    ['nul\u0000del\u007fc1\u0085', 'nul del c1'],
    ['line\u2028para\u2029end', 'line para end'],
    ['bidi\u202Eevil\u2066x\u2069', 'bidi evil x'],
    ['lone \uD800 surrogate', 'lone \uFFFD surrogate'],
    ['杭州 某某\u3000科技', '杭州 某某 科技'],
  ])('%j → %j', (input, expected) => {
    expect(headerSafe(input)).toBe(expected);
  });

  it('always yields one trimmed line without control characters or doubled spaces', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const h = headerSafe(s);
        expect(h).not.toMatch(/[\r\n]/);
        expect(h).not.toMatch(/\p{Cc}|[\u2028\u2029\u202A-\u202E\u2066-\u2069]/u);
        expect(h).not.toMatch(/\s\s/);
        expect(h).toBe(h.trim());
        expect(headerSafe(h)).toBe(h);
      }),
    );
  });
});
