/**
 * Preview, dry run, payload validation and `providerIds` of the evaluate handler (OPS.md "Lambda
 * payloads"; RULES.md "evaluation time": run before the close it is a preview that changes no status
 * and sends no outcome mail; a dry run writes nothing at all).
 *
 * The season (configured threshold 3): PA retained, PB revoked for orders, PN not assessed.
 */
import { describe, expect, it } from 'vitest';
import { PayloadError } from '#shared/payloads.ts';
import { buildReport } from '#shared/usecases/report.ts';
import { AT, CAMPAIGN, ev, fedSeason, verdicts, withPk, type Season } from '../support/season-fixture.ts';

const T = 3;

const SEASON = [
  ...ev.providers(['PA', 'PB'], AT.certified, AT.regularized),
  ev.provider('PN', '2024-01-01T00:00:00+08:00'), // certified during the season: not in scope
  ev.bind('PA', 'SA', AT.boundBefore),
  ...ev.ordersAt('SA', { OA1: '2023-12-03T10:00:00+08:00', OA2: '2024-01-03T10:00:00+08:00', OA3: '2024-02-03T10:00:00+08:00' }),
  ev.paid('PAY-A', 'PA', 10_000_000, AT.depositPaid),
  ev.bind('PB', 'SB', AT.boundBefore),
  ev.order('OB1', 'SB', '2023-12-04T10:00:00+08:00'),
  ev.paid('PAY-B', 'PB', 10_000_000, AT.depositPaid),
];

const EXPECTED = {
  PA: { outcome: 'retained', reasons: [], paidOrders: 3, depositBalanceFen: 10_000_000 },
  PB: { outcome: 'revoked', reasons: ['orders_below_threshold'], paidOrders: 1, depositBalanceFen: 10_000_000 },
  PN: { outcome: 'not_assessed', reasons: ['not_in_scope'] },
};

const season = () => fedSeason(SEASON, { configuredThreshold: T });

describe('preview before the close', () => {
  it('changes no status and asks for no mail; the final run after the close does, once', async () => {
    const s = await season();
    const preview = await s.evaluate({ campaignId: CAMPAIGN, asOf: '2024-01-15T00:00:00+08:00' });
    expect(preview).toMatchObject({ mode: 'preview', final: false, asOf: '2024-01-14T16:00:00.000Z', revisionsCreated: 0, mailRequested: false });
    expect(verdicts(preview.assessments)).toEqual(EXPECTED);

    let table = await s.scan('decisions');
    expect(withPk(table, 'CUR#')).toEqual([]);
    expect(withPk(table, 'REV#')).toEqual([]);
    const previews = withPk(table, `PRE#${CAMPAIGN}`);
    expect(previews.map((p) => [p.sk, p.final, p.asOf])).toEqual([
      ['PA', false, '2024-01-14T16:00:00.000Z'],
      ['PB', false, '2024-01-14T16:00:00.000Z'],
      ['PN', false, '2024-01-14T16:00:00.000Z'],
    ]);
    expect(withPk(table, 'RUNS#').map((r) => r.mode)).toEqual(['preview']);
    expect(s.mail).not.toHaveBeenCalled();

    const previewReport = await buildReport(s.stores.decisions, CAMPAIGN);
    expect(previewReport.final).toBe(false);
    expect(previewReport.assessments.map((a) => [a.providerId, a.outcome, a.paidOrders])).toEqual([
      ['PA', 'retained', 3],
      ['PB', 'revoked', 1],
      ['PN', 'not_assessed', undefined],
    ]);

    // The last millisecond of the period is still a preview.
    const lastMs = await s.evaluate({ campaignId: CAMPAIGN, asOf: '2024-02-29T23:59:59.999+08:00' });
    expect(lastMs).toMatchObject({ mode: 'preview', final: false, mailRequested: false });
    table = await s.scan('decisions');
    expect(withPk(table, 'CUR#')).toEqual([]);
    expect(withPk(table, 'REV#')).toEqual([]);
    expect(s.mail).not.toHaveBeenCalled();

    // The close instant itself is final.
    const final = await s.evaluate({ campaignId: CAMPAIGN, asOf: '2024-03-01T00:00:00+08:00' });
    expect(final).toMatchObject({ mode: 'final', final: true, asOf: '2024-02-29T16:00:00.000Z', revisionsCreated: 3, mailRequested: true });
    expect(verdicts(final.assessments)).toEqual(EXPECTED);
    expect(s.mail).toHaveBeenCalledTimes(1);
    expect(s.mail).toHaveBeenCalledWith(CAMPAIGN);
    table = await s.scan('decisions');
    expect(withPk(table, 'CUR#').map((d) => [d.sk, d.revision, d.final])).toEqual([
      ['PA', 1, true],
      ['PB', 1, true],
      ['PN', 1, true],
    ]);
    const finalReport = await buildReport(s.stores.decisions, CAMPAIGN);
    expect(finalReport.final).toBe(true);
    expect(verdicts(finalReport.assessments)).toEqual(EXPECTED);

    // A preview after the final run leaves the final decisions as they are.
    const before = withPk(table, 'CUR#').concat(withPk(table, 'REV#'));
    await s.evaluate({ campaignId: CAMPAIGN, asOf: '2024-02-01T00:00:00+08:00' });
    table = await s.scan('decisions');
    expect(withPk(table, 'CUR#').concat(withPk(table, 'REV#'))).toEqual(before);
    expect((await buildReport(s.stores.decisions, CAMPAIGN)).final).toBe(true);
    expect(s.mail).toHaveBeenCalledTimes(1);
  });
});

