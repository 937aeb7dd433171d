import { describe, expect, it } from 'vitest';
import { FULL_DEPOSIT_FEN, MAIL, december, notifyStack, type StoredMail } from '../support/notify-fixture.ts';

/**
 * RULES.md input contract: `name` is the provider's own free text, so every output that shows it must
 * escape it. A name that tries markup and header injection comes in through the intake like any
 * other; its mail must keep the subject on one line, go to the provider's own address only, and
 * carry the name as text, never as markup.
 */

const stack = await notifyStack();

const EVIL_NAME = '<script>alert(1)</script>\r\nBcc: evil@example.com';

function expectContained(m: StoredMail, ownAddress: string) {
  expect(m.subject).not.toMatch(/[\r\n]/);
  expect(m.destination.to).toEqual([ownAddress]);
  expect(m.destination.cc ?? []).toEqual([]);
  expect(m.destination.bcc ?? []).toEqual([]);
  expect(JSON.stringify(m.destination)).not.toContain('evil@example.com');
  expect(m.replyTo).toEqual([MAIL.replyTo]);
  expect(m.from).toBe(MAIL.from);
  const html = m.body.html ?? '';
  expect(html).not.toMatch(/<script/i);
  expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;'); // shown, as text
  // The name is in the subject, on its line, as visible text.
  expect(m.subject).toContain('<script>alert(1)</script> Bcc: evil@example.com');
}

describe('a hostile provider name', () => {
  it('outcome and progress mail: subject on one line, only its own recipient, no <script> in the html', async () => {
    const s = await stack.season([
      { key: 'EVIL', name: EVIL_NAME, orders: december(4), depositFen: FULL_DEPOSIT_FEN },
      { key: 'EVILR', name: EVIL_NAME, orders: december(1), depositFen: FULL_DEPOSIT_FEN },
      { key: 'PLAIN', orders: december(4), depositFen: FULL_DEPOSIT_FEN },
    ]);
    expect(s.evaluation.assessments.find((a) => a.providerId === s.id('EVIL'))?.providerName).toBe(EVIL_NAME);

    expect(await s.notify({ kind: 'outcome' })).toMatchObject({ due: 3, sent: 3, failed: [] });
    expect(await s.notify({ kind: 'progress', asOf: '2024-02-01T12:00:00+08:00' }, {}, { ...MAIL, thresholdOrders: 3 })).toMatchObject({ due: 3, sent: 3, failed: [] });

    const mails = await s.mail();
    for (const key of ['EVIL', 'EVILR']) {
      const own = s.of(mails, key);
      expect(own.map((m) => (m.subject.includes('续牌进度') ? 'progress' : 'outcome')).sort()).toEqual(['outcome', 'progress']);
      for (const m of own) expectContained(m, s.email(key));
    }
    // Nothing of this season went anywhere else: every mail that carries its token went to its providers.
    const ours = (await stack.allMail()).filter((m) => JSON.stringify(m).includes(s.token));
    expect(ours).toHaveLength(6);
    for (const m of ours) expect(s.addresses).toEqual(expect.arrayContaining(m.destination.to));
    expect(ours.flatMap((m) => [...m.destination.to, ...(m.destination.cc ?? []), ...(m.destination.bcc ?? [])])).not.toContain('evil@example.com');
  });
});
