/**
 * A campaign file (`campaigns/<campaignId>.json`, OPS.md "Campaign files") as data: the zod schema
 * and its resolution into the in-memory `Campaign`. Pure: the files are read by ../campaigns.ts.
 * A bad file is answered with every bad field and why, never with the first one only.
 */
import { z } from 'zod';
import { CAMPAIGN_ZONES, type Campaign } from './campaign.ts';
import { isValidDate } from './time.ts';

/** One thing wrong with a campaign file: the field (a dotted path; `campaignId` for the file name) and why. */
export interface CampaignFieldError {
  field: string;
  message: string;
}

const date = z
  .string({ error: 'must be a date, YYYY-MM-DD (China time)' })
  .refine((d) => /^\d{4}-\d{2}-\d{2}$/.test(d), { error: 'must be a date, YYYY-MM-DD (China time)' })
  .refine((d) => !/^\d{4}-\d{2}-\d{2}$/.test(d) || isValidDate(d), { error: (i) => `${JSON.stringify(i.input)} is not a day that exists` });
const text = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(max, { error: `must be at most ${max} characters` });
const bilingual = z.strictObject({ zh: text(300), en: text(300) }, { error: 'must be {"zh": "…", "en": "…"}' });
const positiveInt = (what: string) =>
  z
    .number({ error: `must be ${what}` })
    .int({ error: `must be ${what}` })
    .positive({ error: `must be ${what}` })
    .max(Number.MAX_SAFE_INTEGER, { error: `must be ${what}` });

/** The ids a campaign may have: they name a file, an S3 prefix and the stack's constructs. */
export const CAMPAIGN_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/** The fields of OPS.md "Campaign files"; unknown fields are refused. */
export const campaignFileSchema = z.strictObject({
  campaignId: z.string({ error: 'must be a string' }).regex(CAMPAIGN_ID, { error: 'must be 1 to 64 lower-case letters, digits and "-", starting and ending with a letter or digit' }),
  rulesVersion: text(100),
  rulesTitle: bilingual,
  nextRulesTitle: bilingual,
  timeZone: z.enum(Object.keys(CAMPAIGN_ZONES) as [keyof typeof CAMPAIGN_ZONES], {
    error: `must be ${Object.keys(CAMPAIGN_ZONES)
      .map((z) => JSON.stringify(z))
      .join(' or ')}`,
  }),
  periodStartDate: date,
  periodEndDate: date,
  certifiedBeforeDate: date,
  regularizedBeforeDate: date,
  thresholdOrders: positiveInt('a positive integer or null (RULES.md "threshold")').nullable(),
  depositRequiredFen: positiveInt('a positive integer number of fen (CNY 100,000 = 10000000)'),
  noticeDate: date,
  noticeTime: z.string({ error: 'must be a time of day, HH:MM' }).regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'must be a time of day, HH:MM (00:00 to 23:59)' }),
  reapplyAfterDays: z
    .number({ error: 'must be a whole number of days' })
    .int({ error: 'must be a whole number of days' })
    .min(0, { error: 'must be a whole number of days, 0 or more' })
    .max(3660, { error: 'must be at most 3660 days' }),
  feedbackMailbox: z.email({ error: 'must be one e-mail address' }),
  exitRefundProcedure: text(500),
  schedule: z.boolean({ error: 'must be true or false' }),
});

export type CampaignFile = z.input<typeof campaignFileSchema>;

/** The cross-field rules: each names the field that is wrong given the others. */
function crossFieldErrors(f: z.output<typeof campaignFileSchema>): CampaignFieldError[] {
  const errors: CampaignFieldError[] = [];
  // YYYY-MM-DD strings of real days compare as the days do.
  if (f.periodEndDate < f.periodStartDate) {
    errors.push({ field: 'periodEndDate', message: `${f.periodEndDate} is before periodStartDate ${f.periodStartDate}: the period must end on or after its first day` });
  }
  if (f.noticeDate <= f.periodEndDate) {
    errors.push({ field: 'noticeDate', message: `${f.noticeDate} is not after the period (${f.periodStartDate} to ${f.periodEndDate}): the notice follows the evaluation, after the period` });
  }
  if (f.certifiedBeforeDate > f.periodStartDate) {
    errors.push({
      field: 'certifiedBeforeDate',
      message: `${f.certifiedBeforeDate} is after periodStartDate ${f.periodStartDate}: a provider certified during the period would be in scope of it (clause 1)`,
    });
  }
  if (f.regularizedBeforeDate > f.periodStartDate) {
    errors.push({
      field: 'regularizedBeforeDate',
      message: `${f.regularizedBeforeDate} is after periodStartDate ${f.periodStartDate}: a provider regularized during the period would be assessed by it (clause 2.1)`,
    });
  }
  return errors;
}

/**
 * Parses a campaign file's JSON value. `fileId`, when given, is the file's name without `.json`: the
 * `campaignId` must equal it. Returns the resolved, frozen campaign, or every error.
 */
export function parseCampaignFile(value: unknown, fileId?: string): { ok: true; campaign: Campaign } | { ok: false; errors: CampaignFieldError[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, errors: [{ field: '(file)', message: 'must be one JSON object' }] };
  const r = campaignFileSchema.safeParse(value);
  const errors: CampaignFieldError[] = [];
  if (!r.success) {
    for (const issue of r.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        const at = issue.path.join('.');
        for (const k of issue.keys) errors.push({ field: at ? `${at}.${k}` : k, message: 'is not a field of a campaign file (OPS.md "Campaign files")' });
        continue;
      }
      const field = issue.path.join('.') || '(file)';
      const missing = issue.path.length > 0 && issue.path.reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey], value) === undefined;
      errors.push({ field, message: missing ? 'is required' : issue.message });
    }
  }
  const id = (value as { campaignId?: unknown }).campaignId;
  if (fileId !== undefined && typeof id === 'string' && id !== fileId) {
    errors.push({ field: 'campaignId', message: `${JSON.stringify(id)} does not match the file name ${JSON.stringify(`${fileId}.json`)}` });
  }
  if (r.success) errors.push(...crossFieldErrors(r.data));
  if (errors.length || !r.success) return { ok: false, errors };
  const f = r.data;
  const zone = CAMPAIGN_ZONES[f.timeZone];
  const campaign: Campaign = Object.freeze({
    ...f,
    rulesTitle: Object.freeze({ ...f.rulesTitle }),
    nextRulesTitle: Object.freeze({ ...f.nextRulesTitle }),
    utcOffsetMinutes: zone.utcOffsetMinutes,
    timeZoneName: zone.name,
  });
  return { ok: true, campaign };
}
