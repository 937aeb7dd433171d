import { basename } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { createDocumentClient } from '#shared/aws.ts';
import { stores } from '#shared/deps.ts';
import { emptyNotice } from '#shared/notice/files.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { NoticeBucket, noticePageUrl } from '#shared/store/notice-bucket.ts';
import { listRejected } from '#shared/store/rejected.ts';
import { DecisionStore } from '#shared/store/decisions.ts';
import type { RejectedEvent } from '#shared/store/layout/rejected.ts';
import type { AggregateResult } from '#shared/usecases/aggregate.ts';
import { EvaluateStepError, type EvaluateResult, type EvaluateStep } from '#shared/usecases/evaluate.ts';
import type { NotifyResult } from '#shared/usecases/notify.ts';
import { pendingNotice, type PendingNotice, type PublishResult } from '#shared/usecases/publish.ts';
import { buildReport, mailStatusLookup, type Report } from '#shared/usecases/report.ts';
import { describeHolder } from '#shared/usecases/run-lock.ts';
import { durationText, LOCK_WAIT_MS } from '#shared/leases.ts';
import { makeAggregate } from '#functions/handlers/aggregate.ts';
import { makeEvaluate } from '#functions/handlers/evaluate.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { makeNotify, notifyMailer } from '#functions/handlers/notify.ts';
import { makePublish } from '#functions/handlers/publish.ts';
import { makeReapply } from '#functions/handlers/reapply.ts';
import { campaignRegistry } from '#shared/campaigns.ts';
import { ReapplyExceptionStore, type StoredExceptionRecord } from '#shared/store/exceptions.ts';
import { recordException, type ExceptRequest, type ReapplyCheck } from '#shared/usecases/reapply.ts';
import { awsTarget, invokeFunction, sendEvents, type AwsTarget, type SendResult } from './aws.ts';
import type { EventLine, IntakeHandler } from './import.ts';
import { embeddedSesEvidence } from '#tools/local/mail-evidence.ts';
import { useLocalStack, type LocalStack } from '#tools/local/stack.ts';
import { holdImportLock } from '#tools/local/locks.ts';
import { readPublicNotice, type PublishedNotice } from './notice-commands.ts';
import { holderName, phaseProgress, seasonByDay } from './run-summaries.ts';

/**
 * Where a command runs: the one seam between the commands of cli/main.ts and the stack they work on.
 * `local` is the embedded stack with the functions' handlers in this process (built from the
 * factories in functions/handlers/ with the embedded stack's configuration); `aws` invokes the
 * deployed functions with the same payloads and sends to the intake queue. A command chooses the
 * target once, from --aws, and never asks which one it has, except for what only one of them can do
 * (`queue`, `seasonByDay`).
 */
export interface Target {
  readonly kind: 'local' | 'aws';
  /** The intake as `renewal import` feeds it batches, what to call it in messages, and what to do when done. */
  openIntake(file: string): Promise<{ handler: IntakeHandler; label: string; release: () => Promise<void> }>;
  /** Sends events to the intake FIFO queue as the platform does; only a deployment has a queue. */
  readonly queue?: (lines: readonly EventLine[], source: string) => Promise<SendResult>;
  rejected(): Promise<RejectedEvent[]>;
  aggregate(payload: { campaignId: string; full?: boolean }): Promise<AggregateResult>;
  /**
   * The evaluation. Locally its outcome mail and publication run in this process and come back
   * with it; on AWS the deployed evaluation hands them to the deployed functions asynchronously.
   */
  evaluate(payload: object): Promise<EvaluateRun>;
  notify(payload: { campaignId: string; kind: 'outcome' | 'progress'; asOf?: string }): Promise<NotifyResult>;
  report(campaignId: string): Promise<Report>;
  /** The season's counted orders per day (the report's chart); only where the aggregates are at hand. */
  readonly seasonByDay?: (campaignId: string) => Promise<Record<string, number>>;
  publish(payload: { campaignId: string }): Promise<PublishResult>;
  /**
   * The public delisting notice as the public reads it now, its stable address, and a version the
   * ledger claimed whose files were never written (`renewal publish` completes it).
   */
  notice(campaignId: string): Promise<{ notice: PublishedNotice; url: string; pending?: PendingNotice }>;
  /** The mail viewer, where there is one. */
  readonly viewer?: string;
  /** The re-application check (clause 3): `{"providerId", "at"?}`, as the reapply function takes it. */
  reapplyCheck(payload: { providerId: string; at?: string }): Promise<ReapplyCheck>;
  /** Records an exception to the re-application bar, or its withdrawal: a new record of the ledger. */
  reapplyExcept(req: ExceptRequest): Promise<StoredExceptionRecord>;
}

