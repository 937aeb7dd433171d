/**
 * The cost model of the bench: what the counted work costs on AWS at on-demand list prices. The
 * prices are written once, here, with where and when they were read; the free tiers are left out.
 */
import type { MeterSnapshot } from './meter.ts';

export const PRICES = {
  region: 'us-east-1',
  readOn: '2026-11-29',
  dynamodb: {
    /** On-demand, standard table class. */
    usdPerMillionWru: 0.625,
    usdPerMillionRru: 0.125,
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  sqs: {
    usdPerMillionFifoRequests: 0.5,
    /** Each 64 KB chunk of a request's payload is billed as one request. */
    chunkBytes: 65_536,
    source: 'https://aws.amazon.com/sqs/pricing/',
  },
  lambda: {
    usdPerMillionRequests: 0.2,
    /** Arm (the functions run on arm64), first duration tier. Duration is billed per 1 ms. */
    usdPerGbSecond: 0.0000133334,
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  ses: {
    usdPerThousandMessages: 0.1,
    source: 'https://aws.amazon.com/ses/pricing/',
  },
  stepFunctions: {
    /** Standard workflows: every state entered (a retry too) is one transition. */
    usdPerThousandTransitions: 0.025,
    source: 'https://aws.amazon.com/step-functions/pricing/',
  },
} as const;

/**
 * State transitions of one execution of a season job's state machine (cdk/fanout.ts, plan → Map of
 * `shards` → finish): the plan task, the two Choices (Busy, Grouped), the Map state, one task per
 * shard, the finish task, plus one per retried step.
 */
export const stateTransitions = (shards: number, retries = 0): number => 5 + shards + retries;

/**
 * The same for a grouped full recount (cdk/fanout-groups.ts): the plan task, the two Choices, the
 * distributed Map, in each of the `groups` child executions its Pass (GroupRange) and its inline Map,
 * one task per shard, the finish task, plus one per retried step.
 */
export const groupedStateTransitions = (shards: number, groups: number, retries = 0): number => 5 + 2 * groups + shards + retries;

/**
 * The same for the evaluation's state machine, which has no grouped branch: the plan task, the Busy
 * Choice, the Map state, one task per shard, the finish task, plus one per retried step.
 */
export const evaluationStateTransitions = (shards: number, retries = 0): number => 4 + shards + retries;

/** What `transitions` state transitions of Standard workflows cost. */
export const transitionsUsd = (transitions: number): number => (transitions / 1000) * PRICES.stepFunctions.usdPerThousandTransitions;

/** Counted work of one stage (or of several added up). */
export interface Usage {
  wru: number;
  rru: number;
  sqsRequests: number;
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  sesMessages: number;
}

export const noUsage = (): Usage => ({ wru: 0, rru: 0, sqsRequests: 0, lambdaInvocations: 0, lambdaGbSeconds: 0, sesMessages: 0 });

/** The capacity units a meter counted, as a stage's usage. */
export const usageOf = (m: MeterSnapshot): Pick<Usage, 'wru' | 'rru'> => ({ wru: m.wruTable + m.wruIndexes, rru: m.rru });

export function addUsage(...us: Usage[]): Usage {
  const out = noUsage();
  for (const u of us) for (const k of Object.keys(out) as (keyof Usage)[]) out[k] += u[k];
  return out;
}

export function scaleUsage(u: Usage, factor: number): Usage {
  const out = noUsage();
  for (const k of Object.keys(out) as (keyof Usage)[]) out[k] = u[k] * factor;
  return out;
}

export interface Cost {
  dynamodb: number;
  sqs: number;
  lambda: number;
  ses: number;
  total: number;
}

export function costOf(u: Usage): Cost {
  const dynamodb = (u.wru * PRICES.dynamodb.usdPerMillionWru + u.rru * PRICES.dynamodb.usdPerMillionRru) / 1e6;
  const sqs = (u.sqsRequests * PRICES.sqs.usdPerMillionFifoRequests) / 1e6;
  const lambda = (u.lambdaInvocations * PRICES.lambda.usdPerMillionRequests) / 1e6 + u.lambdaGbSeconds * PRICES.lambda.usdPerGbSecond;
  const ses = (u.sesMessages * PRICES.ses.usdPerThousandMessages) / 1e3;
  return { dynamodb, sqs, lambda, ses, total: dynamodb + sqs + lambda + ses };
}

/** GB-seconds of invocations of `memoryMb` that ran `durationsMs`, each billed to the next millisecond. */
export function gbSeconds(memoryMb: number, durationsMs: readonly number[]): number {
  return (durationsMs.reduce((s, ms) => s + Math.ceil(ms), 0) / 1000) * (memoryMb / 1024);
}

/**
 * SQS FIFO requests for delivering `messages` of `avgBytes` through a Lambda event source in batches
 * of `batchSize`: the producer's SendMessageBatch of up to 10, the poller's ReceiveMessage and
 * DeleteMessageBatch per batch, each billed per started 64 KB of its payload. (Empty receives of an
 * idle queue are a cost of the season, not of orders: see docs/benchmarks.md.)
 */
export function sqsRequests(messages: number, avgBytes: number, batches: number, batchSize = 10): number {
  const chunksPerBatch = Math.max(1, Math.ceil((avgBytes * batchSize) / PRICES.sqs.chunkBytes));
  const sends = Math.ceil(messages / 10) * chunksPerBatch;
  return sends + batches * chunksPerBatch + batches;
}
