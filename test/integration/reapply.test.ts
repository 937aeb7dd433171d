/**
 * The re-application check (clause 3, RULES.md "re-application (3)") on dynalite: a revocation made by
 * the real evaluation, the exception ledger in the decisions table written with injected clocks, the
 * reapply function's handler as the certification process calls it. Literal expectations.
 *
 * renewal-2024 with threshold 2: P1 has 1 order → revoked, notice 2024-03-01, re-apply from
 * 2024-05-30 00:00 China time = 2024-05-29T16:00:00Z. P2 has 2 → retained.
 */
import { describe, expect, it } from 'vitest';
import { makeReapply } from '#functions/handlers/reapply.ts';
import { PayloadError } from '#shared/payloads.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';
import { recordException, ReapplyRequestError } from '#shared/usecases/reapply.ts';
import { AT, ev, fedSeason, withPk } from '../support/season-fixture.ts';

const FROM = '2024-05-29T16:00:00.000Z';
const BASIS = { campaignId: 'renewal-2024', noticeDate: '2024-03-01', revision: 1 };

async function revokedP1() {
  const season = await fedSeason(
    [
      ...ev.providers(['P1', 'P2'], AT.certified, AT.regularized),
      ev.bind('P1', 'S1', AT.boundBefore),
      ev.bind('P2', 'S2', AT.boundBefore),
      ev.order('O1', 'S1', '2023-12-10T10:00:00+08:00'),
      ...ev.ordersAt('S2', { O2: '2023-12-10T10:00:00+08:00', O3: '2024-01-10T10:00:00+08:00' }),
      ev.paid('PAY-1', 'P1', 10_000_000, AT.depositPaid),
      ev.paid('PAY-2', 'P2', 10_000_000, AT.depositPaid),
    ],
    { configuredThreshold: 2 },
  );
  expect((await season.evaluate()).counts).toEqual({ retained: 1, revoked: 1, not_assessed: 0 });
  const check = makeReapply({ ...season.stores, campaigns: () => [RENEWAL_2024] });
  const record = (at: string, req: { by: string; reason: string; withdraw?: boolean }) =>
    recordException({ exceptions: season.stores.exceptions, now: () => new Date(at) }, { providerId: 'P1', ...req });
  return { season, check, record };
}

describe('reapply check', () => {
  it('around the re-apply instant, without an exception', async () => {
    const { check } = await revokedP1();
    expect(await check({ providerId: 'P1', at: '2024-05-29T15:59:59.999Z' })).toEqual({ providerId: 'P1', at: '2024-05-29T15:59:59.999Z', allowed: false, reapplyFrom: FROM, basis: BASIS });
    expect(await check({ providerId: 'P1', at: '2024-05-30T00:00:00+08:00' })).toEqual({ providerId: 'P1', at: FROM, allowed: true, reapplyFrom: FROM, basis: BASIS });
    // Retained, and unknown: nothing bars them.
    expect(await check({ providerId: 'P2', at: '2024-04-01T00:00:00Z' })).toEqual({ providerId: 'P2', at: '2024-04-01T00:00:00.000Z', allowed: true });
    expect(await check({ providerId: 'P9', at: '2024-04-01T00:00:00Z' })).toEqual({ providerId: 'P9', at: '2024-04-01T00:00:00.000Z', allowed: true });
  });

  it('with an exception: allowed inside the bar and the exception returned; withdrawn: barred again; both records kept', async () => {
    const { season, check, record } = await revokedP1();
    const granted = await record('2024-03-10T02:00:00.000Z', { by: 'ops-li', reason: '平台复核：申诉成立' });
    expect(granted).toMatchObject({ providerId: 'P1', kind: 'granted', by: 'ops-li', at: '2024-03-10T02:00:00.000Z', reason: '平台复核：申诉成立' });
    const exception = { by: 'ops-li', at: '2024-03-10T02:00:00.000Z', reason: '平台复核：申诉成立' };
    expect(await check({ providerId: 'P1', at: '2024-05-29T15:59:59.999Z' })).toEqual({ providerId: 'P1', at: '2024-05-29T15:59:59.999Z', allowed: true, reapplyFrom: FROM, basis: BASIS, exception });
    expect(await check({ providerId: 'P1', at: '2024-03-10T01:59:59.999Z' })).toMatchObject({ allowed: false });
    expect(await check({ providerId: 'P1', at: '2024-05-30T00:00:00+08:00' })).toEqual({ providerId: 'P1', at: FROM, allowed: true, reapplyFrom: FROM, basis: BASIS });

    await record('2024-03-20T00:00:00.000Z', { by: 'ops-wang', reason: 'appeal reversed', withdraw: true });
    expect(await check({ providerId: 'P1', at: '2024-04-01T00:00:00Z' })).toEqual({ providerId: 'P1', at: '2024-04-01T00:00:00.000Z', allowed: false, reapplyFrom: FROM, basis: BASIS });
    // Before the withdrawal the exception stood, and still answers so for that instant.
    expect(await check({ providerId: 'P1', at: '2024-03-15T00:00:00Z' })).toMatchObject({ allowed: true, exception });
    // Nothing stands: a second withdrawal is refused, and writes nothing.
    await expect(record('2024-03-21T00:00:00.000Z', { by: 'ops-wang', reason: 'again', withdraw: true })).rejects.toThrow(ReapplyRequestError);
    const ledger = withPk(await season.scan('decisions'), 'REAPPLY#');
    expect(ledger.map((i) => [i.pk, i.kind, i.by, i.at, i.reason])).toEqual([
      ['REAPPLY#P1', 'granted', 'ops-li', '2024-03-10T02:00:00.000Z', '平台复核：申诉成立'],
      ['REAPPLY#P1', 'withdrawn', 'ops-wang', '2024-03-20T00:00:00.000Z', 'appeal reversed'],
    ]);
  });

  it('certified again after the revocation: no longer barred, from its certifiedAt on', async () => {
    const { season, check } = await revokedP1();
    await season.feed([ev.provider('P1', '2024-04-15T10:00:00+08:00', '2024-04-20T00:00:00+08:00')]);
    expect(await check({ providerId: 'P1', at: '2024-04-15T10:00:00+08:00' })).toEqual({ providerId: 'P1', at: '2024-04-15T02:00:00.000Z', allowed: true });
    expect(await check({ providerId: 'P1', at: '2024-04-15T09:59:59.999+08:00' })).toMatchObject({ allowed: false, basis: BASIS });
  });

  it('the function refuses a bad payload, naming the field', async () => {
    const { check } = await revokedP1();
    await expect(check({ providerId: 'P 1' })).rejects.toThrow(new PayloadError('providerId: must be 1 to 128 characters from [A-Za-z0-9_.:-]'));
    await expect(check({ providerId: 'P1', at: '2024-04-01T00:00:00' })).rejects.toThrow(new PayloadError('at: must be an ISO-8601 instant with an offset (Z or +08:00)'));
    await expect(check({ at: '2024-04-01T00:00:00Z' })).rejects.toThrow(new PayloadError('providerId: is required'));
    await expect(check({ providerId: 'P1', campaignId: 'renewal-2024' })).rejects.toThrow(new PayloadError('campaignId: not a field of this payload'));
  });
});
