import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { campaignBundleDefine, CampaignFileError, loadCampaigns, readCampaignFile, REPO_CAMPAIGNS_DIR } from '#shared/campaigns.ts';
import { parseCampaignFile } from '#shared/rules/campaign-file.ts';
import { MissingThresholdError, periodWindow, requireThreshold, resolveThreshold } from '#shared/rules/campaign.ts';

/** Campaign files (OPS.md "Campaign files"): one case per rule, each naming its field. */
const FILE_2024 = JSON.parse(readFileSync(join(REPO_CAMPAIGNS_DIR, 'renewal-2024.json'), 'utf8')) as Record<string, unknown>;
const errorsOf = (patch: Record<string, unknown>, fileId = 'renewal-2024') => {
  const r = parseCampaignFile({ ...FILE_2024, ...patch }, fileId);
  return r.ok ? [] : r.errors;
};
const fields = (errors: { field: string }[]) => errors.map((e) => e.field);

describe('a campaign file', () => {
  it('renewal-2024.json holds the 2024 season as RULES.md states it, with no threshold yet', () => {
    const r = parseCampaignFile(FILE_2024, 'renewal-2024');
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const c = r.campaign;
    expect(c).toMatchObject({
      campaignId: 'renewal-2024',
      periodStartDate: '2023-12-01',
      periodEndDate: '2024-02-29',
      thresholdOrders: null,
      depositRequiredFen: 10_000_000,
      noticeDate: '2024-03-01',
      utcOffsetMinutes: 480,
    });
    expect(periodWindow(c)).toMatchObject({ startIso: '2023-11-30T16:00:00.000Z', endIso: '2024-02-29T16:00:00.000Z' });
    expect(periodWindow(c).days).toHaveLength(91);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    ['a date that does not exist', { periodEndDate: '2023-02-29' }, 'periodEndDate', /"2023-02-29" is not a day that exists/],
    ['a date that is no date', { noticeDate: '1 March 2024' }, 'noticeDate', /YYYY-MM-DD/],
    [
      'a period that ends before it starts',
      { periodStartDate: '2024-03-01', periodEndDate: '2024-02-29', noticeDate: '2024-03-05', certifiedBeforeDate: '2024-03-01', regularizedBeforeDate: '2024-03-01' },
      'periodEndDate',
      /before periodStartDate 2024-03-01/,
    ],
    ['a notice date inside the period', { noticeDate: '2024-02-29' }, 'noticeDate', /not after the period/],
    ['a certification cut after the period starts', { certifiedBeforeDate: '2023-12-02' }, 'certifiedBeforeDate', /after periodStartDate/],
    ['a regularization cut after the period starts', { regularizedBeforeDate: '2024-01-01' }, 'regularizedBeforeDate', /after periodStartDate/],
    ['an unknown field', { threshold: 300 }, 'threshold', /not a field of a campaign file/],
    ['an unknown field in a title', { rulesTitle: { zh: '《规则》', en: 'Rules', fr: 'Règles' } }, 'rulesTitle.fr', /not a field/],
    ['a threshold of 0', { thresholdOrders: 0 }, 'thresholdOrders', /positive integer or null/],
    ['a threshold of 1.5', { thresholdOrders: 1.5 }, 'thresholdOrders', /positive integer or null/],
    ['a threshold as a string', { thresholdOrders: '10000' }, 'thresholdOrders', /positive integer or null/],
    ['a deposit in yuan with decimals', { depositRequiredFen: 100000.5 }, 'depositRequiredFen', /fen/],
    ['a missing field', { schedule: undefined }, 'schedule', /is required/],
    ['another zone', { timeZone: 'Europe/Paris' }, 'timeZone', /Asia\/Shanghai/],
    ['a time of day that does not exist', { noticeTime: '24:00' }, 'noticeTime', /HH:MM/],
    ['a feedback mailbox that is no address', { feedbackMailbox: 'douyinpartner' }, 'feedbackMailbox', /e-mail/],
  ])('refuses %s, naming the field', (_what, patch, field, message) => {
    const errors = errorsOf(patch);
    expect(fields(errors)).toContain(field);
    expect(errors.find((e) => e.field === field)!.message).toMatch(message);
  });

  it('refuses a campaignId that does not match the file name', () => {
    expect(errorsOf({}, 'renewal-2025')).toEqual([{ field: 'campaignId', message: '"renewal-2024" does not match the file name "renewal-2025.json"' }]);
  });

  it('names every bad field at once, not the first only', () => {
    const errors = errorsOf({ periodEndDate: '2024-02-30', thresholdOrders: -1, extra: true, noticeTime: '9:00' });
    expect(fields(errors).sort()).toEqual(['extra', 'noticeTime', 'periodEndDate', 'thresholdOrders']);
  });

  it('a season of any length from 1 to 366 days, across a new year, with or without 29 February, parses to exactly its days', () => {
    const DAY = 86_400_000;
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2020, 0, 1) / DAY, max: Date.UTC(2040, 0, 1) / DAY }),
        fc.integer({ min: 1, max: 366 }),
        fc.integer({ min: 1, max: 40 }),
        (startDay, days, noticeAfter) => {
          // The reference: plain UTC calendar arithmetic on day numbers.
          const date = (d: number) => new Date(d * DAY).toISOString().slice(0, 10);
          const file = {
            ...FILE_2024,
            periodStartDate: date(startDay),
            periodEndDate: date(startDay + days - 1),
            certifiedBeforeDate: date(startDay),
            regularizedBeforeDate: date(startDay),
            noticeDate: date(startDay + days - 1 + noticeAfter),
          };
          const r = parseCampaignFile(file, 'renewal-2024');
          if (!r.ok) throw new Error(JSON.stringify(r.errors));
          const w = periodWindow(r.campaign);
          expect(w.days).toHaveLength(days);
          expect(w.startMs).toBe(startDay * DAY - 8 * 3_600_000);
          expect(w.endMs).toBe((startDay + days) * DAY - 8 * 3_600_000);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the campaigns directory', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'campaigns-'));
  const write = (d: string, name: string, v: unknown) => writeFileSync(join(d, name), typeof v === 'string' ? v : JSON.stringify(v));

  it('the repository holds renewal-2024 and renewal-2027, in the order of their periods', () => {
    const r = loadCampaigns(REPO_CAMPAIGNS_DIR);
    expect(r.ids).toEqual(['renewal-2024', 'renewal-2027']);
    expect(r.require('renewal-2027')).toMatchObject({ periodStartDate: '2026-12-01', periodEndDate: '2027-02-28', depositRequiredFen: 20_000_000, schedule: true });
    expect(periodWindow(r.require('renewal-2027')).days).toHaveLength(90);
  });

  it('a bad directory is one error naming every bad file and field', () => {
    const d = dir();
    write(d, 'renewal-2024.json', FILE_2024);
    write(d, 'renewal-2030.json', { ...FILE_2024, campaignId: 'renewal-2030', noticeDate: '2024-02-01' });
    write(d, 'broken.json', '{"campaignId": ');
    write(d, 'notes.txt', 'not a campaign');
    let err: unknown;
    try {
      loadCampaigns(d);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CampaignFileError);
    const errors = (err as CampaignFileError).errors.map((e) => [e.file.slice(d.length + 1), e.field]);
    expect(errors).toEqual([
      ['broken.json', '(file)'],
      ['renewal-2030.json', 'noticeDate'],
    ]);
    expect((err as Error).message).toMatch(/renewal-2030\.json: noticeDate: 2024-02-01 is not after the period/);
  });

  it('a new file works without a build: read at run time', () => {
    const d = dir();
    write(d, 'renewal-2024.json', FILE_2024);
    expect(loadCampaigns(d).ids).toEqual(['renewal-2024']);
    write(d, 'renewal-2031.json', {
      ...FILE_2024,
      campaignId: 'renewal-2031',
      periodStartDate: '2030-12-01',
      periodEndDate: '2031-02-28',
      certifiedBeforeDate: '2030-12-01',
      regularizedBeforeDate: '2030-12-01',
      noticeDate: '2031-03-01',
    });
    expect(loadCampaigns(d).ids).toEqual(['renewal-2024', 'renewal-2031']);
  });

  it('an unknown id is refused listing the known ones', () => {
    expect(() => loadCampaigns(REPO_CAMPAIGNS_DIR).require('renewal-2025')).toThrow('unknown campaign "renewal-2025" (known: renewal-2024, renewal-2027)');
  });

  it('readCampaignFile says why a file cannot be used', () => {
    const d = dir();
    mkdirSync(join(d, 'sub'));
    expect(readCampaignFile(join(d, 'missing.json'))).toEqual({ ok: false, errors: [{ field: '(file)', message: 'cannot be read: ENOENT' }] });
    write(d, 'x.json', '[1]');
    expect(readCampaignFile(join(d, 'x.json'))).toEqual({ ok: false, errors: [{ field: '(file)', message: 'must be one JSON object' }] });
  });

  it('the bundle carries the campaigns as data no shell or JS quoting can alter', () => {
    const r = loadCampaigns(REPO_CAMPAIGNS_DIR);
    const define = campaignBundleDefine(r);
    const value = JSON.parse(define.__RENEWAL_CAMPAIGNS__!) as string;
    expect(value).toMatch(/^[A-Za-z0-9+/=]+$/);
    const files = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as unknown[];
    expect(files.map((f) => parseCampaignFile(f)).map((p) => (p.ok ? p.campaign : p.errors))).toEqual(r.list());
  });
});

describe('the threshold (RULES.md "threshold")', () => {
  const c2024 = loadCampaigns(REPO_CAMPAIGNS_DIR).require('renewal-2024');
  const c2027 = loadCampaigns(REPO_CAMPAIGNS_DIR).require('renewal-2027');
  it('the run wins; then the file; the deployment only stands in for a null', () => {
    expect(resolveThreshold(c2027, { run: 7, deployment: 9 })).toEqual({ thresholdOrders: 7, source: 'run' });
    expect(resolveThreshold(c2027, { deployment: 9 })).toEqual({ thresholdOrders: 10_000, source: 'campaign' });
    expect(resolveThreshold(c2024, { deployment: 9 })).toEqual({ thresholdOrders: 9, source: 'deployment' });
    expect(resolveThreshold(c2024, {})).toBeUndefined();
  });
  it('none of the three: refused, naming thresholdOrders and the campaign', () => {
    expect(() => requireThreshold(c2024)).toThrow(MissingThresholdError);
    expect(() => requireThreshold(c2024)).toThrow(/^thresholdOrders: campaign renewal-2024 has no threshold/);
  });
});
