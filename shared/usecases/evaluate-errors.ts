import type { ThresholdSource } from '../model.ts';
import { BadInputError, RenewalError } from '#shared/errors.ts';
import type { EvaluateResult } from './evaluate.ts';

/** What a final evaluation can fail with, as its callers (the CLI, the handler) map it by class. */

/** One step of a final evaluation, as a failure reports it. */
export interface EvaluateStep {
  step: 'decisions' | 'mail' | 'notice';
  status: 'done' | 'failed' | 'not_run';
  detail: string;
}

/**
 * A later step of a final evaluation failed (the decisions are recorded): which steps are done,
 * which are not, and the commands that finish the work. Its message says all of it in one line.
 */
export class EvaluateStepError extends RenewalError {
  override name = 'EvaluateStepError';
  /** The commands of its message finish the work. */
  override readonly retryable = true;
  constructor(
    readonly result: EvaluateResult,
    readonly steps: EvaluateStep[],
    readonly next: string[],
    cause: unknown,
  ) {
    super(`${steps.map((s) => s.detail).join(', ')}; run ${next.map((n) => `\`${n}\``).join(', then ')}`, { cause });
  }
}

/** Bad input the evaluation finds only against the stores; its message starts with the payload field. */
export class EvaluateInputError extends BadInputError {
  override name = 'EvaluateInputError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** `providerIds` named providers that no event ever recorded. */
export class UnknownProvidersError extends EvaluateInputError {
  override name = 'UnknownProvidersError';
  constructor(readonly unknown: string[]) {
    super(
      'providerIds',
      `unknown provider(s) ${unknown.map((p) => JSON.stringify(p)).join(', ')}: no provider.upserted event was recorded for ${unknown.length > 1 ? 'them' : 'it'}; nothing was evaluated`,
    );
  }
}

/** What a change of the decided threshold would change, computed before anything is written. */
export interface ThresholdChangePreview {
  campaignId: string;
  /** The threshold(s) of the current final decisions the run would replace. */
  decided: number[];
  to: number;
  source: ThresholdSource;
  /** Providers whose outcome or reasons would change, with before and after. */
  providers: { providerId: string; providerName: string; from: { outcome: string; reasons: string[] }; to: { outcome: string; reasons: string[]; paidOrders?: number } }[];
  /** Providers whose outcome would change; of them, newly revoked and reinstated. */
  outcomes: number;
  revocations: number;
  reinstatements: number;
  /** Entries of the public delisting notice that would appear, go, or change reasons. */
  noticeEntries: number;
  /** Revisions that would change only figures (no mail). */
  figuresOnly: number;
}

/** A final run's threshold differs from the decided one and the change was not stated (or stated wrong). */
export class ThresholdChangeError extends EvaluateInputError {
  override name = 'ThresholdChangeError';
  constructor(
    field: string,
    message: string,
    readonly preview?: ThresholdChangePreview,
  ) {
    super(field, message);
  }
}

const SOURCE_TEXT: Record<ThresholdSource, string> = {
  run: "the run's thresholdOrders",
  deployment: "the deployment's THRESHOLD_ORDERS",
  campaign: "the campaign's thresholdOrders",
};

/** Where a threshold came from, in words. */
export const thresholdSourceText = (s: ThresholdSource) => SOURCE_TEXT[s];
