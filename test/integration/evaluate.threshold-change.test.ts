import { describe, expect, it, vi } from 'vitest';
import { makeEvaluate } from '#functions/handlers/evaluate.ts';
import { PayloadError } from '#shared/payloads.ts';
import { buildReport, mailStatusLookup } from '#shared/usecases/report.ts';
import { revisionNotes } from '#cli/season-commands.ts';
import { CAMPAIGN, FULL_DEPOSIT_FEN, countByRecipient, december, notifyStack, type ProviderSpec, type Season } from '../support/notify-fixture.ts';

/**
 * A decided threshold does not change by accident (OPS.md, "Changing a decided threshold"), and a
 * revision that changes only figures sends no mail (RULES.md, "correction mail"): the evaluation
 * handler over real tables, notify with the real SES mailer, the mail read back from aws-ses-v2-local.
 *
 * The season, decided at threshold 3: RET retained (5 orders), ORD revoked for orders (1),
 * DEP revoked for its deposit (4 orders, half the deposit).
 */
const stack = await notifyStack();
const SEASON: ProviderSpec[] = [
  { key: 'RET', orders: december(5), depositFen: FULL_DEPOSIT_FEN },
  { key: 'ORD', orders: december(1), depositFen: FULL_DEPOSIT_FEN },
  { key: 'DEP', orders: december(4), depositFen: FULL_DEPOSIT_FEN / 2 },
];

/** The season decided at 3 and its first outcome mail sent (three mails). */
async function decided(): Promise<Season> {
  const s = await stack.season(SEASON);
  expect(await s.notify({ kind: 'outcome' })).toMatchObject({ sent: 3 });
  return s;
}

/** The evaluation handler over the season's stores; `configured` is the deployment's THRESHOLD_ORDERS. */
const evaluateOf = (s: Season, configured?: number, publication = vi.fn(async () => {})) =>
  makeEvaluate({ ...s.deps, requestPublication: publication }, { overlapMs: 0, ...(configured !== undefined ? { thresholdOrders: configured } : {}) });

/** What `run` threw (it must throw). */
async function refusal(run: Promise<unknown>): Promise<PayloadError> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PayloadError);
  return err as PayloadError;
}

const revisionsOf = async (s: Season, key: string) => (await s.deps.decisions.revisions(CAMPAIGN, s.id(key))).map((d) => [d.revision, d.outcome, d.thresholdOrders]);

