import { createHash } from 'node:crypto';

/**
 * The `rejected` table's layout, keys and attributes, in one place: the intake writes these items
 * (`../ingest.ts`) and `renewal rejected` reads them (`../rejected.ts`).
 *
 * | attribute    | what                                                                          |
 * |--------------|-------------------------------------------------------------------------------|
 * | `rejectId`   | key: a hash of the raw body, the reason and the origin, so a redelivery is kept once |
 * | `receivedAt` | when the intake met it                                                        |
 * | `field`, `reason` | what was wrong (cut to 200 and 2,000 characters)                         |
 * | `raw`        | the body as received, cut to 64,000 bytes (base64 when `field` is `encoding`) |
 * | `rawTruncated`, `rawBytes`, `rawSha256` | when `raw` is not the whole body: its size and SHA-256 (hex) |
 * | `event`      | the parsed event as JSON, when whole and at most 64 KB                        |
 * | `messageId`, `source`, `line` | where it came from                                           |
 * | `expiresAt`  | TTL: `REJECTED_RETENTION_DAYS` after `receivedAt`                             |
 */

export const REJECTED_RETENTION_DAYS = 400;

/** Where an event came from, kept with a rejection so ops can find and replay it. */
export interface Origin {
  messageId?: string;
  source?: string;
  line?: number;
}

export interface RejectedEvent {
  reason: string;
  field: string;
  receivedAt: string;
  source?: string;
  line?: number;
  messageId?: string;
  /** The event as parsed, when the body was a JSON value. */
  event?: unknown;
  /** The body as received, for replay; base64 of the bytes when `rawEncoding` says so (field `encoding`). */
  raw: string;
  rawEncoding?: 'base64';
  /** `raw` is only the start of the body: a replay needs the original, found by `rawBytes` and `rawSha256`. */
  rawTruncated?: true;
  /** The whole body's size in bytes (UTF-8), when `raw` was cut. */
  rawBytes?: number;
  /** The whole body's SHA-256, hex, when `raw` was cut. */
  rawSha256?: string;
}

/** The body a cut `raw` came from, as the producer that cut it measured it (`renewal import`, for a line too large to send). */
export interface WholeBody {
  bytes: number;
  sha256: string;
}

/** The most of a body a rejection keeps, in UTF-8 bytes. */
export const RAW_MAX_BYTES = 64_000;

/**
 * The start of `text` in at most `max` UTF-8 bytes, never splitting a character; undefined when the
 * whole of it fits.
 */
export function utf8Prefix(text: string, max: number): string | undefined {
  if (text.length * 3 <= max) return undefined;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return undefined;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back to the first byte of a character
  return bytes.subarray(0, end).toString('utf8');
}

/** The item recording one rejection; whatever the sender put in, it fits one item (400 KB). */
export function rejectedItem(raw: string, event: unknown, field: string, reason: string, origin: Origin, receivedAt: string, whole?: WholeBody): Record<string, unknown> {
  // The raw body is cut to RAW_MAX_BYTES, saying so with the whole body's size and hash (`whole`: a
  // producer cut it already); the parsed event is kept only while its JSON is whole and small.
  const prefix = utf8Prefix(raw, RAW_MAX_BYTES);
  const cut: WholeBody | undefined = whole ?? (prefix === undefined ? undefined : { bytes: Buffer.byteLength(raw), sha256: createHash('sha256').update(raw).digest('hex') });
  // Same body, origin and reason → same id: a redelivered bad message is kept once.
  const rejectId = createHash('sha256')
    .update(JSON.stringify([cut ? cut.sha256 : raw, reason, origin.source ?? null, origin.line ?? null]))
    .digest('base64url')
    .slice(0, 26);
  const eventJson = event === undefined ? undefined : safeJson(event);
  return {
    rejectId,
    receivedAt,
    field: field.slice(0, 200),
    reason: reason.length > 2000 ? `${reason.slice(0, 1999)}…` : reason,
    raw: prefix ?? raw,
    ...(cut ? { rawTruncated: true, rawBytes: cut.bytes, rawSha256: cut.sha256 } : {}),
    ...(eventJson !== undefined && eventJson.length <= 64_000 ? { event: eventJson } : {}),
    ...origin,
    expiresAt: Math.floor(Date.parse(receivedAt) / 1000) + REJECTED_RETENTION_DAYS * 86_400,
  };
}

/** The rejection a stored item records (the inverse of `rejectedItem`, bar what was cut). */
export function fromRejectedItem(item: Record<string, unknown>): RejectedEvent {
  return {
    reason: item.reason as string,
    field: item.field as string,
    receivedAt: item.receivedAt as string,
    raw: item.raw as string,
    ...(item.field === 'encoding' ? { rawEncoding: 'base64' as const } : {}),
    ...(item.rawTruncated === true ? { rawTruncated: true as const, rawBytes: item.rawBytes as number, rawSha256: item.rawSha256 as string } : {}),
    ...(item.source !== undefined ? { source: item.source as string } : {}),
    ...(item.line !== undefined ? { line: item.line as number } : {}),
    ...(item.messageId !== undefined ? { messageId: item.messageId as string } : {}),
    ...(item.event !== undefined ? { event: JSON.parse(item.event as string) } : {}),
  };
}

function safeJson(v: unknown): string | undefined {
  try {
    return JSON.stringify(v);
  } catch {
    return undefined; // nested too deep to serialize: the raw body is kept instead
  }
}
