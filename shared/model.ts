import type { Decision } from './rules/rules.ts';

/** Shapes shared by the stores, the use cases and the mail: what is kept, not how it is keyed. */

export interface ProviderProfile {
  providerId: string;
  /** The provider's own text: escape it in every output. */
  name: string;
  email: string;
  certifiedAt: string;
  regularizedAt?: string;
}

/** Who made a decision: the EventBridge schedule, or a person (ops) by name. */
export interface Actor {
  kind: 'schedule' | 'person';
  id: string;
}

/** One field of a decision that changed from the previous revision. */
export interface DecisionChange {
  field: string;
  from: unknown;
  to: unknown;
}

/**
 * A decision as stored: the rules' `Decision` plus its evidence and audit trail. Revisions count
 * from 1; a re-run that reaches the same decision adds none, a changed one adds the next.
 */
export interface StoredDecision extends Decision {
  campaignId: string;
  providerId: string;
  providerName: string;
  email: string;
  revision: number;
  /** Made after the period closed (by the clock or `asOf`); a preview is never stored as final. */
  final: boolean;
  decidedAt: string;
  decidedBy: Actor;
  /** The instant the run took as "now" (the clock, or `asOf`). */
  asOf: string;
  /** Per CST day of the season, the counted orders (for the progress chart and the evidence). */
  ordersByDay?: Record<string, number>;
  /** Present from revision 2 on: what changed against the previous revision. */
  changes?: DecisionChange[];
  /**
   * Set on a revision that changed only figures (RULES.md, "correction mail"): the earlier revision
   * whose outcome mail still tells this decision. Such a revision sends no mail of its own.
   */
  mailRevision?: number;
  /**
   * Set on a revision that changes the outcome or reasons after figures-only revisions: the revision
   * the provider was last told, which its correction mail replaces (else the previous revision).
   */
  corrects?: number;
  /** Set on the revisions of a run that changed the decided threshold: who changed it, and why. */
  thresholdChange?: ThresholdChange;
}

/** A deliberate change of a campaign's decided threshold (OPS.md, "Changing a decided threshold"). */
export interface ThresholdChange {
  from: number;
  to: number;
  reason: string;
  by: Actor;
  at: string;
  runId: string;
}

/** Where an evaluation's threshold came from: the run (flag or payload), the deployment (THRESHOLD_ORDERS), or the campaign file. */
export type ThresholdSource = 'run' | 'deployment' | 'campaign';
