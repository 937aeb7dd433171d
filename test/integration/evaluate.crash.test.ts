/**
 * A final run that dies between storing a revision and pointing the current decision at it (a Lambda
 * timeout, a failed PutItem) must not leave the provider without a current decision: the next run
 * repairs the pointer, so the report and the outcome mail see the decision.
 */
import { describe, expect, it } from 'vitest';
import { DecisionStore } from '#shared/store/decisions.ts';
import type { StoredDecision } from '#shared/model.ts';
import { buildReport } from '#shared/usecases/report.ts';
import { CAMPAIGN, ev, newSeason, withPk } from '../support/pipeline.ts';

/** Stores revisions but dies before moving the current pointer, while `dying` is set. */
class DyingDecisionStore extends DecisionStore {
  dying = true;
  override async makeCurrent(d: StoredDecision): Promise<void> {
    if (this.dying) throw new Error('Task timed out after 900.00 seconds');
    return super.makeCurrent(d);
  }
}

describe('evaluation interrupted between the revision and the current pointer', () => {
  it('the next run makes the stored revision current, without a second revision', async () => {
    let store: DyingDecisionStore | undefined;
    const season = await newSeason({ configuredThreshold: 1, decisions: (db, tables) => (store = new DyingDecisionStore(db, tables)) });
    await season.feed([
      ev.provider('PA', '2023-01-01T00:00:00+08:00', '2023-02-01T00:00:00+08:00'),
      ev.bind('PA', 'SA', '2023-11-01T00:00:00+08:00'),
      ev.order('OA1', 'SA', '2023-12-03T10:00:00+08:00'),
      ev.paid('PAY-A', 'PA', 10_000_000, '2023-12-01T10:00:00+08:00'),
    ]);
    await expect(season.evaluate()).rejects.toThrow(/timed out/);
    let items = await season.scan('decisions');
    expect(withPk(items, 'REV#').map((i) => i.sk)).toEqual(['000001']);
    expect(withPk(items, 'CUR#')).toEqual([]);

    store!.dying = false;
    const again = await season.evaluate();
    expect(again).toMatchObject({ mode: 'final', revisionsCreated: 0, unchanged: 1 });
    items = await season.scan('decisions');
    expect(withPk(items, 'REV#').map((i) => i.sk)).toEqual(['000001']);
    expect(withPk(items, 'CUR#').map((i) => [i.sk, i.revision, i.outcome])).toEqual([['PA', 1, 'retained']]);
    const report = await buildReport(season.stores.decisions, CAMPAIGN);
    expect(report).toMatchObject({ final: true, assessments: [{ providerId: 'PA', outcome: 'retained', revision: 1 }] });
  });
});
