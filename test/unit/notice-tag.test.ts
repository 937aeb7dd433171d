import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ID } from '#shared/events.ts';
import { noticeTag, parseNoticeTag, type NoticeKind } from '#shared/store/outbox.ts';

/** The notice id as an SES message tag value: SES's rules, and a way back to exactly one notice. */
const SES_TAG_VALUE = /^[A-Za-z0-9_\-.@]{1,256}$/; // SES: ASCII letters, digits, _, -, ., @; at most 256
const arbNotice = fc.record({
  campaignId: fc.constantFrom('renewal-2024', 'renewal_2025.b'),
  kind: fc.constantFrom<NoticeKind>('outcome', 'progress'),
  providerId: fc.stringMatching(ID), // every id the input contract allows
  seq: fc.nat({ max: 9999 }),
});

describe('noticeTag', () => {
  it('is always a valid SES tag value and reads back as the same notice, for every id the contract allows', () => {
    fc.assert(
      fc.property(arbNotice, (n) => {
        const tag = noticeTag(n);
        expect(tag).toMatch(SES_TAG_VALUE);
        expect(parseNoticeTag(tag)).toEqual(n);
      }),
      { numRuns: 2000 },
    );
  });

  it('two different notices never share a tag', () => {
    fc.assert(
      fc.property(arbNotice, arbNotice, (a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b));
        expect(noticeTag(a)).not.toBe(noticeTag(b));
      }),
    );
  });

  it('an id with ":" (which SES refuses in a tag) is written with "@"; the longest id still fits', () => {
    expect(noticeTag({ campaignId: 'renewal-2024', kind: 'outcome', providerId: 'shop:P001', seq: 2 })).toBe('renewal-2024@outcome@2@shop@P001');
    expect(noticeTag({ campaignId: 'renewal-2024', kind: 'progress', providerId: 'x'.repeat(128), seq: 13 }).length).toBeLessThanOrEqual(256);
  });

  it('values this system did not write name no notice', () => {
    for (const v of ['', 'ConfigSet', 'renewal-2024@outcome@1@', 'renewal-2024@other@1@P1', 'renewal-2024@outcome@01@P1', 'a b@outcome@1@P1', 'renewal-2024@outcome@1@P 1']) {
      expect(parseNoticeTag(v), v).toBeUndefined();
    }
  });
});
