import type { DecisionChange, StoredDecision, ThresholdChange } from '../model.ts';
import { uses, type Needs } from '../store/access.ts';
import { DECISIONS_ACCESS } from '../store/decisions.ts';
import { OUTBOX_ACCESS, type OutboxEntry } from '../store/outbox.ts';

/** What the report uses of each store: its function's IAM policy is derived from this. */
export const REPORT_DECISIONS = uses(DECISIONS_ACCESS, ['current', 'previews']);
export const REPORT_OUTBOX = uses(OUTBOX_ACCESS, ['entries']);
export const REPORT_NEEDS = [REPORT_DECISIONS, REPORT_OUTBOX];
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
  /** From revision 2 on: what this revision changed against the previous one. */
  changes?: DecisionChange[];
  /**
   * This revision changed only figures: recorded, with no mail of its own, since what the provider
   * was told (revision `mailRevision`) still holds (RULES.md, "correction mail").
   */
  figuresOnly?: true;
  mailRevision?: number;
  /** The change of the decided threshold this decision was made under: who changed it, when, and why. */
  thresholdChange?: ThresholdChange;
  mail?: MailStatus;
}

/**
 * Where a provider's outcome mail stands (its latest notice), from the ledger and SES's events:
 * - `sent`: SES took it; `delivered`: the receiving server accepted it; `delayed`: SES keeps trying;
 * - `bounced` (with SES's bounce type and subtype), `complained`: it reached nobody, or the recipient
 *   marked it as spam;
 * - `failed`: SES refused it (or rejected it after taking it), with the reason;
 * - `sending`: a run holds it right now; `uncertain`: a run died or SES timed out and no evidence
 *   says yet whether it went out (notify settles it, `renewal notify` again).
 */
export interface MailStatus {
  status: 'sent' | 'delivered' | 'delayed' | 'bounced' | 'complained' | 'failed' | 'sending' | 'uncertain';
  /** When it reached that state (UTC ISO-8601). */
  at?: string;
  detail?: string;
  /** `Permanent/General`, `Transient/MailboxFull`, … (bounced only). */
  bounceType?: string;
  /** The decision revision the notice is for. */
  notice: number;
  messageId?: string;
}

export type MailStatusLookup = (campaignId: string) => Promise<Map<string, MailStatus>>;

/** The status of one ledger entry (see `MailStatus`); `now` tells a live claim from a dead one. */
export function mailStatusOf(e: OutboxEntry, now: Date): MailStatus {
  const base = { notice: e.seq, ...(e.messageId ? { messageId: e.messageId } : {}) };
  const ids = [...new Set([...(e.messageId ? [e.messageId] : []), ...(e.messageIds ?? [])])];
  const twice = ids.length > 1 ? ` — SES took it ${ids.length} times (${ids.join(', ')})` : '';
  const withTwice = (m: MailStatus): MailStatus => (twice ? { ...m, detail: `${m.detail ?? ''}${twice}`.replace(/^ — /, '') } : m);
  if (e.complaint) return withTwice({ ...base, status: 'complained', at: e.complaint.at, detail: `the recipient complained${e.complaint.type ? ` (${e.complaint.type})` : ''}` });
  if (e.bounce) return withTwice({ ...base, status: 'bounced', at: e.bounce.at, bounceType: `${e.bounce.type}/${e.bounce.subType}`, ...(e.bounce.diagnostic ? { detail: e.bounce.diagnostic } : {}) });
  if (e.rejected) return withTwice({ ...base, status: 'failed', at: e.rejected.at, detail: `rejected by SES: ${e.rejected.reason}` });
  if (e.status === 'failed') return { ...base, status: 'failed', at: e.updatedAt, detail: e.error ?? 'failed' };
  if (e.deliveredAt) return withTwice({ ...base, status: 'delivered', at: e.deliveredAt });
  if (e.delay) return withTwice({ ...base, status: 'delayed', at: e.delay.at, detail: `${e.delay.type}${e.delay.until ? `; SES keeps trying until ${e.delay.until}` : ''}` });
  if (e.status === 'sent')
    return withTwice({ ...base, status: 'sent', at: e.sentAt ?? e.sendAt ?? e.updatedAt, ...(e.settledBy === 'ses-event' ? { detail: "recorded from SES's evidence after its sender stopped" } : {}) });
  if (e.leaseUntil && Date.parse(e.leaseUntil) > now.getTime()) return { ...base, status: 'sending', at: e.claimedAt ?? e.updatedAt, detail: `claimed by a run until ${e.leaseUntil}` };
  return { ...base, status: 'uncertain', at: e.claimedAt ?? e.updatedAt, detail: e.uncertain ?? 'its sender stopped before marking it and SES has reported nothing yet: renewal notify settles it' };
}

