import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLineReader, feedRecords, importFile, InputFileError, toRecord, type EventLine, type IntakeHandler } from '#cli/import.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { scanAll } from '#shared/store/batch.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { freshTables, useTestStack } from '../support/stack.ts';

/**
 * The streaming import (issue 20): the file is read in chunks, whatever their boundaries the lines are
 * those of the whole file, and the feed reads only a bounded window ahead of the intake.
 */
const { db } = await useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'renewal-stream-'));

/** The reading of a whole file, as the contract states it: split at LF, one trailing CR dropped, not UTF-8 kept as base64, blank skipped. */
function reference(bytes: Buffer): Omit<EventLine, 'oversize'>[] {
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  const out: Omit<EventLine, 'oversize'>[] = [];
  let from = 0;
  for (let n = 1; from <= body.length; n++) {
    let to = body.indexOf(0x0a, from);
    if (to < 0) to = body.length;
    let raw = body.subarray(from, to);
    if (raw.at(-1) === 0x0d) raw = raw.subarray(0, -1);
    from = to + 1;
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
      if (text.trim()) out.push({ line: n, body: text });
    } catch {
      out.push({ line: n, body: raw.toString('base64'), base64: true });
    }
  }
  return out;
}

const order = (id: string) => JSON.stringify({ type: 'order.paid', orderId: id, storeId: `S${id.length}`, paidAt: '2023-12-05T10:00:00+08:00' });

describe('reading a file in chunks', () => {
  it('whatever the chunk boundaries (a CRLF split, a character split), the lines are those of the whole file', () => {
    const piece = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => Buffer.from(s)),
      fc.constantFrom(Buffer.from('\n'), Buffer.from('\r\n'), Buffer.from('\r'), Buffer.from('  \n'), Buffer.from([0xe6, 0x9c]), Buffer.from('乙')),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(piece, { maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }), (bom, pieces, cuts) => {
        // A first line longer than the head the reader judges the encoding by, so that the pieces
        // are read chunk by chunk; at least one LF (CR-only files are refused, as the next test shows).
        const bytes = Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(`${order('HEAD')}${' '.repeat(4100)}`), ...pieces, Buffer.from('\n')]);
        const reader = new EventLineReader();
        const got: EventLine[] = [];
        let at = 0;
        for (let k = 0; at < bytes.length; k++) {
          const n = cuts[k % cuts.length]!;
          got.push(...reader.push(bytes.subarray(at, at + n)));
          at += n;
        }
        got.push(...reader.end());
        expect(got).toEqual(reference(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('a CR-only file larger than a chunk is refused whole before the intake sees anything; a directory and a missing file likewise', async () => {
    const file = join(dir, 'cr-only.ndjson');
    writeFileSync(file, Array.from({ length: 3000 }, (_, i) => order(`CR${i}`)).join('\r'));
    let calls = 0;
    const handler: IntakeHandler = async () => (calls++, { batchItemFailures: [], summary: { accepted: 0, duplicates: 0, rejected: 0 } });
    await expect(importFile(handler, file, { quiet: true })).rejects.toThrow(InputFileError);
    await expect(importFile(handler, dir, { quiet: true })).rejects.toThrow(/is a directory/);
    await expect(importFile(handler, join(dir, 'nope.ndjson'), { quiet: true })).rejects.toThrow(/no such file/);
    expect(calls).toBe(0);
  });
});

describe('the feed reads a bounded window ahead', () => {
  it('never holds more than the window and the batches in flight, and stores every event once', async () => {
    const N = 3000;
    let yielded = 0;
    let handed = 0;
    let mostAhead = 0;
    async function* records(): AsyncGenerator<SQSRecord> {
      for (let i = 0; i < N; i++) {
        yielded++;
        mostAhead = Math.max(mostAhead, yielded - handed);
        yield toRecord({ line: i + 1, body: order(`W${i}`) }, 'window.ndjson');
      }
    }
    const tables = await freshTables();
    const intake = makeIntake(new IngestStore(db, tables));
    const counting: IntakeHandler = (event) => {
      handed += event.Records.length;
      return intake(event);
    };
    const concurrency = 4;
    const window = 60;
    const r = await feedRecords(counting, records(), { concurrency, window, total: N, quiet: true });
    expect(r).toEqual({ accepted: N, duplicates: 0, rejected: 0, failed: 0 });
    // Read ahead: at most the window, plus the batches the lanes took and are sending.
    expect(mostAhead).toBeLessThanOrEqual(window + concurrency * 10);
    expect((await scanAll(db, { TableName: tables.orders })).length).toBe(N);
  });
});
