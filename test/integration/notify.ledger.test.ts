import { describe, expect, it } from 'vitest';
import { OutboxStore, type HolderWrite } from '#shared/store/outbox.ts';
import { FULL_DEPOSIT_FEN, countByRecipient, december, notifyStack } from '../support/notify-fixture.ts';

/**
 * When SES has taken a mail but the ledger cannot record it, the notice must not be sent again in
 * the same run, nor be recorded as failed: it went out. The run reports it as sent but unrecorded.
 */
const stack = await notifyStack();

/**
 * An outbox whose markSent fails `times` times for one recipient's provider: it throws `fault` (a
 * DynamoDB error) or answers as the store does when the claim is no longer ours.
 */
function flakyLedger(base: OutboxStore, providerId: string, fault: Error | HolderWrite, times = 1): OutboxStore {
  let left = times;
  const flaky = Object.create(base) as OutboxStore;
  flaky.markSent = async (...args: Parameters<OutboxStore['markSent']>) => {
    if (args[0].providerId === providerId && left-- > 0) {
      if (fault instanceof Error) throw fault;
      return fault;
    }
    return base.markSent(...args);
  };
  return flaky;
}

const serverError = () => Object.assign(new Error('internal error'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
const lostLease = (): HolderWrite => ({ ok: false, reason: 'lease-lost' });

describe('notify: the ledger fails after SES accepted the mail', () => {
  it('a transient ledger error is retried on its own: one mail, recorded as sent', async () => {
    const s = await stack.season([
      { key: 'A', orders: december(4), depositFen: FULL_DEPOSIT_FEN },
      { key: 'B', orders: december(4), depositFen: FULL_DEPOSIT_FEN },
    ]);
    const r = await s.notify({ kind: 'outcome' }, { outbox: flakyLedger(s.deps.outbox, s.id('A'), serverError()), clock: { sleep: async () => {} } });
    expect(r).toMatchObject({ due: 2, sent: 2, failed: [], unrecorded: [] });
    expect(countByRecipient(await s.mail())).toEqual({ [s.email('A')]: 1, [s.email('B')]: 1 });
    const entries = await s.deps.outbox.entries('renewal-2024', 'outcome');
    expect(entries.map((e) => e.status)).toEqual(['sent', 'sent']);
  });

  it('a lost lease leaves the notice to its new owner, reports it unrecorded, and the run completes', async () => {
    const s = await stack.season([
      { key: 'A', orders: december(4), depositFen: FULL_DEPOSIT_FEN },
      { key: 'B', orders: december(4), depositFen: FULL_DEPOSIT_FEN },
    ]);
    const r = await s.notify({ kind: 'outcome' }, { outbox: flakyLedger(s.deps.outbox, s.id('A'), lostLease()), clock: { sleep: async () => {} } });
    expect(r.sent).toBe(2);
    expect(r.failed).toEqual([]);
    expect(r.unrecorded).toEqual([expect.objectContaining({ providerId: s.id('A'), seq: 1 })]);
    expect(countByRecipient(await s.mail())).toEqual({ [s.email('A')]: 1, [s.email('B')]: 1 });
    const a = (await s.deps.outbox.entries('renewal-2024', 'outcome')).find((e) => e.providerId === s.id('A'));
    expect(a?.status).not.toBe('failed');
  });
});

describe('notify: the address is the provider’s current one', () => {
  it('a profile updated after the decision gets the outcome mail at its new address', async () => {
    const s = await stack.season([{ key: 'A', orders: december(4), depositFen: FULL_DEPOSIT_FEN }]);
    const moved = `moved.${s.token}@renewal-test.example`;
    await s.ingest([{ type: 'provider.upserted', providerId: s.id('A'), name: '新名字 A', email: moved, certifiedAt: '2023-06-01T00:00:00+08:00', regularizedAt: '2023-09-01T00:00:00+08:00' }]);
    const r = await s.notify({ kind: 'outcome' });
    expect(r).toMatchObject({ due: 1, sent: 1 });
    const mails = await stack.mailTo([moved, s.email('A')]);
    expect(mails.map((m) => m.destination.to)).toEqual([[moved]]);
    expect(mails[0]!.body.text).toContain('新名字 A');
  });
});
