import { Readable } from 'node:stream';
import { scanAll as scanItems } from '#shared/store/batch.ts';
import { describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  GetCommand,
  type GetCommandInput,
  type BatchGetCommandInput,
  type BatchGetCommandOutput,
  type BatchWriteCommandInput,
  type BatchWriteCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { useTestStack, freshTables, ownDocumentClient } from '../support/stack.ts';
import { render, type LogicalEvent } from '../support/events.ts';
import { feedRecords, toRecords } from '#cli/import.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { listRejected } from '#shared/store/rejected.ts';
import type { TableNames } from '#shared/config.ts';

/**
 * Storage faults under the intake. A throttled write the SDK or the store retries must cost nothing;
 * a write that keeps failing must fail every record of the batch (`batchItemFailures`), so SQS
 * redelivers them and nothing is silently lost; the redelivery then stores them all. The store is
 * handed a DocumentClient with the fault (`makeIntake`), dynalite does the rest.
 */

const { db } = await useTestStack();

const newClient = ownDocumentClient;

/** Every item of a table, strongly consistent. */
const scanAll = (table: string) => scanItems(db, { TableName: table, ConsistentRead: true }, 1);

/** Nine orders and a deposit, distinct per `tag`: ten records, one full SQS FIFO batch. */
function tenEvents(tag: string): LogicalEvent[] {
  const t = Date.parse('2023-12-20T02:00:00Z');
  return [
    ...Array.from({ length: 9 }, (_, i): LogicalEvent => ({ type: 'order.paid', orderId: `${tag}-O${i}`, storeId: `${tag}-S`, paidAt: t + i * 1000, gift: i === 4 })),
    { type: 'deposit.paid', paymentId: `${tag}-PAY`, providerId: `${tag}-P`, amountFen: 10_000_000, paidAt: t },
  ];
}

async function expectAllStored(tables: TableNames, events: LogicalEvent[]) {
  const orders = await scanAll(tables.orders);
  const payments = (await scanAll(tables.events)).filter((i) => i.type === 'deposit.paid');
  const wantOrders = events.flatMap((e) => (e.type === 'order.paid' ? [e.orderId] : []));
  const wantPayments = events.flatMap((e) => (e.type === 'deposit.paid' ? [e.paymentId] : []));
  expect(orders.map((o) => o.orderId).sort()).toEqual(wantOrders.sort());
  expect(payments.map((p) => p.paymentId).sort()).toEqual(wantPayments.sort());
}

const throttled = () =>
  new ProvisionedThroughputExceededException({ message: 'The level of configured provisioned throughput for the table was exceeded (injected)', $metadata: { httpStatusCode: 400 } });

/**
 * A DocumentClient under aws-sdk-client-mock, with its real send kept aside so a test can pass a
 * command through to dynalite. Each test sets the behaviour of both batch commands once.
 */
function mocked(tables: TableNames) {
  const doc = newClient();
  const real = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
  const passGet = (input: BatchGetCommandInput) => real(new BatchGetCommand(input)) as Promise<BatchGetCommandOutput>;
  const passWrite = (input: BatchWriteCommandInput) => real(new BatchWriteCommand(input)) as Promise<BatchWriteCommandOutput>;
  const mock = mockClient(doc);
  // The intake reads the change record of events it meets again with GetItem: that passes through.
  mock.on(GetCommand).callsFake((input: GetCommandInput) => real(new GetCommand(input)));
  return { mock, passGet, passWrite, intake: makeIntake(new IngestStore(doc, tables)) };
}

describe('a throttled write is absorbed', () => {
  it('DynamoDB answers the first BatchWriteItem with ProvisionedThroughputExceededException: the SDK retries, the batch stores everything', async () => {
    const tables = await freshTables();
    const doc = newClient();
    // Below the SDK's retry and above the wire: the first BatchWriteItem gets DynamoDB's real 400 answer.
    const targets: string[] = [];
    let throttles = 0;
    doc.middlewareStack.add(
      (next) => async (args) => {
        const target = String((args.request as { headers: Record<string, string> }).headers['x-amz-target'] ?? '');
        targets.push(target);
        if (target.endsWith('.BatchWriteItem') && throttles++ === 0) {
          const body = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'Rate of requests exceeds the allowed throughput (injected)' });
          return {
            response: { statusCode: 400, headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'injected' }, body: Readable.from([Buffer.from(body)]) },
            output: undefined as never,
          };
        }
        return next(args);
      },
      { step: 'deserialize', priority: 'low', name: 'injectThrottle' },
    );
    const intake = makeIntake(new IngestStore(doc, tables));
    const events = tenEvents('HTTP');
    const out = await intake({ Records: toRecords(events.map((e) => render(e)).join('\n'), 'throttle.ndjson') });

    expect(targets.filter((t) => t.endsWith('.BatchWriteItem'))).toHaveLength(2); // throttled once, retried once
    expect(out.batchItemFailures).toEqual([]);
    expect(out.summary).toEqual({ accepted: 10, duplicates: 0, rejected: 0 });
    await expectAllStored(tables, events);
  });

  it('a BatchWriteItem that still fails after the SDK retries fails the batch; the redelivery stores everything', async () => {
    const tables = await freshTables();
    const { mock, passGet, passWrite, intake } = mocked(tables);
    mock.on(BatchGetCommand).callsFake(passGet);
    mock.on(BatchWriteCommand).rejectsOnce(throttled()).callsFake(passWrite);
    const events = tenEvents('ONCE');
    const records = toRecords(events.map((e) => render(e)).join('\n'), 'once.ndjson');

    const result = await feedRecords(intake, records, { concurrency: 1, quiet: true });
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(2); // first delivery failed, redelivery wrote
    expect(result).toEqual({ accepted: 10, duplicates: 0, rejected: 0, failed: 0 });
    await expectAllStored(tables, events);
  });

  it('UnprocessedItems returned once are written by the retry', async () => {
    const tables = await freshTables();
    const { mock, passGet, passWrite, intake } = mocked(tables);
    mock.on(BatchGetCommand).callsFake(passGet);
    let leftOver: BatchWriteCommandInput['RequestItems'];
    mock
      .on(BatchWriteCommand)
      .callsFakeOnce(async (input: BatchWriteCommandInput) => {
        // DynamoDB writes part of the batch and hands back the rest: here, all but the first 4 items of each table.
        const now: NonNullable<BatchWriteCommandInput['RequestItems']> = {};
        leftOver = {};
        for (const [table, requests] of Object.entries(input.RequestItems!)) {
          now[table] = requests.slice(0, 4);
          if (requests.length > 4) leftOver[table] = requests.slice(4);
        }
        expect(Object.keys(leftOver)).not.toHaveLength(0);
        await passWrite({ RequestItems: now });
        return { UnprocessedItems: leftOver, $metadata: {} };
      })
      .callsFake(passWrite);
    const events = tenEvents('UNPROC');
    const out = await intake({ Records: toRecords(events.map((e) => render(e)).join('\n'), 'unprocessed.ndjson') });

    const calls = mock.commandCalls(BatchWriteCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0].input.RequestItems).toEqual(leftOver);
    expect(out.batchItemFailures).toEqual([]);
    expect(out.summary).toEqual({ accepted: 10, duplicates: 0, rejected: 0 });
    await expectAllStored(tables, events);
  });

  it('UnprocessedKeys returned once by BatchGetItem are read by the retry, so stored events stay duplicates', async () => {
    const tables = await freshTables();
    const first = tenEvents('KEYS');
    const { mock, passGet, passWrite, intake } = mocked(tables);
    let unanswered = 0; // how many BatchGetItem calls to leave wholly unprocessed
    mock.on(BatchGetCommand).callsFake(async (input: BatchGetCommandInput) => (unanswered-- > 0 ? { Responses: {}, UnprocessedKeys: input.RequestItems, $metadata: {} } : passGet(input)));
    mock.on(BatchWriteCommand).callsFake(passWrite);
    const bodies = first.slice(0, 5).map((e) => render(e));
    expect((await intake({ Records: toRecords(bodies.join('\n'), 'keys-1.ndjson') })).summary).toEqual({ accepted: 5, duplicates: 0, rejected: 0 });
    const before = await scanAll(tables.orders);

    unanswered = 1;
    const again = [...bodies, ...first.slice(5).map((e) => render(e))];
    const out = await intake({ Records: toRecords(again.join('\n'), 'keys-2.ndjson') });
    expect(mock.commandCalls(BatchGetCommand)).toHaveLength(3); // the first batch's read, then the unanswered one and its retry
    expect(unanswered).toBeLessThan(0);
    expect(out.batchItemFailures).toEqual([]);
    expect(out.summary).toEqual({ accepted: 5, duplicates: 5, rejected: 0 });
    const after = await scanAll(tables.orders);
    for (const item of before) expect(after).toContainEqual(item); // not rewritten: same ingestedAt
    await expectAllStored(tables, first);
  });
});