describe('a final run whose threshold differs from the decided one', () => {
  it('is refused (exit 2 on the CLI) with what it would change, and nothing is written or sent', async () => {
    const s = await decided();
    // 6: RET falls below (revoked), DEP fails on orders too, ORD stays revoked with other figures.
    const err = await refusal(evaluateOf(s)({ campaignId: CAMPAIGN, thresholdOrders: 6, requestedBy: 'ops-alice' }));
    expect(err.message.split('\n')[0]).toBe(
      "changeThreshold: is required: the current final decisions of renewal-2024 used thresholdOrders 3; this run's is 6 (the run's thresholdOrders). " +
        "It would change 1 outcome(s) (1 revoked, 0 reinstated), 1 provider(s)' reasons, 2 entr(ies) of the public notice, and 1 decision(s) in figures only (no mail). " +
        'Nothing was changed. To make the change, state it: "changeThreshold": {"from": 3, "to": 6, "reason": "…"} (renewal evaluate --change-threshold 3:6 --reason TEXT).',
    );
    expect(err.message.split('\n').slice(1)).toEqual([
      `  ${s.id('DEP')}: revoked (deposit_not_paid_in_full) -> revoked (orders_below_threshold, deposit_not_paid_in_full)`,
      `  ${s.id('RET')}: retained -> revoked (orders_below_threshold)`,
    ]);
    const preview = (err.cause as { preview: unknown }).preview;
    expect(preview).toEqual({
      campaignId: CAMPAIGN,
      decided: [3],
      to: 6,
      source: 'run',
      providers: [
        {
          providerId: s.id('DEP'),
          providerName: '服务商 DEP',
          from: { outcome: 'revoked', reasons: ['deposit_not_paid_in_full'] },
          to: { outcome: 'revoked', reasons: ['orders_below_threshold', 'deposit_not_paid_in_full'], paidOrders: 4 },
        },
        { providerId: s.id('RET'), providerName: '服务商 RET', from: { outcome: 'retained', reasons: [] }, to: { outcome: 'revoked', reasons: ['orders_below_threshold'], paidOrders: 5 } },
      ].sort((a, b) => a.providerId.localeCompare(b.providerId)),
      outcomes: 1,
      revocations: 1,
      reinstatements: 0,
      noticeEntries: 2,
      figuresOnly: 1,
    });
    for (const key of ['RET', 'ORD', 'DEP']) expect(await revisionsOf(s, key)).toEqual([[1, expect.any(String), 3]]);
    expect(await s.deps.decisions.runs(CAMPAIGN)).toHaveLength(1);
    expect(await s.notify({ kind: 'outcome' })).toMatchObject({ sent: 0, alreadySent: 3 });
  });

  it('says where the threshold came from: the deployment, or the campaign', async () => {
    const s = await decided();
    const deployment = await refusal(evaluateOf(s, 4)({ campaignId: CAMPAIGN }));
    expect(deployment.message).toMatch(/^changeThreshold: is required: .* used thresholdOrders 3; this run's is 4 \(the deployment's THRESHOLD_ORDERS\)\. /);
    // The schedule's payload with no threshold anywhere but the campaign's placeholder of 10,000.
    const campaign = await refusal(evaluateOf(s)({ campaignId: CAMPAIGN }));
    expect(campaign.message).toMatch(
      /^changeThreshold: is required: .* used thresholdOrders 3; this run's is 10000 \(the campaign's thresholdOrders\)\. It would change 1 outcome\(s\) \(1 revoked, 0 reinstated\)/,
    );
    // The same threshold from the deployment is no change, and says so in the result and the run log.
    const same = await evaluateOf(s, 3)({ campaignId: CAMPAIGN });
    expect(same).toMatchObject({ thresholdOrders: 3, thresholdSource: 'deployment', revisionsCreated: 0, unchanged: 3 });
    expect((await s.deps.decisions.runs(CAMPAIGN)).map((r) => r.thresholdSource).sort()).toEqual(['deployment', 'run']);
  });

  it('a stated change whose FROM or TO is not the decided and the run threshold is refused, naming the field', async () => {
    const s = await decided();
    const ev = evaluateOf(s);
    const from = await refusal(ev({ campaignId: CAMPAIGN, thresholdOrders: 6, changeThreshold: { from: 4, to: 6, reason: 'typo' }, requestedBy: 'ops-alice' }));
    expect(from.message).toMatch(/^changeThreshold\.from: must be 3, the threshold of the current final decisions of renewal-2024, got 4\. It would change 1 outcome/);
    const to = await refusal(ev({ campaignId: CAMPAIGN, thresholdOrders: 6, changeThreshold: { from: 3, to: 7, reason: 'typo' }, requestedBy: 'ops-alice' }));
    expect(to.message).toBe('changeThreshold.to: must equal thresholdOrders (6), got 7');
    const who = await refusal(ev({ campaignId: CAMPAIGN, changeThreshold: { from: 3, to: 6, reason: 'why' } }));
    expect(who.message).toBe('requestedBy: is required with changeThreshold (who changes the threshold)');
    const why = await refusal(ev({ campaignId: CAMPAIGN, changeThreshold: { from: 3, to: 6, reason: '  ' }, requestedBy: 'ops-alice' }));
    expect(why.message).toBe('changeThreshold.reason: must say why');
    const nothing = await refusal(ev({ campaignId: CAMPAIGN, changeThreshold: { from: 3, to: 3, reason: 'again' }, requestedBy: 'ops-alice' }));
    expect(nothing.message).toBe('changeThreshold: nothing to change: the current final decisions of renewal-2024 already use thresholdOrders 3; run it without changeThreshold');
    for (const key of ['RET', 'ORD', 'DEP']) expect(await revisionsOf(s, key)).toEqual([[1, expect.any(String), 3]]);
  });

  it('stated, it is made and recorded with who and why; mail goes only where the outcome or reasons changed', async () => {
    const s = await decided();
    // TO stands in for thresholdOrders.
    const publication = vi.fn(async () => {});
    const r = await evaluateOf(s, undefined, publication)({ campaignId: CAMPAIGN, changeThreshold: { from: 3, to: 6, reason: 'ops decided 6 on 2024-03-02' }, requestedBy: 'ops-alice' });
    expect(publication).toHaveBeenCalledTimes(1);
    const change = { from: 3, to: 6, reason: 'ops decided 6 on 2024-03-02', by: { kind: 'person', id: 'ops-alice' }, at: expect.stringMatching(/^20\d\d-/), runId: r.runId };
    expect(r).toMatchObject({
      thresholdOrders: 6,
      thresholdSource: 'run',
      thresholdChange: change,
      revisionsCreated: 3,
      figuresOnly: 1,
      counts: { retained: 0, revoked: 3, not_assessed: 0 },
      publicationRequested: true,
    });
    expect(await revisionsOf(s, 'RET')).toEqual([
      [1, 'retained', 3],
      [2, 'revoked', 6],
    ]);
    const [, ret2] = await s.deps.decisions.revisions(CAMPAIGN, s.id('RET'));
    expect(ret2!.thresholdChange).toEqual(change);
    const runs = await s.deps.decisions.runs(CAMPAIGN);
    expect(runs.find((x) => x.runId === r.runId)).toMatchObject({ thresholdOrders: 6, thresholdSource: 'run', thresholdChange: change, revisionsCreated: 3, figuresOnly: 1 });

    const mail = await s.notify({ kind: 'outcome' });
    expect(mail).toMatchObject({ due: 3, sent: 2, alreadySent: 1, failed: [] });
    expect(countByRecipient(await s.mail())).toEqual({ [s.email('RET')]: 2, [s.email('ORD')]: 1, [s.email('DEP')]: 2 });
    const retCorrection = (await s.mailOf('RET')).find((m) => m.subject.startsWith('【更正 Correction】'));
    expect(retCorrection?.subject).toContain('取消');

    // The report shows the change on every row decided under it, and ORD's revision as figures only.
    const report = await buildReport(s.deps.decisions, CAMPAIGN, mailStatusLookup(s.deps));
    const row = (key: string) => report.assessments.find((a) => a.providerId === s.id(key))!;
    for (const key of ['RET', 'ORD', 'DEP']) expect(row(key).thresholdChange).toEqual(change);
    expect(row('ORD')).toMatchObject({ revision: 2, figuresOnly: true, mailRevision: 1, changes: [{ field: 'thresholdOrders', from: 3, to: 6 }], mail: { status: 'sent', notice: 1 } });
    expect(row('RET')).not.toHaveProperty('figuresOnly');
    expect(row('RET').mail).toMatchObject({ status: 'sent', notice: 2 });
    const notes = revisionNotes(report.assessments);
    expect(notes).toContain('1 revision(s) changed figures only: recorded, no correction mail');
    expect(notes).toContain(`threshold changed 3→6 by person:ops-alice at ${r.thresholdChange!.at}: ops decided 6 on 2024-03-02`);

    // The same run again: nothing left to change.
    expect(await evaluateOf(s)({ campaignId: CAMPAIGN, thresholdOrders: 6 })).toMatchObject({ revisionsCreated: 0, unchanged: 3 });
  });
});

