import type { StoredDecision } from '../model.ts';
import { uses, type Needs } from '../store/access.ts';
import { DECISIONS_ACCESS } from '../store/decisions.ts';

/** What the report uses of each store: its function's IAM policy is derived from this. */
export const REPORT_DECISIONS = uses(DECISIONS_ACCESS, ['current', 'previews']);
export const REPORT_NEEDS = [REPORT_DECISIONS];

/** `report --json` (OPS.md): the current final decisions, or the latest preview when none is final. */
export interface Report {
  campaignId: string;
  final: boolean;
  assessments: ReportRow[];
}

export interface ReportRow {
  providerId: string;
  outcome: StoredDecision['outcome'];
  reasons: StoredDecision['reasons'];
  paidOrders?: number;
  thresholdOrders?: number;
  depositBalanceFen?: number;
  noticeDate?: string;
  reapplyFrom?: string;
  // Extra fields (OPS.md welcomes them): the audit trail and the mail state.
  providerName: string;
  revision: number;
  decidedAt: string;
  decidedBy: string;
  mail?: { status: string; detail?: string };
}

export type MailStatusLookup = (campaignId: string) => Promise<Map<string, { status: string; detail?: string }>>;

export async function buildReport(decisions: Needs<typeof REPORT_DECISIONS>, campaignId: string, mailStatus?: MailStatusLookup): Promise<Report> {
  let rows = await decisions.current(campaignId);
  const final = rows.length > 0;
  if (!final) rows = await decisions.previews(campaignId);
  const mail = mailStatus ? await mailStatus(campaignId) : new Map();
  return {
    campaignId,
    final,
    assessments: rows.map((d) => {
      const assessed = d.outcome !== 'not_assessed';
      const m = mail.get(d.providerId);
      return {
        providerId: d.providerId,
        outcome: d.outcome,
        reasons: d.reasons,
        ...(assessed ? { paidOrders: d.paidOrders!, thresholdOrders: d.thresholdOrders!, depositBalanceFen: d.depositBalanceFen! } : {}),
        ...(d.outcome === 'revoked' ? { noticeDate: d.noticeDate!, reapplyFrom: d.reapplyFrom! } : {}),
        providerName: d.providerName,
        revision: d.revision,
        decidedAt: d.decidedAt,
        decidedBy: `${d.decidedBy.kind}:${d.decidedBy.id}`,
        ...(m ? { mail: m } : {}),
      };
    }),
  };
}

const CSV_COLUMNS = ['providerId', 'providerName', 'outcome', 'reasons', 'paidOrders', 'thresholdOrders', 'depositBalanceFen', 'noticeDate', 'reapplyFrom', 'revision', 'decidedAt', 'decidedBy', 'mailStatus'] as const;

/**
 * RFC 4180 CSV. A cell that a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with
 * a quote: provider names are the providers' own text.
 */
export function reportCsv(r: Report): string {
  const cell = (v: unknown) => {
    let s = v === undefined || v === null ? '' : Array.isArray(v) ? v.join(';') : String(v);
    if (/^[=+\-@\t\r]/.test(s) && typeof v === 'string') s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [CSV_COLUMNS.join(',')];
  for (const a of r.assessments) {
    const row: Record<string, unknown> = { ...a, mailStatus: a.mail?.status };
    lines.push(CSV_COLUMNS.map((k) => cell(row[k])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
