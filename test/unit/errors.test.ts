/**
 * The error hierarchy (shared/errors.ts): each class's exit status (OPS.md: 0 done, 1 the work failed,
 * 2 bad usage or input, 75 another run holds the work) and whether a retry can help, the cause kept,
 * the CLI's mapping by class, and a deployed function's errorType mapped to the same classes
 * (cli/aws.ts). The expected codes are OPS.md's, written out here, not read from the classes.
 */
import { describe, expect, it } from 'vitest';
import { AwsTargetError, RemoteFunctionError, remoteError } from '#cli/aws.ts';
import { ImportAbortedError, InputFileError } from '#cli/import.ts';
import { BadInputError, BusyError, exitCodeOf, MissingPackageError, RenewalError, UsageError } from '#shared/errors.ts';
import { withDevDependencies } from '#cli/dev-dependencies.ts';
import { ConfigError } from '#shared/config.ts';
import { MailTemplateError } from '#shared/mail/templates.ts';
import { PayloadError } from '#shared/payloads.ts';
import { UnprocessedItemsError } from '#shared/store/batch.ts';
import { EvaluateInputError, EvaluateStepError, ThresholdChangeError, UnknownProvidersError } from '#shared/usecases/evaluate.ts';
import type { EvaluateResult } from '#shared/usecases/evaluate.ts';
import { ReapplyRequestError } from '#shared/usecases/reapply.ts';
import { LockBusyError, LockLostError } from '#shared/usecases/run-lock.ts';
import { ImportBusyError, LocalServiceStalledError, LocalStackError } from '#tools/local/stack.ts';
import { AssemblyError } from '#tools/rehearsal/assembly.ts';
import { ScheduleExpressionError } from '#tools/rehearsal/schedules.ts';

const cause = new Error('the underlying failure');

/** [the error, its name, the CLI's exit status, whether running it again can help]. */
const CASES: [RenewalError, string, number, boolean][] = [
  [new UsageError('--threshold: must be a positive integer', { cause }), 'UsageError', 2, false],
  [new PayloadError('thresholdOrders: must be positive', { cause }), 'PayloadError', 2, false],
  [new ConfigError('configuration: MAIL_FROM is required', { cause }), 'ConfigError', 2, false],
  [new InputFileError('events.ndjson: is a directory', { cause }), 'InputFileError', 2, false],
  [new EvaluateInputError('asOf', 'must be an instant'), 'EvaluateInputError', 2, false],
  [new UnknownProvidersError(['P9']), 'UnknownProvidersError', 2, false],
  [new ThresholdChangeError('changeThreshold', 'is required'), 'ThresholdChangeError', 2, false],
  [new ReapplyRequestError('at: must be an ISO-8601 instant', { cause }), 'ReapplyRequestError', 2, false],
  [new LocalStackError('port 19200 is busy', { cause }), 'LocalStackError', 2, false],
  [new MissingPackageError('renewal local up needs the development dependencies', { cause }), 'MissingPackageError', 2, false],
  [new LockBusyError(undefined), 'LockBusyError', 75, true],
  [new ImportBusyError('another import runs on this stack', { cause }), 'ImportBusyError', 75, true],
  [new LockLostError('the lock was taken', { cause }), 'LockLostError', 1, true],
  [new ImportAbortedError('import stopped', { accepted: 1, duplicates: 0, rejected: 0, failed: 0 }), 'ImportAbortedError', 1, true],
  [new EvaluateStepError({} as EvaluateResult, [], ['renewal notify --campaign renewal-2024'], cause), 'EvaluateStepError', 1, true],
  [new UnprocessedItemsError('BatchGetItem left keys unprocessed after retries', { cause }), 'UnprocessedItemsError', 1, true],
  [new LocalServiceStalledError('dynamodb has not answered', { cause }), 'LocalServiceStalledError', 1, true],
  [new MailTemplateError('settings.feedbackMailbox must be one email address', { cause }), 'MailTemplateError', 1, false],
  [new AwsTargetError('stack ProviderRenewal-dev-App does not exist', { cause }), 'AwsTargetError', 1, false],
  [new RemoteFunctionError('fn-evaluate', 'Runtime.ExitError', 'exited', { cause }), 'RemoteFunctionError', 1, false],
  [new AssemblyError('no manifest.json', { cause }), 'AssemblyError', 1, false],
  [new ScheduleExpressionError('rate(1 minutes)', { cause }), 'ScheduleExpressionError', 1, false],
];

