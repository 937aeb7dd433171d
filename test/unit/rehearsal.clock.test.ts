/** The rehearsal's simulated clock (tools/rehearsal/clock.ts): events in order of instant, ties in order of scheduling. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimClock } from '#tools/rehearsal/clock.ts';

type E = { at: number; name: string };

const drain = (c: SimClock<E>) => {
  const out: string[] = [];
  for (let e = c.pop(); e; e = c.pop()) out.push(e.name);
  return out;
};

describe('SimClock', () => {
  it('gives events in order of their instant, and those at the same instant in the order they were scheduled', () => {
    const c = new SimClock<E>(0);
    for (const [at, name] of [
      [30, 'c'],
      [10, 'a1'],
      [20, 'b'],
      [10, 'a2'],
      [10, 'a3'],
      [5, 'z'],
    ] as const)
      c.schedule({ at, name });
    expect(c.pending).toBe(6);
    expect(c.nextAt()).toBe(5);
    expect(drain(c)).toEqual(['z', 'a1', 'a2', 'a3', 'b', 'c']);
    expect(c.nextAt()).toBe(Infinity);
    expect(c.pop()).toBeUndefined();
  });

  it('moves to each event it gives, never back: an event already past leaves the clock where it is', () => {
    const c = new SimClock<E>(100);
    c.schedule({ at: 150, name: 'later' });
    c.schedule({ at: 50, name: 'past' });
    expect(c.pop()?.name).toBe('past');
    expect(c.now).toBe(100);
    expect(c.pop()?.name).toBe('later');
    expect(c.now).toBe(150);
    c.advanceTo(120);
    expect(c.now).toBe(150);
    c.advanceTo(400);
    expect(c.now).toBe(400);
  });

  it('an event scheduled while others are due at the same instant comes after them', () => {
    const c = new SimClock<E>(0);
    c.schedule({ at: 10, name: 'first' });
    c.schedule({ at: 10, name: 'second' });
    expect(c.pop()?.name).toBe('first');
    c.schedule({ at: 10, name: 'third' });
    c.schedule({ at: 9, name: 'earlier' });
    expect(drain(c)).toEqual(['earlier', 'second', 'third']);
  });

  it('any schedule is given back as a stable sort by instant (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (ats) => {
        const c = new SimClock<E>(0);
        ats.forEach((at, i) => c.schedule({ at, name: String(i) }));
        const expected = ats
          .map((at, i) => ({ at, i }))
          .sort((a, b) => a.at - b.at || a.i - b.i)
          .map((x) => String(x.i));
        expect(drain(c)).toEqual(expected);
      }),
    );
  });
});
