import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { fromRejectedItem, type RejectedEvent } from './layout/rejected.ts';

/**
 * Every rejected event, oldest first, then by file and line. Rejections are few: a Scan serves. The
 * items' layout (`layout/rejected.ts`) is the one the intake writes them with.
 */
export async function listRejected(db: DynamoDBDocumentClient, table: string): Promise<RejectedEvent[]> {
  const out: RejectedEvent[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: table, ExclusiveStartKey }));
    for (const item of page.Items ?? []) {
      out.push(fromRejectedItem(item));
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return out.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || (a.source ?? '').localeCompare(b.source ?? '') || (a.line ?? 0) - (b.line ?? 0));
}
