import { periodWindow, type Campaign } from '../rules/campaign.ts';
import { intervalsFor, orderCounts, type BindingIntervals } from '../rules/rules.ts';
import { localDate } from '../rules/time.ts';
import type { StoreDaily } from '../store/aggregates.ts';

/** An order as a recount needs it. */
export interface TallyOrder {
  storeId: string;
  paidAt: string;
  gift: boolean;
}

/**
 * The full recount's state: counted orders per store, bound provider and season day, and nothing
 * else. It consumes orders page by page from an async iterator and keeps no reference to them, so
 * its memory grows with stores × providers × days (one Int32Array of season days per store and
 * bound provider, made when the bindings are known) and never with the number of orders.
 */
export class StoreDayTally {
  private readonly cells = new Map<string, Map<string, Int32Array>>();
  private readonly dayIndex: Map<string, number>;
  private readonly offset: number;
  /** Every store an order was seen for, bound or not (a store id each, not its orders). */
  readonly storesSeen = new Set<string>();
  ordersSeen = 0;

  constructor(
    private readonly c: Campaign,
    private readonly bindings: BindingIntervals,
  ) {
    const w = periodWindow(c);
    this.dayIndex = new Map(w.days.map((d, i) => [d, i]));
    this.offset = c.utcOffsetMinutes;
    for (const [providerId, stores] of bindings) {
      for (const storeId of stores.keys()) {
        const row = this.cells.get(storeId) ?? this.cells.set(storeId, new Map()).get(storeId)!;
        row.set(providerId, new Int32Array(w.days.length));
      }
    }
  }

  /** Counts one order for every provider its store was bound to when it was paid (RULES.md 2.2.1, 2.3). */
  add(o: TallyOrder): void {
    this.ordersSeen++;
    this.storesSeen.add(o.storeId);
    const row = this.cells.get(o.storeId);
    if (!row) return;
    const paid = { paidAtMs: Date.parse(o.paidAt), gift: o.gift };
    for (const [providerId, days] of row) {
      if (!orderCounts(this.c, paid, intervalsFor(this.bindings, providerId, o.storeId))) continue;
      days[this.dayIndex.get(localDate(paid.paidAtMs, this.offset))!]!++;
    }
  }

  /** Consumes pages of orders as they come; `onPage` sees the running order count. */
  async consume(pages: AsyncIterable<readonly TallyOrder[]>, onPage?: (ordersSeen: number) => void): Promise<void> {
    for await (const page of pages) {
      for (const o of page) this.add(o);
      onPage?.(this.ordersSeen);
    }
  }

  /** The bound stores, each with its counts. */
  stores(): string[] {
    return [...this.cells.keys()];
  }

  /** One store's counts as stored: providerId → counts per season day. */
  daily(storeId: string): StoreDaily {
    return Object.fromEntries([...(this.cells.get(storeId) ?? [])].map(([p, days]) => [p, Array.from(days)]));
  }

  /** How many counters the state holds: stores × bound providers × season days, whatever the orders. */
  get counters(): number {
    let n = 0;
    for (const row of this.cells.values()) for (const days of row.values()) n += days.length;
    return n;
  }
}
