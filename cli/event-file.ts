/**
 * Event files as `renewal import` reads them (OPS.md, input contract): NDJSON, strictly, as a stream of
 * lines whose memory follows the largest event, not the file; a file that cannot be NDJSON is refused
 * whole before anything is sent.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { RAW_MAX_BYTES } from '#shared/store/layout/rejected.ts';
import { MAX_EVENT_BYTES } from '#shared/usecases/intake.ts';
import { BadInputError } from '#shared/errors.ts';

/** The file cannot be read as NDJSON at all (a directory, UTF-16, CR-only lines): the CLI exits 2. */
export class InputFileError extends BadInputError {
  override name = 'InputFileError';
}

/** One line of an event file: its text, or (not valid UTF-8) its bytes in base64. */
export interface EventLine {
  line: number;
  body: string;
  /** The line is not valid UTF-8: `body` holds its bytes, base64, for the intake to keep. */
  base64?: true;
  /**
   * The line is larger than an event may be (`MAX_EVENT_BYTES`): `body` is only its start, and this
   * is the whole line's size and SHA-256, for the intake to reject it with reason `size`.
   */
  oversize?: { bytes: number; sha256: string };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const LENIENT = new TextDecoder('utf-8');
/** The first bytes of a file that decide its encoding (UTF-16 has a NUL in every other byte). */
const HEAD_BYTES = 4096;

/**
 * Reads NDJSON event bytes strictly (OPS.md, input contract), as they come: `push` each chunk, `end`
 * after the last, each returns the lines completed. A UTF-8 BOM is skipped. Lines end in LF or CRLF; a
 * file with CR-only line endings, or in UTF-16 (a BOM, or NUL bytes), is refused whole (InputFileError),
 * naming its encoding, since reading it as UTF-8 would turn it into one record or into noise: both are
 * decided before the first line is complete. A line that is not valid UTF-8 is kept as its bytes
 * (base64) for the intake to reject with reason `encoding`. A line larger than an event may be is kept
 * as its start, its size and hash (`oversize`), never whole: memory follows `MAX_EVENT_BYTES`, not the
 * longest line. Blank lines are skipped.
 */
export class EventLineReader {
  private head: Buffer[] | undefined = [];
  private headBytes = 0;
  private lineNo = 1;
  /** The current line's bytes while it is within the limit. */
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** The current line, once over the limit: its start, its size, its running hash. */
  private over: { start: Buffer; bytes: number; hash: Hash } | undefined;
  /** A CR at the end of the last chunk: the end of a CRLF, or a byte of the line. */
  private pendingCr = false;
  private sawLf = false;
  /** Bytes read (after a BOM), and where the first CR was: CR-only line endings, if no LF ever comes. */
  private pos = 0;
  private firstCr = -1;

  constructor(private readonly name = 'FILE') {}

