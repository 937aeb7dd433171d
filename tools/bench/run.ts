/**
 * One bench run as its measurements share it: the season, the embedded stack, the table prefix of
 * this run, and the goals (`metrics`) and information (`info`) each measurement adds in its turn.
 */
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { Campaign } from '#shared/rules/campaign.ts';
import type { LocalStack } from '#tools/local/stack.ts';

export interface BenchIO {
  json?: boolean;
  /** The season the bench plays: its period, cuts and deposit (never dates of its own). */
  campaign: Campaign;
  orders: number;
  providers: number;
  print: (s: string) => void;
  printJson: (v: unknown) => void;
  info: (s: string) => void;
}

/** A goal: the measured value, the goal it is held to, whether it is met, and how it was measured. */
export interface Metric {
  value: number;
  goal: string;
  ok: boolean;
  detail: string;
}

export interface BenchRun {
  io: BenchIO;
  campaign: Campaign;
  local: LocalStack;
  dynamo: DynamoDBClientConfig;
  /** This run's tag in the names of the tables it creates. */
  tag: string;
  /** Intake invocations in flight, and the baseline's requests in flight alike. */
  concurrency: number;
  /** The goals, in the order they are reported. */
  metrics: Record<string, Metric>;
  /** Figures shown beside the goals. */
  info: Record<string, number>;
  step: (s: string) => void;
}

/** Rounds of each side of a ratio a shared machine can disturb: the median is the figure. */
export const RATIO_ROUNDS = 3;

export const round = (x: number) => Math.round(x * 1000) / 1000;
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
export const usd = (x: number) => `$${x < 0.01 ? x.toPrecision(2) : x.toFixed(3)}`;
/** `lowest–highest` of a set of ratios, to show beside their median. */
export const spread = (xs: number[]) => `${round(Math.min(...xs))}–${round(Math.max(...xs))}`;
/** A meter's requests by operation, as `Query 3, BatchWriteItem 2`. */
export const operations = (ops: Record<string, number>): string =>
  Object.entries(ops)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