describe('dry run', () => {
  const snapshot = async (s: Season) => JSON.stringify({ decisions: await s.scan('decisions'), aggregates: await s.scan('aggregates') });

  it('on a season never evaluated: returns the decisions, writes nothing', async () => {
    const s = await season();
    await s.aggregate();
    const before = await snapshot(s);
    const dry = await s.evaluate({ campaignId: CAMPAIGN, dryRun: true });
    expect(dry).toMatchObject({ mode: 'dry-run', final: false, revisionsCreated: 0, mailRequested: false, aggregation: { status: 'done' } });
    expect(verdicts(dry.assessments)).toEqual(EXPECTED);
    expect(await snapshot(s)).toBe(before);
    expect(JSON.parse(before).decisions).toEqual([]);
    expect(s.mail).not.toHaveBeenCalled();
  });

  it('after a final run and with new data waiting: the decisions and aggregates tables stay byte for byte the same', async () => {
    const s = await season();
    await s.evaluate();
    expect(s.mail).toHaveBeenCalledTimes(1);
    // Data an aggregation would pick up, and a decision it would change.
    await s.feed([ev.order('OB2', 'SB', '2024-01-04T10:00:00+08:00'), ev.order('OB3', 'SB', '2024-02-04T10:00:00+08:00')]);
    const before = await snapshot(s);
    for (const payload of [
      { campaignId: CAMPAIGN, dryRun: true },
      { campaignId: CAMPAIGN, dryRun: true, thresholdOrders: 1, requestedBy: 'ops-bob' },
      { campaignId: CAMPAIGN, dryRun: true, asOf: '2024-01-15T00:00:00+08:00' },
      { campaignId: CAMPAIGN, dryRun: true, providerIds: ['PB'] },
    ]) {
      const dry = await s.evaluate(payload);
      expect(dry).toMatchObject({ mode: 'dry-run', final: false, revisionsCreated: 0, mailRequested: false });
      expect(await snapshot(s)).toBe(before);
    }
    expect(s.mail).toHaveBeenCalledTimes(1);
  });
});