describe('a write that keeps failing loses nothing', () => {
  it('every BatchWriteItem fails: every record is in batchItemFailures, nothing is stored; after the fault a redelivery stores them all', async () => {
    const tables = await freshTables();
    const { mock, passGet, passWrite, intake } = mocked(tables);
    let outage = false;
    mock.on(BatchGetCommand).callsFake(passGet);
    mock.on(BatchWriteCommand).callsFake(async (input: BatchWriteCommandInput) => {
      if (outage) throw throttled();
      return passWrite(input);
    });
    // One event already stored before the outage, and one bad event: both belong to the batch as well.
    const events = tenEvents('PERM').slice(0, 8);
    const stored = render(events[0]!);
    expect((await intake({ Records: toRecords(stored, 'before.ndjson') })).summary).toEqual({ accepted: 1, duplicates: 0, rejected: 0 });

    outage = true;
    const bodies = [...events.map((e) => render(e)), '{"type":"order.paid","orderId":"bad id"}'];
    const records = toRecords(bodies.join('\n'), 'outage.ndjson');
    const out = await intake({ Records: records });
    expect(out.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(records.map((r) => r.messageId).sort());
    expect(out.summary).toEqual({ accepted: 0, duplicates: 0, rejected: 0 });
    expect(await scanAll(tables.orders)).toHaveLength(1);
    expect(await listRejected(db, tables.rejected)).toEqual([]);

    // What an import does during the outage: redeliver, then give up and count every record as failed.
    const during = await feedRecords(intake, records, { concurrency: 2, maxReceives: 2, quiet: true });
    expect(during).toEqual({ accepted: 0, duplicates: 0, rejected: 0, failed: records.length });

    outage = false;
    const after = await feedRecords(intake, records, { concurrency: 2, quiet: true });
    expect(after).toEqual({ accepted: 7, duplicates: 1, rejected: 1, failed: 0 });
    await expectAllStored(tables, events);
    const rejected = await listRejected(db, tables.rejected);
    expect(rejected.map((r) => [r.source, r.line, r.field])).toEqual([['outage.ndjson', 9, 'orderId']]);
  });

  it('UnprocessedItems that never clear: the store gives up after its retries and the batch fails instead of dropping them', async () => {
    const tables = await freshTables();
    const { mock, passGet, passWrite, intake } = mocked(tables);
    let stuck = true;
    mock.on(BatchGetCommand).callsFake(passGet);
    mock.on(BatchWriteCommand).callsFake(async (input: BatchWriteCommandInput) => (stuck ? { UnprocessedItems: input.RequestItems, $metadata: {} } : passWrite(input)));
    const events = tenEvents('STUCK').slice(0, 3);
    const records = toRecords(events.map((e) => render(e)).join('\n'), 'stuck.ndjson');
    const out = await intake({ Records: records });
    expect(mock.commandCalls(BatchWriteCommand).length).toBeGreaterThan(1); // the store retried before giving up
    expect(out.batchItemFailures).toHaveLength(3);
    expect(await scanAll(tables.orders)).toEqual([]);

    stuck = false;
    expect(await feedRecords(intake, records, { quiet: true })).toEqual({ accepted: 3, duplicates: 0, rejected: 0, failed: 0 });
    await expectAllStored(tables, events);
  });
});
