/**
 * The rehearsal's simulated clock and its queue of what is due: a min-heap of events by instant,
 * events at the same instant in the order they were scheduled (a sequence number breaks the tie, so a
 * run is the same every time). `now` never goes back: popping an event moves it to the event's
 * instant if that is later, and an invocation that ends later moves it with `advanceTo`.
 */
export class SimClock<E extends { at: number }> {
  private heap: { e: E; seq: number }[] = [];
  private seq = 0;
  private current: number;

  constructor(startMs: number) {
    this.current = startMs;
  }

  /** The simulated instant, epoch ms. */
  get now(): number {
    return this.current;
  }

  /** Moves the clock to `ms` if that is later; never back. */
  advanceTo(ms: number): void {
    if (ms > this.current) this.current = ms;
  }

  /** Adds an event; one at the same instant as others comes after them. */
  schedule(e: E): void {
    const h = this.heap;
    h.push({ e, seq: this.seq++ });
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (before(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  /** When the next event is due; Infinity when none is. */
  nextAt(): number {
    return this.heap.length ? this.heap[0]!.e.at : Infinity;
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Takes the next event and moves the clock to it. */
  pop(): E | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    if (top) this.advanceTo(top.e.at);
    return top?.e;
  }
}

/** What the units read of the clock. */
export interface Now {
  readonly now: number;
}

const before = (a: { e: { at: number }; seq: number }, b: { e: { at: number }; seq: number }) => a.e.at < b.e.at || (a.e.at === b.e.at && a.seq < b.seq);

export const iso = (ms: number) => new Date(ms).toISOString();