/**
 * An evaluation as a command sees it. `failed`: the decisions are recorded but a later step (the
 * outcome mail, the public notice) failed; the steps done and not, and the commands that finish it.
 */
export interface EvaluateRun {
  result: EvaluateResult;
  mail?: NotifyResult;
  publication?: PublishResult;
  failed?: { steps: EvaluateStep[]; next: string[]; message: string };
}

/**
 * The campaigns the commands know, for the seasons rules and the re-application check (RULES.md
 * "Seasons after the first"): the seam the campaign registry fills.
 */
const knownCampaigns = () => campaignRegistry().list();

export interface TargetIo {
  print: (s: string) => void;
  info: (s: string) => void;
  /** No progress bars (a --json run whose stderr is no terminal). */
  quiet?: boolean;
  /** The command, as another run that finds the aggregation lock held is told who holds it. */
  command?: string;
}

/** The target of --aws [--stage S], or the embedded stack. */
export async function chooseTarget(opts: { aws?: boolean; stage: string }, io: TargetIo, local: { thresholdOrders?: number } = {}): Promise<Target> {
  return opts.aws ? remoteTarget(await awsTarget(opts.stage)) : localTarget(await useLocalStack(io.info, local), io);
}

/** The embedded stack as `npm start` plays it: the target, and what only it has at hand. */
export type LocalTarget = Target & {
  kind: 'local';
  stack: LocalStack;
  deps: ReturnType<typeof stores>;
  /** The intake handler itself, without the import lock. */
  intake: IntakeHandler;
  seasonByDay: (campaignId: string) => Promise<Record<string, number>>;
};

/** The embedded stack, its functions run in this process over its tables, SES and S3. */
export function localTarget(stack: LocalStack, io: TargetIo): LocalTarget {
  const { tables, clients, config } = stack;
  const deps = stores(tables, createDocumentClient(clients.dynamodb));
  const progress = phaseProgress(io.quiet);
  const holder = holderName(io.command ?? 'aggregate');
  const bucket = new NoticeBucket(new S3Client(clients.s3), config.notice.bucket);
  const intake = makeIntake(new IngestStore(deps.db, tables));
  const notify = (payload: { campaignId: string; kind: 'outcome' | 'progress'; asOf?: string }) =>
    makeNotify(
      {
        ...deps,
        mailer: notifyMailer(config.mail, clients.ses),
        // A notice whose sender died is settled from what the embedded SES holds.
        evidence: embeddedSesEvidence({ endpoint: stack.status.ses, outbox: deps.outbox }),
        progress,
        campaigns: knownCampaigns,
      },
      config.mail,
    )(payload);
  const publish = makePublish({ decisions: deps.decisions, bucket }, config.notice);
  return {
    kind: 'local',
    stack,
    deps,
    viewer: stack.status.viewer,
    intake,
    async openIntake(file) {
      // One import per stack at a time: two would each count the other's events as accepted.
      const release = await holdImportLock(file);
      return { handler: intake, label: `DynamoDB at ${stack.status.dynamodb}`, release };
    },
    rejected: () => listRejected(deps.db, tables.rejected),
    aggregate: makeAggregate({ ...deps, progress, holder }, { overlapMs: config.overlapMs }),
    async evaluate(payload) {
      let mail: NotifyResult | undefined;
      let publication: PublishResult | undefined;
      const result = await makeEvaluate(
        {
          ...deps,
          progress,
          holder,
          // Long waits say what they wait for.
          waiting: (h, waitedMs) => io.info(`waiting for the aggregation lock (${Math.round(waitedMs / 1000)}s so far, up to ${durationText(LOCK_WAIT_MS)}): held by ${describeHolder(h)}`),
          campaigns: knownCampaigns,
          requestOutcomeMail: async (campaignId) => {
            const m = (mail = await notify({ campaignId, kind: 'outcome' }));
            return `sent (${m.sent} now, ${m.alreadySent} before${m.failed.length ? `, ${m.failed.length} NOT sent` : ''})`;
          },
          requestPublication: async (campaignId) => `${(publication = await publish({ campaignId })).status} (version ${publication.version})`,
        },
        { overlapMs: config.overlapMs, ...(config.thresholdOrders !== undefined ? { thresholdOrders: config.thresholdOrders } : {}) },
      )(payload).catch((err: unknown) => {
        // A later step failed: the decisions stand, and the command says what is done and what is not.
        if (err instanceof EvaluateStepError) return { failed: { steps: err.steps, next: err.next, message: err.message }, result: err.result };
        throw err;
      });
      const run = 'failed' in result ? result : { result };
      return { result: run.result, ...(mail ? { mail } : {}), ...(publication ? { publication } : {}), ...('failed' in run ? { failed: run.failed } : {}) };
    },
    notify,
    report: (campaignId) => buildReport(deps.decisions, campaignId, mailStatusLookup(deps)),
    seasonByDay: (campaignId) => seasonByDay(deps, campaignId),
    publish,
    reapplyCheck: makeReapply({ ...deps, campaigns: knownCampaigns }),
    reapplyExcept: (req) => recordException({ exceptions: deps.exceptions, now: () => new Date() }, req),
    async notice(campaignId) {
      const url = noticePageUrl(config.notice.publicBaseUrl, campaignId, 'latest');
      const [json, pending] = await Promise.all([bucket.latestJson(campaignId) as Promise<PublishedNotice | undefined>, pendingNotice(deps.decisions, campaignId)]);
      return { notice: json ?? emptyNotice(campaignId), url, ...(pending ? { pending } : {}) };
    },
  };
}

