/**
 * A conditional write whose condition does not hold is, to DynamoDB, an error
 * (`ConditionalCheckFailedException`). To a store it is an answer: the lock is taken, the revision
 * exists, the claim is someone else's. Each store turns it into a domain result here, so no use case
 * ever catches a DynamoDB exception to learn what happened; anything else still throws.
 */

/** Whether `err` is DynamoDB's "the condition did not hold". */
export function isConditionFailed(err: unknown): boolean {
  return (err as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

/** The write's output, or undefined when its condition did not hold. */
export async function ifConditionHolds<T extends object>(write: Promise<T>): Promise<T | undefined> {
  try {
    return await write;
  } catch (err) {
    if (isConditionFailed(err)) return undefined;
    throw err;
  }
}

/** True when the conditional write was made, false when its condition did not hold. */
export async function conditionHeld(write: Promise<object>): Promise<boolean> {
  return (await ifConditionHolds(write)) !== undefined;
}
