import type { StoredDecision } from '#shared/model.ts';

/** What a test may vary in `finalDecision`; the rest is the same for every provider. */
export interface FinalDecisionOptions {
  /** Default 1. */
  revision?: number;
  /** Default: `orders_below_threshold` when revoked, none when retained, `not_in_scope` when not assessed. */
  reasons?: StoredDecision['reasons'];
  /** Default `服务商<providerId>`. */
  providerName?: string;
  /** Default 10 when revoked, 500 when retained (threshold 300). */
  paidOrders?: number;
}

/**
 * A final renewal-2024 decision as the scheduled evaluation stores it (threshold 300 orders, the deposit
 * in full, notice on 2024-03-01 when revoked): the input of the public notice's tests.
 */
export function finalDecision(providerId: string, outcome: StoredDecision['outcome'], o: FinalDecisionOptions = {}): StoredDecision {
  const revoked = outcome === 'revoked';
  return {
    campaignId: 'renewal-2024',
    providerId,
    providerName: o.providerName ?? `服务商${providerId}`,
    email: `${providerId.toLowerCase()}@example.com`,
    revision: o.revision ?? 1,
    final: true,
    decidedAt: '2024-02-29T16:30:05.000Z',
    decidedBy: { kind: 'schedule', id: 'eventbridge-scheduler' },
    asOf: '2024-02-29T16:30:05.000Z',
    outcome,
    reasons: o.reasons ?? (revoked ? ['orders_below_threshold'] : outcome === 'retained' ? [] : ['not_in_scope']),
    clauses: ['1'],
    rulesVersion: 'renewal-2024/1',
    ...(outcome !== 'not_assessed' ? { paidOrders: o.paidOrders ?? (revoked ? 10 : 500), thresholdOrders: 300, depositBalanceFen: 10_000_000, depositRequiredFen: 10_000_000 } : {}),
    ...(revoked ? { noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' } : {}),
  };
}
