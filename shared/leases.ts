/**
 * Every lease and wait of the app, named once: the use cases take their defaults from here, and the
 * CLI's messages say them from here (`durationText`), so what ops read is what the code does.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** notify's claim on a notice: keeps other runs off it while one sends; renewed before each retry. */
export const NOTICE_CLAIM_LEASE_MS = 2 * MINUTE;

/** The aggregation lock without a heartbeat: the most a run that died blocks the next one. */
export const RUN_LOCK_LEASE_MS = MINUTE;

/** How often a live aggregation renews its lock: four beats per lease, so a slow renewal or two do not lose it. */
export const RUN_LOCK_HEARTBEAT_MS = 15 * SECOND;

/** How long the evaluation waits for a live holder of the aggregation lock before it gives up (exit 75). */
export const LOCK_WAIT_MS = 10 * MINUTE;

/**
 * MAIL_EVENT_WAIT_SECONDS's default: how long after a claim ended without a result notify waits for
 * SES's events about the mail before it sends that notice again. SES publishes a Send within seconds
 * as a rule; the rest covers a backlog in event publishing, SNS's retries and the mail-events
 * function's own retries.
 */
export const MAIL_EVENT_WAIT_DEFAULT_MS = 15 * MINUTE;

/** A duration as the CLI and the docs say it: `15 s`, `60 s`, `2 minutes`, `1.5 minutes`. */
export function durationText(ms: number): string {
  if (ms < 2 * MINUTE) return `${+(ms / SECOND).toFixed(1)} s`;
  return `${+(ms / MINUTE).toFixed(1)} minutes`;
}
