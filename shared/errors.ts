/**
 * The project's errors, one hierarchy. Each class says what the CLI does with it (OPS.md, "Commands"):
 * its exit status, and whether running the same command again can help (`retryable`). The CLI maps
 * an error by class (`instanceof RenewalError` → `exitCode`), never by its name; a deployed
 * function's error, which comes back as its `errorType` string, is turned into its class in one
 * place (cli/aws.ts). The cause of an error is kept (`{ cause }`).
 *
 * Each class sets `name` as a literal: a function's bundle may rename classes, and its `errorType`
 * (the `name`) is what the CLI reads back over `--aws`.
 */

/** OPS.md's exit statuses: 0 done, 1 the work failed, 2 bad usage or input, 75 (EX_TEMPFAIL) another run holds the work. */
export const EXIT = { done: 0, failed: 1, usage: 2, busy: 75 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The base: the work failed (exit 1); a retry does not help unless a subclass says so. */
export class RenewalError extends Error {
  override name = 'RenewalError';
  readonly exitCode: ExitCode = EXIT.failed;
  readonly retryable: boolean = false;
}

/** Bad usage or bad input (exit 2): the message names what is wrong; the same input fails the same way. */
export class BadInputError extends RenewalError {
  override name = 'BadInputError';
  override readonly exitCode: ExitCode = EXIT.usage;
}

/** Nothing was done because another run holds the work (exit 75): run it again later. */
export class BusyError extends RenewalError {
  override name = 'BusyError';
  override readonly exitCode: ExitCode = EXIT.busy;
  override readonly retryable = true;
}

/** A command's flags or arguments are wrong (exit 2). */
export class UsageError extends BadInputError {
  override name = 'UsageError';
}

/** A command needs a package the install does not have (`npm ci --omit=dev`): exit 2, naming what to install. */
export class MissingPackageError extends BadInputError {
  override name = 'MissingPackageError';
}

/**
 * The CLI's exit status for anything thrown: a RenewalError's own, 1 for anything else (an SDK error,
 * a bug). The one mapping the CLI uses.
 */
export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof RenewalError ? err.exitCode : EXIT.failed;
}