/** Per provider, the status of the outcome notice of its latest revision (reads the outbox ledger). */
export function mailStatusLookup(deps: { outbox: Needs<typeof REPORT_OUTBOX> }, now: () => Date = () => new Date()): MailStatusLookup {
  return async (campaignId) => {
    const latest = new Map<string, OutboxEntry>();
    for (const e of await deps.outbox.entries(campaignId, 'outcome')) {
      const prev = latest.get(e.providerId);
      if (!prev || e.seq > prev.seq) latest.set(e.providerId, e);
    }
    const at = now();
    return new Map([...latest].map(([p, e]) => [p, mailStatusOf(e, at)]));
  };
}

export async function buildReport(decisions: Needs<typeof REPORT_DECISIONS>, campaignId: string, mailStatus?: MailStatusLookup): Promise<Report> {
  let rows = await decisions.current(campaignId);
  const final = rows.length > 0;
  if (!final) rows = await decisions.previews(campaignId);
  const mail = mailStatus ? await mailStatus(campaignId) : new Map();
  const asOf = final
    ? undefined
    : rows
        .map((d) => d.asOf)
        .sort()
        .at(-1);
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
        ...(d.changes?.length ? { changes: d.changes } : {}),
        ...(d.mailRevision !== undefined ? { figuresOnly: true as const, mailRevision: d.mailRevision } : {}),
        ...(d.thresholdChange ? { thresholdChange: d.thresholdChange } : {}),
        ...(m ? { mail: m } : {}),
      };
    }),
  };
}

const CSV_COLUMNS = [
  'providerId',
  'providerName',
  'outcome',
  'reasons',
  'paidOrders',
  'thresholdOrders',
  'depositBalanceFen',
  'noticeDate',
  'reapplyFrom',
  'revision',
  'decidedAt',
  'decidedBy',
  'mailStatus',
  'mailAt',
  'mailBounceType',
  'mailDetail',
  'changed',
  'figuresOnly',
  'thresholdChange',
] as const;

/** A revision's changes in one cell: `thresholdOrders 25→30; paidOrders 16→22`. */
export const changesText = (changes: readonly DecisionChange[] | undefined) => (changes ?? []).map((ch) => `${ch.field} ${JSON.stringify(ch.from)}→${JSON.stringify(ch.to)}`).join('; ');

/** A threshold change in one cell: `25→30 by person:alice at … : why`. */
export const thresholdChangeText = (t: ThresholdChange) => `${t.from}→${t.to} by ${t.by.kind}:${t.by.id} at ${t.at}: ${t.reason}`;

/** RFC 4180 CSV of the report, one row per provider (shared/csv.ts guards formula cells). */
export function reportCsv(r: Report): string {
  return csv(
    CSV_COLUMNS,
    r.assessments.map((a) => {
      const row: Record<string, unknown> = {
        ...a,
        mailStatus: a.mail?.status,
        mailAt: a.mail?.at,
        mailBounceType: a.mail?.bounceType,
        mailDetail: a.mail?.detail,
        changed: changesText(a.changes),
        figuresOnly: a.figuresOnly ? `no mail: revision ${a.mailRevision}'s still holds` : undefined,
        thresholdChange: a.thresholdChange ? thresholdChangeText(a.thresholdChange) : undefined,
      };
      return CSV_COLUMNS.map((k) => row[k]);
    }),
  );
}
