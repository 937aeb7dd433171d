import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFile, InputFileError, readEventFile } from '#cli/import.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { listRejected } from '#shared/store/rejected.ts';
import { scanAll } from '#shared/store/batch.ts';
import { freshTables, useTestStack } from '../support/stack.ts';
import { makeIntake } from '#functions/handlers/intake.ts';

/**
 * The import's input encoding (issue 9): invalid UTF-8 is rejected per line with reason `encoding`
 * (the bytes kept, base64) while the file's good lines are stored; a UTF-8 BOM is accepted; CR-only
 * and UTF-16 files are refused whole, naming the encoding, and go through once converted; a directory
 * is refused. Each case is read through the real intake into dynalite.
 */
const { db } = await useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'renewal-encoding-'));

const order = (id: string) => JSON.stringify({ type: 'order.paid', orderId: id, storeId: 'S1', paidAt: '2023-12-05T10:00:00+08:00' });
const provider = (name: string) => JSON.stringify({ type: 'provider.upserted', providerId: 'P1', name, email: 'p1@example.com', certifiedAt: '2023-06-01T00:00:00+08:00' });

async function imported(name: string, bytes: Buffer) {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  const tables = await freshTables();
  const result = await importFile(makeIntake(new IngestStore(db, tables)), file, { quiet: true });
  const orders = (await scanAll(db, { TableName: tables.orders })).map((o) => o.orderId).sort();
  const events = await scanAll(db, { TableName: tables.events });
  return { result, orders, events, rejected: await listRejected(db, tables.rejected) };
}

describe('import input encoding', () => {
  it('invalid UTF-8 in a line: that line rejected with reason "encoding", its bytes kept in base64; the good lines stored', async () => {
    const bad = Buffer.concat([
      Buffer.from('{"type":"provider.upserted","providerId":"P1","name":"'),
      Buffer.from([0xe6, 0x9c]),
      Buffer.from('x","email":"p1@example.com","certifiedAt":"2023-06-01T00:00:00+08:00"}'),
    ]);
    const bytes = Buffer.concat([Buffer.from(`${order('O1')}\n`), bad, Buffer.from(`\n${order('O2')}\n`)]);
    const r = await imported('invalid-utf8.ndjson', bytes);
    expect(r.result).toMatchObject({ accepted: 2, rejected: 1, failed: 0 });
    expect(r.orders).toEqual(['O1', 'O2']);
    expect(r.events).toEqual([]); // no provider stored with U+FFFD in its name
    expect(r.rejected).toHaveLength(1);
    expect(r.rejected[0]).toMatchObject({ line: 2, field: 'encoding', rawEncoding: 'base64', reason: expect.stringMatching(/^encoding: not valid UTF-8 \(byte 0xe6 at offset 54 of the line\)/) });
    expect(Buffer.from(r.rejected[0]!.raw, 'base64').equals(bad)).toBe(true);
  });

  it('a UTF-8 byte-order mark: accepted, the first event stored like the others', async () => {
    const r = await imported('bom.ndjson', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${order('O1')}\r\n${order('O2')}\r\n`)]));
    expect(r.result).toMatchObject({ accepted: 2, rejected: 0 });
    expect(r.orders).toEqual(['O1', 'O2']);
  });

  it('CR-only line endings: refused up front naming them (nothing stored); with LF the same file stores every line', async () => {
    const text = [order('O1'), provider('甲'), order('O2')].join('\r');
    writeFileSync(join(dir, 'cr.ndjson'), text);
    await expect(readEventFile(join(dir, 'cr.ndjson'))).rejects.toThrow(InputFileError);
    await expect(readEventFile(join(dir, 'cr.ndjson'))).rejects.toThrow(/FILE: lines end in CR only/);
    const r = await imported('cr-fixed.ndjson', Buffer.from(text.replaceAll('\r', '\n')));
    expect(r.result).toMatchObject({ accepted: 3, rejected: 0 });
  });

  it.each([
    ['UTF-16LE with a BOM', (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]), /is UTF-16 \(little-endian, with a byte-order mark\)/],
    ['UTF-16BE with a BOM', (s: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(s, 'utf16le').swap16()]), /is UTF-16 \(big-endian, with a byte-order mark\)/],
    ['UTF-16LE without a BOM', (s: string) => Buffer.from(s, 'utf16le'), /looks like UTF-16 \(little-endian, no byte-order mark/],
  ])('%s: refused up front naming the encoding (not one NUL-filled error per line); converted to UTF-8 every line is stored', async (name, encode, message) => {
    const text = `${order('O1')}\n${provider('乙')}\n${order('O2')}\n`;
    const file = join(dir, `${name.replaceAll(' ', '-')}.ndjson`);
    writeFileSync(file, encode(text));
    await expect(readEventFile(file)).rejects.toThrow(message);
    const r = await imported(`${name.replaceAll(' ', '-')}-utf8.ndjson`, Buffer.from(text));
    expect(r.result).toMatchObject({ accepted: 3, rejected: 0 });
    expect(r.events.map((e) => e.name)).toEqual(['乙']);
  });

  it('a directory is refused naming it (the CLI exits 2), not EISDIR', async () => {
    mkdirSync(join(dir, 'a-dir'));
    await expect(readEventFile(join(dir, 'a-dir'))).rejects.toThrow(/^FILE: .*a-dir is a directory/);
    await expect(readEventFile(join(dir, 'missing.ndjson'))).rejects.toThrow(/^FILE: no such file/);
  });
});
