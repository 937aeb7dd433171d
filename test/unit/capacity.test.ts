/**
 * DynamoDB capacity as AWS bills it (shared/store/capacity.ts), against the worked rules of the
 * item-size and read/write-operation pages: sizes byte by byte, 1 KB write and 4 KB read boundaries,
 * eventually consistent halving, one write per index whose keys the item carries, BatchWriteItem of
 * mixed sizes item by item. Expected numbers are written out, not computed with the module.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { indexEntrySizes, itemReadUnits, itemSize, numberSize, pageReadUnits, putWriteUnits, valueSize, writeUnits } from '#shared/store/capacity.ts';
import { TABLES } from '#shared/tables.ts';

/** An item of exactly `bytes` bytes: a one-letter name and a string of `bytes - 1` ASCII bytes. */
const sized = (bytes: number): Record<string, AttributeValue> => ({ k: { S: 'x'.repeat(bytes - 1) } });

describe('item size', () => {
  it('counts the UTF-8 bytes of names and string values', () => {
    expect(itemSize({ orderId: { S: 'O1' } })).toBe(7 + 2);
    expect(itemSize({ name: { S: '服务商' } })).toBe(4 + 9); // three CJK characters, three bytes each
  });
  it('numbers: one byte per two significant digits plus one, zeroes at either end trimmed', () => {
    expect(numberSize('7')).toBe(2);
    expect(numberSize('10000000')).toBe(2); // one significant digit
    expect(numberSize('12345')).toBe(4);
    expect(numberSize('-0.0012')).toBe(2);
    expect(itemSize({ amountFen: { N: '9999999' } })).toBe(9 + 5);
  });
  it('booleans and null are one byte; lists and maps 3 bytes plus 1 per element', () => {
    expect(valueSize({ BOOL: true })).toBe(1);
    expect(valueSize({ NULL: true })).toBe(1);
    expect(valueSize({ L: [] })).toBe(3);
    expect(valueSize({ L: [{ N: '1' }, { N: '22' }] })).toBe(3 + (1 + 2) + (1 + 2));
    expect(valueSize({ M: { a: { S: 'xy' } } })).toBe(3 + 1 + 1 + 2);
  });
});

describe('write units: 1 KB each, rounded up', () => {
  it('1,024 bytes is one unit, 1,025 bytes two', () => {
    expect(itemSize(sized(1024))).toBe(1024);
    expect(writeUnits(itemSize(sized(1024)))).toBe(1);
    expect(writeUnits(itemSize(sized(1025)))).toBe(2);
    expect(writeUnits(2048)).toBe(2);
    expect(writeUnits(2049)).toBe(3);
  });
  it('a tiny item still costs one unit', () => {
    expect(writeUnits(1)).toBe(1);
    expect(writeUnits(0)).toBe(1);
  });
});

describe('read units: 4 KB each, eventually consistent at half', () => {
  it('an item of 4,096 bytes is one unit, 4,097 bytes two; eventually consistent halves', () => {
    expect(itemReadUnits(4096, true)).toBe(1);
    expect(itemReadUnits(4097, true)).toBe(2);
    expect(itemReadUnits(4096, false)).toBe(0.5);
    expect(itemReadUnits(8193, false)).toBe(1.5);
  });
  it('a key that finds nothing costs the minimum read', () => {
    expect(itemReadUnits(0, true)).toBe(1);
    expect(itemReadUnits(0, false)).toBe(0.5);
  });
  it('BatchGetItem rounds each item up (1.5 KB + 6.5 KB = 3 units), Query and Scan round the page total once (2 units)', () => {
    expect(itemReadUnits(1536, true) + itemReadUnits(6656, true)).toBe(3);
    expect(pageReadUnits(1536 + 6656, true)).toBe(2);
    expect(pageReadUnits(0, false)).toBe(0.5);
  });
  it('property: a page never costs more than its items read one by one, nor less than its bytes in 4 KB units', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 50 }), fc.boolean(), (sizes, consistent) => {
        const page = pageReadUnits(
          sizes.reduce((a, b) => a + b, 0),
          consistent,
        );
        const oneByOne = sizes.reduce((n, b) => n + itemReadUnits(b, consistent), 0);
        expect(page).toBeLessThanOrEqual(oneByOne);
        expect(page * 4096 * (consistent ? 1 : 2)).toBeGreaterThanOrEqual(sizes.reduce((a, b) => a + b, 0));
      }),
    );
  });
});

describe('index writes: one per global secondary index whose keys the item carries', () => {
  const order = {
    orderId: { S: 'O1' },
    storeId: { S: 'S1' },
    storePaid: { S: '2024-01-10T02:00:00.000Z#O1' },
    paidAt: { S: '2024-01-10T02:00:00.000Z' },
    gift: { BOOL: false },
    type: { S: 'order.paid' },
  };
  it('an order writes its item and one byStore entry: 2 units', () => {
    expect(putWriteUnits(order, ['orderId'], TABLES.orders.indexes)).toEqual({ table: 1, indexes: 1 });
  });
  it('the byStore entry holds the keys and the projected gift only', () => {
    expect(indexEntrySizes(order, ['orderId'], TABLES.orders.indexes)).toEqual([itemSize({ orderId: order.orderId, storeId: order.storeId, storePaid: order.storePaid, gift: order.gift })]);
  });
  it('sparse indexes cost nothing for items without their keys: a change record, a profile', () => {
    expect(putWriteUnits({ pk: { S: 'CH#1' }, sk: { S: 't#x' } }, ['pk', 'sk'], TABLES.changes.indexes)).toEqual({ table: 1, indexes: 0 });
    const profile = { pk: { S: 'P#P1' }, sk: { S: 'PROFILE' }, listKey: { S: 'provider' }, name: { S: 'n' } };
    expect(putWriteUnits(profile, ['pk', 'sk'], TABLES.events.indexes)).toEqual({ table: 1, indexes: 1 }); // providers only
  });
  it('a projected-ALL entry of a large item costs as much as the item', () => {
    const big = { pk: { S: 'S#S1' }, sk: { S: 'B#P1' }, gpk: { S: 'P#P1' }, gsk: { S: 'B#S1' }, blob: { S: 'x'.repeat(1500) } };
    expect(putWriteUnits(big, ['pk', 'sk'], TABLES.events.indexes)).toEqual({ table: 2, indexes: 2 });
  });
  it('a BatchWriteItem of mixed sizes is billed item by item: 1 KB + 1,025 B + 3 KB = 1 + 2 + 3 units', () => {
    const units = [sized(1024), sized(1025), sized(3072)].map((i) => putWriteUnits(i, ['k'], []).table);
    expect(units).toEqual([1, 2, 3]);
  });
});
