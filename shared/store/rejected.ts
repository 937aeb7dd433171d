import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

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
}

/** Every rejected event, oldest first, then by file and line. Rejections are few: a Scan serves. */
export async function listRejected(db: DynamoDBDocumentClient, table: string): Promise<RejectedEvent[]> {
  const out: RejectedEvent[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: table, ExclusiveStartKey }));
    for (const item of page.Items ?? []) {
      out.push({
        reason: item.reason,
        field: item.field,
        receivedAt: item.receivedAt,
        raw: item.raw,
        ...(item.field === 'encoding' ? { rawEncoding: 'base64' as const } : {}),
        ...(item.source !== undefined ? { source: item.source } : {}),
        ...(item.line !== undefined ? { line: item.line } : {}),
        ...(item.messageId !== undefined ? { messageId: item.messageId } : {}),
        ...(item.event !== undefined ? { event: JSON.parse(item.event) } : {}),
      });
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return out.sort(
    (a, b) =>
      a.receivedAt.localeCompare(b.receivedAt) ||
      (a.source ?? '').localeCompare(b.source ?? '') ||
      (a.line ?? 0) - (b.line ?? 0),
  );
}

