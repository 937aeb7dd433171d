import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Items written, counted from the requests the SDK sends (retries of unprocessed items included). */
export interface WriteCounter {
  items: number;
  requests: number;
}

/**
 * Adds a middleware to a client that counts DynamoDB items written on the wire: each entry of a
 * BatchWriteItem, each PutItem, UpdateItem and DeleteItem. The bench's `writesPerOrder` comes from here.
 */
export function countWrites(db: DynamoDBDocumentClient): WriteCounter {
  const counter: WriteCounter = { items: 0, requests: 0 };
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { RequestItems?: Record<string, unknown[]> };
      switch (context.commandName) {
        case 'BatchWriteItemCommand':
          counter.requests++;
          counter.items += Object.values(input.RequestItems ?? {}).reduce((n, reqs) => n + reqs.length, 0);
          break;
        case 'PutItemCommand':
        case 'UpdateItemCommand':
        case 'DeleteItemCommand':
          counter.requests++;
          counter.items++;
          break;
      }
      return next(args);
    },
    { step: 'initialize', name: 'countWrites' },
  );
  return counter;
}