describe('the error classes', () => {
  it.each(CASES.map(([err, name, exit, retryable]) => ({ err, name, exit, retryable })))('$name: exit $exit, retryable $retryable', ({ err, name, exit, retryable }) => {
    expect(err).toBeInstanceOf(RenewalError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe(name);
    expect(err.exitCode).toBe(exit);
    expect(err.retryable).toBe(retryable);
    expect(exitCodeOf(err)).toBe(exit);
    // The category the exit status says.
    expect(err instanceof BadInputError).toBe(exit === 2);
    expect(err instanceof BusyError).toBe(exit === 75);
  });

  it('keeps the cause it was given (ES2022 { cause })', () => {
    for (const [err, name] of CASES) {
      if (['EvaluateInputError', 'UnknownProvidersError', 'ThresholdChangeError', 'LockBusyError', 'ImportAbortedError'].includes(name)) continue; // built from their fields, with no cause
      expect(err.cause, name).toBe(cause);
    }
  });

  it('keeps the messages people read', () => {
    expect(new LockBusyError(undefined).message).toBe('the aggregation lock is held by another run (it has just released it); nothing was done: run it again after that');
    expect(new UnknownProvidersError(['P9']).message).toBe('providerIds: unknown provider(s) "P9": no provider.upserted event was recorded for it; nothing was evaluated');
    expect(new EvaluateStepError({} as EvaluateResult, [{ step: 'mail', status: 'failed', detail: 'outcome mail NOT sent' }], ['renewal notify --campaign renewal-2024'], cause).message).toBe(
      'outcome mail NOT sent; run `renewal notify --campaign renewal-2024`',
    );
  });

  it('exits 1 on anything that is not a RenewalError (an SDK error, a bug, a thrown string)', () => {
    for (const err of [new Error('boom'), Object.assign(new Error('x'), { name: 'LockBusyError' }), new TypeError('x'), 'a string', undefined, { exitCode: 2 }]) expect(exitCodeOf(err)).toBe(1);
  });
});

describe("a deployed function's errorType (cli/aws.ts remoteError)", () => {
  /** [errorType, the class the CLI meets, exit status, retryable]. */
  const REMOTE: [string, abstract new (...args: never[]) => RenewalError, number, boolean][] = [
    ['PayloadError', PayloadError, 2, false],
    ['LockBusyError', LockBusyError, 75, true],
    ['LockLostError', LockLostError, 1, true],
    ['UnprocessedItemsError', UnprocessedItemsError, 1, true],
    ['EvaluateStepError', RemoteFunctionError, 1, true],
    ['ConfigError', RemoteFunctionError, 1, false], // the deployment's configuration, not the operator's input
    ['Runtime.ExitError', RemoteFunctionError, 1, false],
    ['Sandbox.Timedout', RemoteFunctionError, 1, false],
    ['toString', RemoteFunctionError, 1, false], // not a key of the table's prototype
  ];
  it.each(REMOTE.map(([errorType, cls, exit, retryable]) => ({ errorType, cls, exit, retryable })))('$errorType → $cls.name, exit $exit', ({ errorType, cls, exit, retryable }) => {
    const err = remoteError('fn-evaluate', errorType, 'the function said so');
    expect(err).toBeInstanceOf(cls);
    expect(exitCodeOf(err)).toBe(exit);
    expect(err.retryable).toBe(retryable);
    // The function's answer is there to read: as the error itself, or as its cause.
    const answer = err instanceof RemoteFunctionError && err.cause === undefined ? err : err.cause;
    if (errorType !== 'LockBusyError') expect(answer).toMatchObject({ functionName: 'fn-evaluate', errorType });
  });

  it('keeps the message, and points the commands an evaluation step names at --aws', () => {
    expect(remoteError('fn', 'PayloadError', 'thresholdOrders: must be positive').message).toBe('thresholdOrders: must be positive');
    expect(remoteError('fn', 'LockBusyError', 'the aggregation lock is held by renewal aggregate by ops@host').message).toBe('the aggregation lock is held by renewal aggregate by ops@host');
    expect(remoteError('fn', 'EvaluateStepError', 'outcome mail NOT sent; run `renewal notify --campaign renewal-2024`').message).toBe(
      'outcome mail NOT sent; run `renewal --aws notify --campaign renewal-2024`',
    );
  });
});

describe('a development dependency missing (cli/dev-dependencies.ts)', () => {
  const notFound = (message: string, code = 'ERR_MODULE_NOT_FOUND') => Object.assign(new Error(message), { code });

  it('names the command and the package, says what to install (exit 2), and keeps the loader error as the cause', async () => {
    const loader = notFound("Cannot find package '@cloud-copilot/iam-simulate' imported from /x/tools/rehearsal/iam.ts");
    const err = await withDevDependencies('renewal rehearse', [], () => Promise.reject(loader)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingPackageError);
    expect(exitCodeOf(err)).toBe(2);
    expect((err as Error).message).toMatch(
      /^renewal rehearse needs the development dependencies, and @cloud-copilot\/iam-simulate is not installed \(an install with --omit=dev\): run `npm ci` without --omit=dev/,
    );
    expect((err as Error).cause).toBe(loader);
    const required = await withDevDependencies('renewal local up', [], () => Promise.reject(notFound("Cannot find module 'aws-ses-v2-local/dist/store.js'\nRequire stack:", 'MODULE_NOT_FOUND'))).catch(
      (e: unknown) => e,
    );
    expect((required as Error).message).toMatch(/aws-ses-v2-local is not installed/);
  });

  it('with the packages installed (this checkout), returns what it loaded', async () => {
    await expect(withDevDependencies('renewal local up', ['dynalite', 'aws-ses-v2-local', 's3rver'], async () => 'loaded')).resolves.toBe('loaded');
  });

  it('rethrows what is not a development dependency gone missing: a production package, a package not of this project, any other error', async () => {
    for (const thrown of [
      notFound("Cannot find package 'zod' imported from /x"),
      notFound("Cannot find package 'left-pad' imported from /x"),
      new TypeError('boom'),
      notFound("Cannot find module '/x/y.ts'"),
    ]) {
      await expect(withDevDependencies('renewal demo', [], () => Promise.reject(thrown))).rejects.toBe(thrown);
    }
  });
});
