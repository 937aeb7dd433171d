import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import { feedRecords, toRecords } from '#cli/import.ts';
import type { LocalStack } from '#tools/local/stack.ts';
import { pendingWarning } from '#cli/notice-commands.ts';
import { stepsTable } from '#cli/season-commands.ts';
import { localTarget } from '#cli/target.ts';
import { freshNoticeBucket, freshTables, testClients } from '../support/stack.ts';
import { MAIL } from '../support/notify-fixture.ts';

/**
 * Fail fast, say what is done (issue 16): the embedded stack's evaluate → outcome mail → public
 * notice, run in process as `renewal evaluate` runs it, with the notice's S3 refusing connections
 * (a port nobody listens on). The decisions and the mail stand; the command names the step that
 * failed and what to run; `renewal notice` then warns about the version claimed but never written,
 * and `renewal publish` completes it.
 */

/** A loopback port with nothing listening: connections to it are refused. */
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('evaluate whose publication step fails', () => {
  it('reports the decisions and the mail as done, the notice as not, and the command that completes it', async () => {
    const token = randomBytes(4).toString('hex');
    const P = `P-${token}`;
    const tables = await freshTables();
    const notice = await freshNoticeBucket();
    const clients = testClients();
    const ses = inject('sesEndpoint');
    const stackWith = (s3: string): LocalStack => ({
      status: { running: true, dynamodb: inject('dynamodbEndpoint'), ses, viewer: ses, s3, notice: `${notice.baseUrl}/renewal-2024/latest/index.html` },
      tables,
      clients: { ...clients, s3: { ...clients.s3, endpoint: s3 } },
      config: { overlapMs: 0, mail: MAIL, notice: { bucket: notice.name, publicBaseUrl: notice.baseUrl } },
    });
    const io = { print: () => {}, info: () => {}, quiet: true, command: 'evaluate' };
    const broken = localTarget(stackWith(`http://127.0.0.1:${await refusingPort()}`), io);
    const events = [
      { type: 'provider.upserted', providerId: P, name: '服务商', email: `${token}@renewal-test.example`, certifiedAt: '2023-06-01T00:00:00+08:00', regularizedAt: '2023-09-01T00:00:00+08:00' },
      { type: 'binding.started', providerId: P, storeId: `S-${token}`, at: '2023-11-01T00:00:00+08:00' },
      { type: 'order.paid', orderId: `O-${token}`, storeId: `S-${token}`, paidAt: '2023-12-05T10:00:00+08:00' },
      { type: 'deposit.paid', paymentId: `D-${token}`, providerId: P, amountFen: 10_000_000, paidAt: '2023-12-02T10:00:00+08:00' },
    ];
    expect(await feedRecords(broken.intake, toRecords(events.map((e) => JSON.stringify(e)).join('\n'), 'steps.ndjson'), { quiet: true })).toMatchObject({ accepted: 4, rejected: 0 });

    // 1 order against 5: revoked, so the public list changed and its publication is a step.
    const run = await broken.evaluate({ campaignId: 'renewal-2024', thresholdOrders: 5, requestedBy: 'ops-alice' });
    expect(run.result).toMatchObject({ mode: 'final', revisionsCreated: 1, mailRequested: true, publicationRequested: false, counts: { revoked: 1 } });
    expect(run.mail).toMatchObject({ sent: 1, failed: [] });
    expect(run.failed?.steps.map((s) => [s.step, s.status])).toEqual([
      ['decisions', 'done'],
      ['mail', 'done'],
      ['notice', 'failed'],
    ]);
    expect(run.failed?.next).toEqual(['renewal publish --campaign renewal-2024']);
    expect(run.failed?.message).toMatch(
      new RegExp(
        `^decisions recorded \\(1 new revision\\(s\\), 0 unchanged; run ${run.result.runId}\\), outcome mail sent \\(1 now, 0 before\\), public notice NOT done: .*ECONNREFUSED.*; run \`renewal publish --campaign renewal-2024\`$`,
      ),
    );
    expect(
      stepsTable(run.failed!.steps)
        .split('\n')
        .map((l) => l.split(/\s{2,}/).slice(0, 2)),
    ).toEqual([
      ['step', 'status'],
      [expect.stringMatching(/^─+$/), expect.stringMatching(/^─+$/)],
      ['decisions', 'done'],
      ['mail', 'done'],
      ['notice', 'FAILED'],
    ]);

    // The version was claimed before its files failed: the notice as the public reads it is still
    // none, and `renewal notice` says so and what completes it.
    const working = localTarget(stackWith(inject('s3Endpoint')), io);
    const before = await working.notice('renewal-2024');
    expect(before.notice).toMatchObject({ version: 0, providers: [] });
    expect(before.pending).toEqual({ version: 1, claimedAt: expect.stringMatching(/^20\d\d-/), providers: 1, corrections: 0 });
    expect(pendingWarning('renewal-2024', before.pending!)).toBe(
      `version 1 of the notice was claimed at ${before.pending!.claimedAt} (1 delisted provider(s)) but its files were never written: the public still reads the version before it. ` +
        'A publication failed after its claim (or runs right now); `renewal publish --campaign renewal-2024` completes it',
    );
    expect(await working.publish({ campaignId: 'renewal-2024' })).toMatchObject({ status: 'completed', version: 1 });
    const after = await working.notice('renewal-2024');
    expect(after.pending).toBeUndefined();
    expect(after.notice).toMatchObject({ version: 1, providers: [{ providerId: P, reasons: ['orders_below_threshold'] }] });
    // The decisions were not made twice, nor the mail sent twice.
    expect(await working.notify({ campaignId: 'renewal-2024', kind: 'outcome' })).toMatchObject({ sent: 0, alreadySent: 1 });
  });
});
