import type { StoredDecision } from '../model.ts';
import type { DecisionStore } from '../store/decisions.ts';
import { csv } from '../csv.ts';

/** `report --json` (OPS.md): the current final decisions, or the latest preview when none is final. */
export interface Report {
  campaignId: string;
  final: boolean;
  /** A preview's as-of instant (what its projection to the period end starts from). */
  asOf?: string;
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

export async function buildReport(decisions: DecisionStore, campaignId: string, mailStatus?: MailStatusLookup): Promise<Report> {
  let rows = await decisions.current(campaignId);
  const final = rows.length > 0;
  if (!final) rows = await decisions.previews(campaignId);
  const mail = mailStatus ? await mailStatus(campaignId) : new Map();
  const asOf = final ? undefined : rows.map((d) => d.asOf).sort().at(-1);
  return {
    campaignId,
    final,
    ...(asOf ? { asOf } : {}),
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

/** RFC 4180 CSV of the report, one row per provider (shared/csv.ts guards formula cells). */
export function reportCsv(r: Report): string {
  return csv(
    CSV_COLUMNS,
    r.assessments.map((a) => {
      const row: Record<string, unknown> = { ...a, mailStatus: a.mail?.status };
      return CSV_COLUMNS.map((k) => row[k]);
    }),
  );
}