  push(chunk: Buffer): EventLine[] {
    if (this.head) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes < HEAD_BYTES) return [];
      return this.start();
    }
    return this.scan(chunk);
  }

  end(): EventLine[] {
    const out = this.head ? this.start() : [];
    if (!this.sawLf && this.firstCr >= 0 && this.firstCr < this.pos - 1)
      throw new InputFileError(`${this.name}: lines end in CR only (old Mac line endings), so the whole file would be one event; convert them to LF or CRLF (e.g. tr '\\r' '\\n')`);
    // A CR that ends the input ends the last line, as CRLF would.
    this.pendingCr = false;
    this.finishLine(out);
    return out;
  }

  private start(): EventLine[] {
    const bytes = Buffer.concat(this.head!);
    this.head = undefined;
    if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
      throw new InputFileError(`${this.name}: is UTF-16 (${bytes[0] === 0xff ? 'little' : 'big'}-endian, with a byte-order mark); events must be UTF-8 NDJSON (convert it: iconv -f UTF-16 -t UTF-8)`);
    }
    const head = bytes.subarray(0, HEAD_BYTES);
    const nuls = head.reduce((n, b) => n + (b === 0 ? 1 : 0), 0);
    if (nuls > 0 && nuls >= head.length / 8) {
      const le = head.findIndex((b) => b === 0) % 2 === 1;
      throw new InputFileError(
        `${this.name}: looks like UTF-16 (${le ? 'little' : 'big'}-endian, no byte-order mark: every other byte is NUL); events must be UTF-8 NDJSON (convert it: iconv -f UTF-16${le ? 'LE' : 'BE'} -t UTF-8)`,
      );
    }
    // UTF-8 BOM: accepted
    return this.scan(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes);
  }

  private scan(chunk: Buffer): EventLine[] {
    const out: EventLine[] = [];
    if (!this.sawLf && this.firstCr < 0) {
      const cr = chunk.indexOf(0x0d);
      if (cr >= 0) this.firstCr = this.pos + cr;
    }
    this.pos += chunk.length;
    let from = 0;
    while (from <= chunk.length) {
      const lf = chunk.indexOf(0x0a, from);
      const to = lf < 0 ? chunk.length : lf;
      this.append(chunk.subarray(from, to), lf >= 0);
      if (lf < 0) break;
      this.sawLf = true;
      this.finishLine(out);
      from = lf + 1;
    }
    return out;
  }

  /** Adds bytes to the current line; a CR at their end waits for the next byte, unless the line ends here. */
  private append(bytes: Buffer, endsLine: boolean): void {
    if (!bytes.length && !endsLine) return;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (bytes.length) this.add(CR); // more came before the LF: the CR was a byte of the line
    }
    if (bytes.length && bytes[bytes.length - 1] === 0x0d) {
      bytes = bytes.subarray(0, -1); // the CR of a CRLF, or (the chunk ends here) perhaps
      if (!endsLine) this.pendingCr = true;
    }
    if (bytes.length) this.add(bytes);
  }

  private add(bytes: Buffer): void {
    if (this.over) {
      this.over.bytes += bytes.length;
      this.over.hash.update(bytes);
      return;
    }
    this.parts.push(bytes);
    this.partBytes += bytes.length;
    if (this.partBytes > MAX_EVENT_BYTES) {
      // Over the limit as bytes: it cannot be an event. Keep its start and hash the rest as it comes.
      const whole = Buffer.concat(this.parts);
      this.over = { start: whole.subarray(0, RAW_MAX_BYTES), bytes: whole.length, hash: createHash('sha256').update(whole) };
      this.parts = [];
      this.partBytes = 0;
    }
  }

  private finishLine(out: EventLine[]): void {
    const line = this.lineNo++;
    if (this.over) {
      const { start, bytes, hash } = this.over;
      this.over = undefined;
      out.push({ line, body: LENIENT.decode(utf8Start(start)), oversize: { bytes, sha256: hash.digest('hex') } });
      return;
    }
    const raw = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.partBytes = 0;
    let text: string;
    try {
      text = UTF8.decode(raw);
    } catch {
      const body = raw.toString('base64');
      // Its base64 is what travels: a third larger than the line.
      if (body.length > MAX_EVENT_BYTES)
        out.push({ line, body: LENIENT.decode(utf8Start(raw.subarray(0, RAW_MAX_BYTES))), oversize: { bytes: raw.length, sha256: createHash('sha256').update(raw).digest('hex') } });
      else out.push({ line, body, base64: true });
      return;
    }
    if (text.trim()) out.push({ line, body: text }); // blank lines are skipped (OPS.md)
  }
}

const CR = Buffer.from([0x0d]);

/** `bytes` without a character cut at its end. */
function utf8Start(bytes: Buffer): Buffer {
  let end = bytes.length;
  let back = 0;
  while (end > 0 && back < 4 && (bytes[end - 1]! & 0xc0) === 0x80) {
    end--;
    back++;
  }
  if (end > 0 && bytes[end - 1]! >= 0xc0) {
    const need = bytes[end - 1]! >= 0xf0 ? 4 : bytes[end - 1]! >= 0xe0 ? 3 : 2;
    if (back + 1 < need) return bytes.subarray(0, end - 1);
  }
  return bytes;
}

/** Parses NDJSON event bytes held whole (a test's text, a small file): the same reading as a stream. */
export function parseEventFile(bytes: Buffer, name = 'FILE'): EventLine[] {
  const reader = new EventLineReader(name);
  return [...reader.push(bytes), ...reader.end()];
}

/** Opens an event file for reading; a missing file or a directory is an InputFileError naming it. */
async function checkFile(file: string): Promise<number> {
  let st;
  try {
    st = await stat(file);
  } catch {
    throw new InputFileError(`FILE: no such file: ${file}`);
  }
  if (st.isDirectory()) throw new InputFileError(`FILE: ${file} is a directory; give the NDJSON file of events`);
  return st.size;
}

/**
 * The lines of an event file as it is read, 64 KiB at a time: what is held is one chunk and the line
 * being read. Throws InputFileError (before yielding any line) for a file refused whole.
 */
export async function* streamEventFile(file: string): AsyncGenerator<EventLine> {
  await checkFile(file);
  const reader = new EventLineReader('FILE');
  for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) yield* reader.push(chunk as Buffer);
  yield* reader.end();
}

/** Reads and parses a whole event file; a missing file or a directory is an InputFileError naming it. */
export async function readEventFile(file: string): Promise<EventLine[]> {
  const lines: EventLine[] = [];
  for await (const l of streamEventFile(file)) lines.push(l);
  return lines;
}

/**
 * Reads an event file through once without keeping it: the events it holds (for the progress) and
 * whether it is refused whole (InputFileError), both known before the first event is sent.
 */
export async function countEventFile(file: string): Promise<number> {
  let n = 0;
  for await (const _ of streamEventFile(file)) n++;
  return n;
}
