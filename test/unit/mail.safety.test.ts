/**
 * A provider's name, id and email are its own text (RULES.md, input contract): they must never become
 * markup in the HTML part, nor a header line in the subject.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StoredDecision } from '#shared/model.ts';
import { escapeHtml, headerSafe, type RenderedMail } from '#shared/mail/templates.ts';
import { outcomeMail, progressMail, progressSnapshot, SETTINGS } from '../support/mail.ts';

const HOSTILE = `<script>alert(1)</script>\r\nBcc: evil@x.com "quoted" & 'apos'`;

const revoked: StoredDecision = {
  campaignId: 'renewal-2024',
  providerId: 'prov-0002',
  providerName: 'placeholder',
  email: 'bd@yiwu.example.cn',
  revision: 2,
  final: true,
  decidedAt: '2024-02-29T16:05:00.000Z',
  decidedBy: { kind: 'schedule', id: 'final' },
  asOf: '2024-02-29T16:05:00.000Z',
  outcome: 'revoked',
  reasons: ['orders_below_threshold', 'deposit_not_paid_in_full'],
  clauses: ['1', '2.1', '2.2.1', '2.2.2', '2.2.3', '3'],
  paidOrders: 8_000,
  thresholdOrders: 10_000,
  depositBalanceFen: 6_000_000,
  depositRequiredFen: 10_000_000,
  noticeDate: '2024-03-01',
  reapplyFrom: '2024-05-30',
  rulesVersion: 'renewal-2024/1',
  changes: [{ field: 'paidOrders', from: 7_999, to: 8_000 }],
};

const snapshot = progressSnapshot({
  providerId: 'prov-0002',
  providerName: 'placeholder',
  email: 'bd@yiwu.example.cn',
  asOfDate: '2024-01-15',
  paidOrders: 300,
  ordersByDay: { '2023-12-01': 100, '2024-01-15': 200 },
  depositBalanceFen: 0,
});

type Render = (name: string) => RenderedMail;
const renders: [string, Render][] = [
  ['outcome', (name) => outcomeMail({ ...revoked, providerName: name })],
  ['progress', (name) => progressMail({ ...snapshot, providerName: name })],
];

/** Every tag of a document, in order: if a name could add or alter one, this list would change. */
function tags(html: string): string[] {
  return html.match(/<[^>]*>/g) ?? [];
}

describe.each(renders)('%s mail with a hostile provider name', (_, render) => {
  const mail = render(HOSTILE);

  it('escapes the name in the HTML part', () => {
    expect(mail.html).not.toContain('<script');
    expect(mail.html).not.toContain('"quoted"');
    expect(mail.html).not.toContain("'apos'");
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; Bcc: evil@x.com &quot;quoted&quot; &amp; &#39;apos&#39;');
    expect(tags(mail.html)).toEqual(tags(render('Benign Name').html));
  });

  it('keeps the subject on one line, the name inside it as text', () => {
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.subject.endsWith(`— <script>alert(1)</script> Bcc: evil@x.com "quoted" & 'apos'`)).toBe(true);
  });

  it('cannot add lines to the plain-text part', () => {
    expect(mail.text).not.toContain('\r');
    expect(mail.text.split('\n').length).toBe(render('Benign Name').text.split('\n').length);
    expect(mail.text).not.toMatch(/^Bcc:/m);
  });
});

describe('other provider-supplied fields', () => {
  it('escapes a hostile providerId and email in the outcome mail', () => {
    const m = outcomeMail({ ...revoked, providerId: '<b>id</b>', email: '"x"<i>@e.com' });
    expect(m.html).not.toMatch(/<b>|<i>|"x"/);
    expect(m.html).toContain('&lt;b&gt;id&lt;/b&gt;');
    expect(m.html).toContain('&quot;x&quot;&lt;i&gt;@e.com');
  });

  it('escapes a hostile providerId and email in the progress mail', () => {
    const m = progressMail({ ...snapshot, providerId: '<u>p</u>', email: '<s>@e.com' });
    expect(m.html).not.toMatch(/<u>|<s>/);
    expect(m.html).toContain('&lt;u&gt;p&lt;/u&gt;');
  });

  it('links only an https exit procedure, never a javascript: or data: one', () => {
    for (const exitRefundProcedure of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'http://insecure.example.com/x']) {
      const m = outcomeMail(revoked, { ...SETTINGS, exitRefundProcedure });
      expect(m.html).not.toMatch(/href="(javascript|data|http):/);
      expect(m.html).not.toContain('<b>x</b>');
    }
    const linked = outcomeMail(revoked, { ...SETTINGS, exitRefundProcedure: 'https://e.example.com/exit?a=1&b=2' });
    expect(linked.html).toContain('href="https://e.example.com/exit?a=1&amp;b=2"');
  });

  it('a blank name falls back to the provider id', () => {
    const m = renders[0]![1](' \r\n\t ');
    expect(m.subject.endsWith('— prov-0002')).toBe(true);
    expect(m.text).toContain('尊敬的prov-0002：');
  });
});

// Names made of any UTF-16 code units (lone surrogates, controls, separators included), or of printable ASCII.
const anyName = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 200 }), fc.constant(HOSTILE));

describe.each(renders)('%s mail, for any provider name', (_, render) => {
  const benign = render('Benign Name');

  it('the subject never carries CR, LF or any other control character', () => {
    fc.assert(
      fc.property(anyName, (name) => {
        const { subject } = render(name);
        expect(subject).not.toMatch(/[\r\n]/);
        expect(subject).not.toMatch(/\p{Cc}|[\u2028\u2029]/u);
      }),
    );
  });

  it('the name never changes the markup: the tags are those of a benign name', () => {
    fc.assert(
      fc.property(anyName, (name) => {
        expect(tags(render(name).html)).toEqual(tags(benign.html));
      }),
    );
  });

  it('a name with < or & never appears raw in the HTML', () => {
    // A bare "<" or "&" occurs in every HTML document and "&amp;" is inside its own escaping, so the name
    // is framed by marks the templates never emit: then any raw occurrence could only come from the name.
    const risky = fc
      .tuple(fc.string({ unit: 'binary' }), fc.constantFrom('<', '&', '<script>', '&amp;', '</td>'), fc.string({ unit: 'binary' }))
      // Already one line, as the mail shows it (the templates show headerSafe(name) everywhere).
      .map(([a, mid, b]) => headerSafe(`⟦${a}${mid}${b}⟧`))
      .filter((name) => (name.match(/[⟦⟧]/g) ?? []).length === 2);
    fc.assert(
      fc.property(risky, (name) => {
        const { html } = render(name);
        expect(html).not.toContain(name);
        expect(html).toContain(escapeHtml(name));
      }),
    );
  });
});
