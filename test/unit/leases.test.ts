/**
 * The leases and waits are named once (shared/leases.ts): the code takes them from there, the CLI says
 * them with `durationText`, and the docs (architecture.md, operations.md) must say the same numbers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { durationText, LOCK_WAIT_MS, MAIL_EVENT_WAIT_DEFAULT_MS, NOTICE_CLAIM_LEASE_MS, RUN_LOCK_HEARTBEAT_MS, RUN_LOCK_LEASE_MS } from '#shared/leases.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8').replace(/\s+/g, ' ');
const architecture = read('docs/architecture.md');
const operations = read('docs/operations.md');

describe('durationText', () => {
  it('says seconds below two minutes and minutes from there, without trailing zeros', () => {
    expect([15_000, 60_000, 90_500, 119_000, 120_000, 150_000, 900_000].map(durationText)).toEqual(['15 s', '60 s', '90.5 s', '119 s', '2 minutes', '2.5 minutes', '15 minutes']);
  });
});

describe('the docs state the leases the code uses', () => {
  it('the aggregation lock: its lease, its heartbeat and how long the evaluation waits for it', () => {
    expect(architecture).toContain(`The lock's lease is ${durationText(RUN_LOCK_LEASE_MS)}, renewed every ${durationText(RUN_LOCK_HEARTBEAT_MS)} by a heartbeat`);
    expect(operations).toContain(`frees it ${durationText(RUN_LOCK_LEASE_MS)} after its last heartbeat`);
    expect(architecture).toContain(`(up to ${durationText(LOCK_WAIT_MS)}, then exit 75)`);
    expect(operations).toContain(`after ${durationText(LOCK_WAIT_MS)} of a live holder`);
  });

  it('notify: the claim lease and the default wait for SES events', () => {
    for (const doc of [architecture, operations]) expect(doc).toContain(`conditional write with a lease of ${durationText(NOTICE_CLAIM_LEASE_MS)}`);
    expect(operations).toContain(`(a claim lasts ${durationText(NOTICE_CLAIM_LEASE_MS)} unless its run renews it)`);
    for (const doc of [architecture, operations]) expect(doc).toContain(`default ${MAIL_EVENT_WAIT_DEFAULT_MS / 1000}`);
  });
});
