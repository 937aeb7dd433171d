/**
 * Crash consistency of the change log (shared/store/changes.ts). An intake batch writes its items
 * and its change record with BatchWriteItem, which is not atomic, and a Lambda can die between two
 * requests. Here the first delivery of a batch writes an arbitrary part of its write request, in an
 * arbitrary order, and then dies; the scheduled aggregation may run while the batch is half written;
 * SQS redelivers the batch. Whatever was written, every stored order must end up counted: an order
 * stored but never announced would be lost to the counts for good.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { BatchGetCommand, BatchWriteCommand, GetCommand, type BatchGetCommandInput, type BatchWriteCommandInput, type GetCommandInput } from '@aws-sdk/lib-dynamodb';
import { makeAggregate } from '#functions/handlers/aggregate.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { stores } from '#shared/deps.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { scanAll } from '#shared/store/batch.ts';
import { toRecords } from '#cli/import.ts';
import { freshTables, ownDocumentClient, useTestStack } from '../support/stack.ts';

import { CAMPAIGN, ev } from '../support/season-fixture.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

const { db } = await useTestStack();

/** Ten orders of S1 on six season days (CST), and what P1 must count for them. */
const ORDERS = Array.from({ length: 10 }, (_, i) => ev.order(`O${i}`, 'S1', `2024-01-${String(10 + (i % 6)).padStart(2, '0')}T1${i % 10}:00:00+08:00`));
const EXPECTED_BY_DAY = { '2024-01-10': 2, '2024-01-11': 2, '2024-01-12': 2, '2024-01-13': 2, '2024-01-14': 1, '2024-01-15': 1 };

class Killed extends Error {
  override name = 'Killed';
}

/**
 * An intake whose first BatchWriteItem writes only the request entries at `order[0..written)` (the
 * entries in that order) and then dies; every later request goes through.
 */
function dyingIntake(tables: Awaited<ReturnType<typeof freshTables>>, order: number[], written: number) {
  const doc = ownDocumentClient();
  const real = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
  const mock = mockClient(doc);
  mock.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => real(new BatchGetCommand(input)));
  mock.on(GetCommand).callsFake((input: GetCommandInput) => real(new GetCommand(input)));
  let died = false;
  let entries = 0;
  mock.on(BatchWriteCommand).callsFake(async (input: BatchWriteCommandInput) => {
    if (died) return real(new BatchWriteCommand(input));
    died = true;
    const all = Object.entries(input.RequestItems!).flatMap(([table, reqs]) => reqs.map((r) => [table, r] as const));
    entries = all.length;
    const part: NonNullable<BatchWriteCommandInput['RequestItems']> = {};
    for (const i of order.filter((i) => i < all.length).slice(0, written)) (part[all[i]![0]] ??= []).push(all[i]![1]);
    if (Object.keys(part).length) await real(new BatchWriteCommand({ RequestItems: part }));
    throw new Killed('the Lambda died after part of its BatchWriteItem (injected)');
  });
  return { intake: makeIntake(new IngestStore(doc, tables)), entries: () => entries };
}

