/**
 * The state transitions the cost model counts per execution (tools/bench/cost.ts), against the states
 * of the synthesized definition written out by hand (test/infra/state-machines.test.ts asserts them).
 */
import { describe, expect, it } from 'vitest';
import { evaluationStateTransitions, groupedStateTransitions, stateTransitions, transitionsUsd } from '#tools/bench/cost.ts';

describe('state transitions of the season jobs', () => {
  it('an inline run: Plan, Busy, Grouped, Shards, one Shard each, Finish; a retry adds one', () => {
    expect(stateTransitions(0)).toBe(5);
    expect(stateTransitions(10)).toBe(15);
    expect(stateTransitions(10, 2)).toBe(17);
  });

  it('a grouped full recount: Plan, Busy, Grouped, Groups, per group GroupRange and GroupShards, one GroupShard each, FinishGroups', () => {
    expect(groupedStateTransitions(23, 5)).toBe(5 + 10 + 23);
    // Douyin's full recount: 81,900 shards in 82 groups.
    expect(groupedStateTransitions(81_900, 82)).toBe(82_069);
    expect(transitionsUsd(82_069)).toBeCloseTo(2.05, 2);
    // A season of 15-minute runs of 10 shards each (8,736 runs).
    expect(transitionsUsd(stateTransitions(10) * 8_736)).toBeCloseTo(3.28, 2);
  });

  it('an evaluation: Plan, Busy, Shards, one Shard each, Finish (no grouped branch); 50,000 providers in 10 shards', () => {
    expect(evaluationStateTransitions(0)).toBe(4);
    expect(evaluationStateTransitions(10)).toBe(14);
    expect(evaluationStateTransitions(10, 3)).toBe(17);
    expect(transitionsUsd(evaluationStateTransitions(10))).toBeCloseTo(0.00035, 5);
  });
});