describe('payload validation', () => {
  const bad: [payload: unknown, field: RegExp][] = [
    [{ campaignId: 'renewal-1999' }, /^campaignId: unknown campaign "renewal-1999"/],
    [{}, /^campaignId: is required/],
    [{ campaignId: CAMPAIGN, thresholdOrders: 0 }, /^thresholdOrders: must be positive/],
    [{ campaignId: CAMPAIGN, thresholdOrders: -3 }, /^thresholdOrders: must be positive/],
    [{ campaignId: CAMPAIGN, thresholdOrders: 1.5 }, /^thresholdOrders: must be an integer/],
    [{ campaignId: CAMPAIGN, thresholdOrders: '10' }, /^thresholdOrders: must be a number/],
    [{ campaignId: CAMPAIGN, providerIds: [] }, /^providerIds: must name at least one provider/],
    [{ campaignId: CAMPAIGN, providerIds: ['bad id'] }, /^providerIds\.0: must be 1 to 128 characters/],
    [{ campaignId: CAMPAIGN, providerIds: 'PA' }, /^providerIds: must be an array of provider ids/],
    [{ campaignId: CAMPAIGN, asOf: '2024-03-01T00:00:00' }, /^asOf: must be an ISO-8601 instant with an offset/],
    [{ campaignId: CAMPAIGN, asOf: '2024-02-30T00:00:00+08:00' }, /^asOf: must be an ISO-8601 instant with an offset/],
    [{ campaignId: CAMPAIGN, dryRun: 'yes' }, /^dryRun: must be true or false/],
    [{ campaignId: CAMPAIGN, threshold: 3 }, /^threshold: not a field of this payload/],
    ['{"campaignId":"renewal-2024"}', /^payload: must be a JSON object/],
  ];

  it('each bad payload throws PayloadError naming the field, and nothing runs', async () => {
    const s = await season();
    for (const [payload, message] of bad) {
      const err = await s.evaluate(payload).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(payload)).toBeInstanceOf(PayloadError);
      expect((err as Error).message, JSON.stringify(payload)).toMatch(message);
    }
    // No run was logged, no aggregation ran, no mail was asked for.
    expect(await s.scan('decisions')).toEqual([]);
    expect(await s.scan('aggregates')).toEqual([]);
    expect(s.mail).not.toHaveBeenCalled();
  });
});

describe('providerIds', () => {
  it('restricts the evaluation to those providers; the payload threshold wins over the configured one', async () => {
    const s = await season();
    const r = await s.evaluate({ campaignId: CAMPAIGN, providerIds: ['PB'], thresholdOrders: 1, requestedBy: 'ops-carol' });
    expect(r).toMatchObject({ mode: 'final', thresholdOrders: 1, revisionsCreated: 1, counts: { retained: 1, revoked: 0, not_assessed: 0 } });
    expect(verdicts(r.assessments)).toEqual({ PB: { outcome: 'retained', reasons: [], paidOrders: 1, depositBalanceFen: 10_000_000 } });
    const table = await s.scan('decisions');
    expect(withPk(table, 'CUR#').map((d) => [d.sk, d.outcome, d.thresholdOrders])).toEqual([['PB', 'retained', 1]]);
    expect(withPk(table, 'REV#').map((d) => d.pk)).toEqual([`REV#${CAMPAIGN}#PB`]);
    expect(withPk(table, 'RUNS#').map((d) => [d.providerIds, d.by])).toEqual([[['PB'], { kind: 'person', id: 'ops-carol' }]]);

    // Then everyone, with the configured threshold: PB's decided threshold would change (1 → 3), so
    // the run is refused until it says so; then PB's decision changes, the others are new.
    await expect(s.evaluate()).rejects.toThrow(
      /^changeThreshold: is required: the current final decisions of renewal-2024 used thresholdOrders 1; this run's is 3 \(the deployment's THRESHOLD_ORDERS\)/,
    );
    const all = await s.evaluate({ campaignId: CAMPAIGN, changeThreshold: { from: 1, to: T, reason: 'the decided threshold' }, requestedBy: 'ops-carol' });
    expect(all).toMatchObject({ thresholdOrders: T, thresholdSource: 'run', revisionsCreated: 3 });
    expect(verdicts(all.assessments)).toEqual(EXPECTED);
    const pb = await s.stores.decisions.revisions(CAMPAIGN, 'PB');
    expect(pb.map((d) => [d.revision, d.outcome, d.thresholdOrders])).toEqual([
      [1, 'retained', 1],
      [2, 'revoked', 3],
    ]);
  });
});