describe('a batch that dies midway through its write', () => {
  it('any part of the items and the change record written, in any order, an aggregation run or not in between: after the redelivery every order is counted', async () => {
    // 10 orders and 1 change record: 11 entries in the write request.
    const scenario = fc.record({
      order: fc.shuffledSubarray([...Array(11).keys()], { minLength: 11, maxLength: 11 }),
      written: fc.integer({ min: 0, max: 11 }),
      aggregateBetween: fc.boolean(),
    });
    let sawRecordLost = false;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ order, written, aggregateBetween }) => {
        const tables = await freshTables();
        const s = stores(tables, db);
        const aggregate = makeAggregate(s, { overlapMs: 0 });
        const setup = makeIntake(new IngestStore(db, tables));
        expect(
          (
            await setup({
              Records: toRecords([ev.provider('P1', '2023-01-01T00:00:00+08:00', '2023-02-01T00:00:00+08:00'), ev.bind('P1', 'S1', '2023-11-01T00:00:00+08:00')].join('\n'), 'setup.ndjson'),
            })
          ).summary,
        ).toMatchObject({ accepted: 2 });
        expect(await aggregate({ campaignId: CAMPAIGN })).toMatchObject({ status: 'done', mode: 'full' });

        const records = toRecords(ORDERS.join('\n'), 'crash.ndjson');
        const dying = dyingIntake(tables, order, written);
        const first = await dying.intake({ Records: records });
        expect(dying.entries()).toBe(11);
        expect(first.batchItemFailures).toHaveLength(10); // the batch failed: SQS will redeliver it
        const storedOrders = (await scanAll(db, { TableName: tables.orders, ConsistentRead: true }, 1)).length;
        const storedRecords = (await scanAll(db, { TableName: tables.changes, ConsistentRead: true }, 1)).length;
        expect(storedOrders + storedRecords - 1).toBe(written); // less the setup batch's record
        if (storedOrders > 0 && storedRecords === 1) sawRecordLost = true; // orders stored, their record lost

        if (aggregateBetween) expect(await aggregate({ campaignId: CAMPAIGN })).toMatchObject({ status: 'done', mode: 'incremental' });
        const redelivery = await dying.intake({ Records: records });
        expect(redelivery.batchItemFailures).toEqual([]);
        expect(redelivery.summary.accepted + redelivery.summary.duplicates).toBe(10);
        expect(await aggregate({ campaignId: CAMPAIGN })).toMatchObject({ status: 'done', mode: 'incremental' });

        const [p1] = await s.aggregates.providerTotalsOf(RENEWAL_2024, ['P1']);
        expect(p1).toMatchObject({ paidOrders: 10, byDay: EXPECTED_BY_DAY });
        // And a later full recount agrees: nothing was counted twice either.
        expect(await aggregate({ campaignId: CAMPAIGN, full: true })).toMatchObject({ status: 'done', storeDaysWritten: 0 });
      }),
      { numRuns: 24, endOnFailure: true, examples: [[{ order: [...Array(11).keys()].reverse(), written: 10, aggregateBetween: true }]] },
    );
    // The case the design is for happened: orders stored while their change record was lost.
    expect(sawRecordLost).toBe(true);
  });

  it('every order written and its record lost: the redelivery finds ten duplicates and announces them again', async () => {
    // A store that did not look up the record of the duplicates it meets would announce nothing
    // here, and the counts would stay at zero for good.
    const tables = await freshTables();
    const s = stores(tables, db);
    const aggregate = makeAggregate(s, { overlapMs: 0 });
    await makeIntake(new IngestStore(db, tables))({ Records: toRecords([ev.bind('P1', 'S1', '2023-11-01T00:00:00+08:00')].join('\n'), 'setup.ndjson') });
    await aggregate({ campaignId: CAMPAIGN });
    const recordLast = [...Array(10).keys()].map((i) => i + 1).concat([0]); // entry 0 is the change record
    const dying = dyingIntake(tables, recordLast, 10);
    const records = toRecords(ORDERS.join('\n'), 'crash.ndjson');
    await dying.intake({ Records: records });
    expect(await aggregate({ campaignId: CAMPAIGN })).toMatchObject({ ordersSeen: 0 }); // nothing announced yet
    const redelivery = await dying.intake({ Records: records });
    expect(redelivery.summary).toEqual({ accepted: 0, duplicates: 10, rejected: 0 });
    expect(await aggregate({ campaignId: CAMPAIGN })).toMatchObject({ ordersSeen: 10, storeDaysWritten: 6 });
    expect((await s.aggregates.providerTotalsOf(RENEWAL_2024, ['P1']))[0]).toMatchObject({ paidOrders: 10 });
  });
});
