/** What a rehearsal is asked to play, and what `renewal rehearse` reports (`--json` prints it as it stands; summary.ts makes the tables). */
import type { Report } from '#shared/usecases/report.ts';
import type { EmittedMetric } from './functions.ts';
import type { ScheduleStats } from './scheduler.ts';
import type { Clock } from './season-feed.ts';
import type { StateMachineStats, TaskOverride } from './state-machines.ts';
import type { TableFigure } from './topology.ts';

export type { ScheduleStats };

export interface RehearseOptions {
  assemblyDir: string;
  /** The campaign whose schedules are played (default: the first the schedules name). */
  campaignId?: string;
  /** An NDJSON season; default the demo season. */
  eventsFile?: string;
  /** The demo season's size (tests play a small one). */
  demo?: { providers: number; orders: number; seed: number };
  /** Values of template parameters (as `cdk deploy --parameters`). */
  parameters?: Record<string, string>;
  failFast?: boolean;
  /** Intake environments in flight at once. */
  intakeConcurrency?: number;
  progress?: (clockMs: number, clock: Clock, line: string) => void;
  info?: (s: string) => void;
  /** One line per invocation: when, what, how it ended (`renewal rehearse --trace`). */
  trace?: (line: string) => void;
  /** Replaces what the state machines' Lambda tasks do (tests): see state-machines.ts. */
  stateMachineTaskOverride?: TaskOverride;
}

export interface RehearsalResult {
  ok: boolean;
  problems: string[];
  season: { name: string; events: number; afterClock: number; clock: { start: string; end: string } };
  parameters: Record<string, string>;
  tables: TableFigure[];
  iam: {
    deniedCalls: number;
    denied: { function: string; action: string; resource: string; count: number }[];
    calls: { function: string; action: string; resource: string; count: number }[];
    unusedGrants: { function: string; action: string; resource: string; acknowledged?: string }[];
  };
  schedules: Record<string, ScheduleStats>;
  /** Executions of each state machine the schedules started (state-machines.ts). */
  stateMachines: Record<string, StateMachineStats>;
  functions: Record<
    string,
    {
      invocations: number;
      errors: number;
      retries: number;
      timeouts: number;
      deadLettered: number;
      maxDurationMs: number;
      timeoutMs: number;
      peakMemoryMb: number;
      memoryMb: number;
      lastError?: string;
    }
  >;
  queues: Record<string, { sent: number; deduplicated: number; received: number; deleted: number; redelivered: number; deadLettered: number; depth: number; batches: number; maxBatch: number }>;
  deadLettered: number;
  deadLetters: { queue: string; body: string }[];
  decisions: { total: number; mismatches: number | null; detail: { providerId: string; field: string; expected: unknown; actual: unknown }[]; thresholdOrders?: number };
  /** The public delisting notice as the season left it (`latest/notice.json` in the bucket). */
  notice?: { version: number; providers: number; revoked: number; matchesDecisions: boolean; key: string };
  /** The runs by hand after the season, as ops make them. */
  drill: { what: string; ok: boolean; error?: string }[];
  mail: {
    outcome: { sent: number; duplicates: number; missing: string[] };
    /** Outcome mail per delivery status, as the deployed report gives it (SES's events recorded by mail-events). */
    status: Record<string, number>;
    progress: { sent: number; byWeek: Record<string, number> };
    configurationSets: string[];
  };
  metrics: { emitted: (EmittedMetric & { function: string })[]; dashboard: { namespace: string; name: string; dimensions: Record<string, string>; emitted: boolean }[] };
  report?: Report;
  realSeconds: number;
}
