/**
 * The words for the decision's values, one table per language: the outcome, each reason, and each field
 * a correction may list. The mails, the public notice and the report page all name them so.
 */
import type { Decision, Reason } from '../rules/rules.ts';
import type { Lang } from '../mail/document.ts';

/** Each outcome in words. */
export const OUTCOME_LABEL: Record<Lang, Record<Decision['outcome'], string>> = {
  zh: { retained: '保留认证', revoked: '取消认证', not_assessed: '不参与考核' },
  en: { retained: 'retained', revoked: 'revoked', not_assessed: 'not assessed' },
};

/** Each reason in words, as the mails and the public notice state it. */
export const REASON_LABEL: Record<Lang, Record<Reason, string>> = {
  zh: {
    orders_below_threshold: '支付订单量未达考核线',
    deposit_not_paid_in_full: '保证金未缴足',
    not_in_scope: '不在适用范围内',
    not_regularized: '未转正',
  },
  en: {
    orders_below_threshold: 'paid orders below the threshold',
    deposit_not_paid_in_full: 'deposit not paid in full',
    not_in_scope: 'not in scope',
    not_regularized: 'not regularized',
  },
};

/** The decision fields a correction may list (`DecisionChange.field`), in words. */
export const FIELD_LABEL: Record<Lang, Readonly<Record<string, string>>> = {
  zh: {
    outcome: '考核结果',
    reasons: '未达标项',
    paidOrders: '支付订单量',
    thresholdOrders: '考核线',
    depositBalanceFen: '保证金余额',
    depositRequiredFen: '保证金要求',
    noticeDate: '摘牌公示日期',
    reapplyFrom: '可再次申请日期',
    clauses: '依据条款',
    rulesVersion: '规则版本',
  },
  en: {
    outcome: 'Result',
    reasons: 'Requirements not met',
    paidOrders: 'Paid orders',
    thresholdOrders: 'Threshold',
    depositBalanceFen: 'Deposit balance',
    depositRequiredFen: 'Required deposit',
    noticeDate: 'Delisting notice date',
    reapplyFrom: 'May re-apply from',
    clauses: 'Clauses',
    rulesVersion: 'Rules version',
  },
};

/** The label of `key` in `table`, own keys only ('constructor' is no label), or undefined. */
export function labelOf(table: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