/** The deployed stack of one stage: its functions invoked, its queue sent to, its notice read through CloudFront. */
export function remoteTarget(aws: AwsTarget): Target & { kind: 'aws'; aws: AwsTarget } {
  // A function's error comes back as the CLI's own class (cli/aws.ts remoteError).
  const invoke = <T>(fn: keyof AwsTarget['functions'], payload: unknown): Promise<T> => invokeFunction<T>(aws.functions[fn], payload);
  return {
    kind: 'aws',
    aws,
    async openIntake() {
      // The deployed intake function, given the same batches; the lanes keep a message group in one
      // batch at a time within this import (not against the queue: see import --direct).
      return { handler: (event) => invoke('intake', event), label: `function ${aws.functions.intake}`, release: async () => {} };
    },
    // As the platform's events arrive: the FIFO queue keeps each identity's group in one batch at a time.
    queue: (lines, source) => sendEvents(aws.intakeQueueUrl, lines, { source: basename(source) }),
    // The table is read directly (ops' own credentials): there is no function for it.
    rejected: () => listRejected(createDocumentClient(), aws.tables.rejected),
    aggregate: (payload) => invoke('aggregate', payload),
    // The deployed evaluation hands the outcome mail to the deployed notify function itself.
    evaluate: async (payload) => ({ result: await invoke<EvaluateResult>('evaluate', payload) }),
    notify: (payload) => invoke('notify', payload),
    report: (campaignId) => invoke('report', { campaignId }),
    publish: (payload) => invoke('publish', payload),
    async notice(campaignId) {
      // The ledger is read directly (ops' own credentials), as the rejected events are.
      const [read, pending] = await Promise.all([readPublicNotice(aws.outputs, campaignId), pendingNotice(new DecisionStore(createDocumentClient(), { decisions: aws.tables.decisions }), campaignId)]);
      return { ...read, ...(pending ? { pending } : {}) };
    },
    reapplyCheck: (payload) => invoke('reapply', payload),
    // The ledger is written directly (ops' own credentials): the reapply function only reads.
    reapplyExcept: (req) => recordException({ exceptions: new ReapplyExceptionStore(createDocumentClient(), aws.tables), now: () => new Date() }, req),
  };
}