describe('a revision that changes only figures', () => {
  it('is recorded and shown in the report, and sends no mail; a later real correction names the version the provider was told', async () => {
    const s = await decided();
    // 3 → 2: RET still retained, ORD still revoked for orders (1 < 2), DEP still revoked for its deposit only.
    const publication = vi.fn(async () => {});
    const r = await evaluateOf(s, undefined, publication)({ campaignId: CAMPAIGN, thresholdOrders: 2, changeThreshold: { from: 3, to: 2, reason: 'lowered' }, requestedBy: 'ops-bob' });
    // The public list is the same (DEP and ORD, same reasons): nothing to hand over.
    expect(publication).not.toHaveBeenCalled();
    expect(r).toMatchObject({ revisionsCreated: 3, figuresOnly: 3, publicationRequested: false, counts: { retained: 1, revoked: 2, not_assessed: 0 } });
    for (const key of ['RET', 'ORD', 'DEP']) {
      const [, rev2] = await s.deps.decisions.revisions(CAMPAIGN, s.id(key));
      expect(rev2).toMatchObject({ revision: 2, thresholdOrders: 2, mailRevision: 1, changes: [{ field: 'thresholdOrders', from: 3, to: 2 }] });
    }
    expect(await s.notify({ kind: 'outcome' })).toMatchObject({ due: 3, sent: 0, alreadySent: 3, failed: [] });
    expect(await s.mail()).toHaveLength(3);
    const report = await buildReport(s.deps.decisions, CAMPAIGN, mailStatusLookup(s.deps));
    expect(report.assessments.map((a) => [a.providerId, a.revision, a.figuresOnly, a.mailRevision, a.mail?.notice])).toEqual(
      [s.id('DEP'), s.id('ORD'), s.id('RET')].sort().map((p) => [p, 2, true, 1, 1]),
    );
    expect(revisionNotes(report.assessments)).toContain('3 revision(s) changed figures only');

    // Then a late order brings ORD to 2 of 2: retained, revision 3, a correction of revision 1 (the one it was told).
    await s.ingest(s.ordersOf('ORD', ['2024-02-20T10:00:00+08:00'], 'late'));
    expect(await evaluateOf(s)({ campaignId: CAMPAIGN, thresholdOrders: 2 })).toMatchObject({ revisionsCreated: 1, figuresOnly: 0 });
    const [, , ord3] = await s.deps.decisions.revisions(CAMPAIGN, s.id('ORD'));
    expect(ord3).toMatchObject({ revision: 3, outcome: 'retained', corrects: 1 });
    expect(ord3).not.toHaveProperty('mailRevision');
    expect(await s.notify({ kind: 'outcome' })).toMatchObject({ sent: 1, alreadySent: 2 });
    const correction = (await s.mailOf('ORD')).find((m) => m.subject.startsWith('【更正 Correction】'))!;
    expect(correction.body.text).toContain('第 1 版');
    expect(correction.body.text).toContain('revision 1');
    expect(correction.body.text).not.toContain('第 2 版');
  });
});

describe('providerIds', () => {
  it('an unknown id is refused naming it; nothing is evaluated', async () => {
    const s = await decided();
    const err = await refusal(evaluateOf(s)({ campaignId: CAMPAIGN, thresholdOrders: 3, providerIds: [s.id('RET'), 'NOPE', 'NOPE'] }));
    expect(err.message).toBe('providerIds: unknown provider(s) "NOPE": no provider.upserted event was recorded for it; nothing was evaluated');
    expect(await s.deps.decisions.runs(CAMPAIGN)).toHaveLength(1);
  });
});
