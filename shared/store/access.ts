/**
 * What each store method sends to DynamoDB, declared beside the method, and what each use case uses of
 * each store. A function's IAM policy is derived from nothing else (`RenewalFunction.useStores` in
 * cdk/function.ts), so the grant cannot drift from the code:
 *
 * - a use case types its dependencies as `Needs<…>` of its declared methods, so calling a method it
 *   has not declared does not compile;
 * - each store's `…_ACCESS` map must name every public method (`AccessMap` requires them all), and
 *   test/integration/store-access.test.ts records what each method really sends and fails on any
 *   request its declaration does not cover;
 * - `renewal rehearse` runs the deployed bundles under the derived policies and reports every grant
 *   that was never used.
 */
import type { TableId } from '../tables.ts';

/** DynamoDB data-plane actions, without the `dynamodb:` prefix. */
export type DynamoAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'Scan' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchWriteItem' | 'ConditionCheckItem';

/** Requests a method can send to one table, or to one index of it (Query and Scan only). */
export interface TableAccess {
  table: TableId;
  actions: readonly DynamoAction[];
  index?: string;
}

/** The buckets of the app, by id: the environment variable `<ID>_BUCKET` carries a bucket's name. */
export type BucketId = 'notice';
export type S3Action = 'GetObject' | 'PutObject';

/** Requests a method can send to the objects of one bucket. */
export interface BucketAccess {
  bucket: BucketId;
  actions: readonly S3Action[];
}

export type Access = TableAccess | BucketAccess;

/** Environment variable that carries the name of a bucket into a function: `notice` → `NOTICE_BUCKET`. */
export const bucketEnvVar = (id: BucketId) => `${id.toUpperCase()}_BUCKET`;

/** The public methods of a store class. */
export type MethodsOf<S> = { [K in keyof S]: S[K] extends (...args: never[]) => unknown ? K : never }[keyof S] & string;

/** A store's declaration: every public method, with every request it can send (none: `[]`). */
export type AccessMap<S> = { readonly [K in MethodsOf<S>]: readonly Access[] };

/** A store's declaration, carrying the store's type so `uses` can check method names against it. */
export interface StoreAccess<S> {
  readonly store: string;
  readonly methods: AccessMap<S>;
  /** Type only: the store this declares. */
  readonly __store?: S;
}

/** Declares what every method of store `S` sends: `declareAccess<SourceStore>()('source', {...})`. */
export const declareAccess =
  <S>() =>
  (store: string, methods: AccessMap<S>): StoreAccess<S> => ({ store, methods });

/** What a use case uses of one store: the store's declaration and the methods it calls. */
export interface StoreUse<S = unknown, M extends string = string> {
  access: StoreAccess<S>;
  methods: readonly M[];
}

/** Declares the use of `methods` of a store; `Needs<typeof use>` is the store as the use case sees it. */
export function uses<S, const M extends MethodsOf<S>>(access: StoreAccess<S>, methods: readonly M[]): StoreUse<S, M> {
  return { access, methods };
}

/** The part of a store a use case may call: exactly the methods it declared. */
export type Needs<U> = U extends StoreUse<infer S, infer M> ? Pick<S, M & keyof S> : never;

/**
 * Every access of a set of uses, merged to one entry per table (and index) and per bucket, actions
 * sorted: what the function's policy grants.
 */
export function accessOf(needs: readonly StoreUse<unknown>[]): { tables: TableAccess[]; buckets: BucketAccess[] } {
  const tables = new Map<string, { table: TableId; index?: string; actions: Set<DynamoAction> }>();
  const buckets = new Map<BucketId, Set<S3Action>>();
  for (const use of needs) {
    for (const method of use.methods) {
      const declared = (use.access.methods as Record<string, readonly Access[]>)[method];
      if (!declared) throw new Error(`${use.access.store}.${method}: not in the store's access declaration`);
      for (const a of declared) {
        if ('bucket' in a) {
          const set = buckets.get(a.bucket) ?? buckets.set(a.bucket, new Set()).get(a.bucket)!;
          for (const action of a.actions) set.add(action);
          continue;
        }
        const key = `${a.table}/${a.index ?? ''}`;
        const entry = tables.get(key) ?? tables.set(key, { table: a.table, ...(a.index ? { index: a.index } : {}), actions: new Set() }).get(key)!;
        for (const action of a.actions) entry.actions.add(action);
      }
    }
  }
  return {
    tables: [...tables.values()]
      .map((e) => ({ table: e.table, ...(e.index ? { index: e.index } : {}), actions: [...e.actions].sort() }))
      .sort((a, b) => `${a.table}/${a.index ?? ''}`.localeCompare(`${b.table}/${b.index ?? ''}`)),
    buckets: [...buckets].map(([bucket, actions]) => ({ bucket, actions: [...actions].sort() })),
  };
}
