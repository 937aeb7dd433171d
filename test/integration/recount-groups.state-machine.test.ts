/**
 * The synthesized aggregation state machine's grouped branch, played by the rehearsal's interpreter
 * (tools/rehearsal/state-machines.ts, `aws-local-stepfunctions`): a generated season forced into
 * group mode (tiny `inlineShardLimit`, `ordersShardSize`, `shardGroupSize`), every task overridden
 * into the aggregate function's steps over the embedded stack. Each child execution's grants
 * (states:StartExecution, DescribeExecution, StopExecution) and each invocation are decided by the
 * IAM evaluation on the template's own role; one cut from the role fails the execution.
 *
 * What the interpreter does not exercise: it runs the distributed Map's children in-process (no real
 * child executions, their histories or their Standard/Express type), ignores ProcessorConfig and
 * tolerated failures, and reads no ItemReader.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deployment } from '#tools/rehearsal/assembly.ts';
import { Iam } from '#tools/rehearsal/iam.ts';
import { runExecution, stateMachineSpecs, type InvokeOutcome, type StateMachineSpec } from '#tools/rehearsal/state-machines.ts';
import { generateSeason } from '#tools/demo-season/season.ts';
import { aggregate, type AggregateOptions } from '#shared/usecases/aggregate.ts';
import { aggregationStep } from '#shared/usecases/fanout.ts';
import { aggregateStepPayload, parsePayload } from '#shared/payloads.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';
import { reference, renewal2024 } from '../support/reference.ts';
import { CAMPAIGN, newSeason, verdicts, type Season } from '../support/pipeline.ts';
import { synth } from '../infra/synth.ts';

const c = RENEWAL_2024;
const work = mkdtempSync(join(tmpdir(), 'renewal-recount-groups-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** 600 orders at 40 a shard, half again over: 23 shards, past the limit of 4, in 5 groups of at most 5. */
const SEASON = { providers: 10, orders: 600, seed: 20240229 };
const GROUPED: AggregateOptions = { ordersShardSize: 40, inlineShardLimit: 4, shardGroupSize: 5, overlapMs: 0 };

let d: Deployment;
let spec: StateMachineSpec;
beforeAll(() => {
  const built = synth({}, { outdir: join(work, 'cdk.out') });
  built.app.synth();
  d = new Deployment(join(work, 'cdk.out'));
  const iam = new Iam(d);
  spec = stateMachineSpecs(d, (role, name) => iam.principalOfRole(role, name)).find((s) => s.name === 'AggregationStateMachine')!;
  expect(spec).toBeDefined();
}, 120_000);

/** The aggregate function as Lambda would run it: the payload checked, the answer or the error as JSON. */
function aggregateFunction(s: Season) {
  const calls: string[] = [];
  const invoke = async (functionArn: string, payload: unknown): Promise<InvokeOutcome> => {
    calls.push(functionArn);
    try {
      const value = await aggregationStep(c, { ...s.stores, now: () => new Date() }, parsePayload(aggregateStepPayload, payload), GROUPED);
      return { ok: true, value: JSON.parse(JSON.stringify(value)) as unknown };
    } catch (err) {
      const e = err as Error;
      return { ok: false, error: { errorType: e.name, errorMessage: e.message } };
    }
  };
  return { calls, invoke };
}

describe('the aggregation state machine’s grouped branch, through the interpreter', () => {
  it('a full recount planned as groups runs every shard once through the distributed Map, and the decisions equal the reference', async () => {
    const g = generateSeason(SEASON);
    const s = await newSeason();
    expect((await s.feed(g.lines, { concurrency: 8 })).failed).toBe(0);
    const iam = new Iam(d);
    const fn = aggregateFunction(s);
    const r = await runExecution(spec, { campaignId: CAMPAIGN, full: true }, { iam, invoke: fn.invoke });
    expect(r).toMatchObject({ status: 'SUCCEEDED', denied: 0, output: { status: 'done', mode: 'full', shards: 23, fence: 1 } });
    expect(r.attempts).toEqual({ Plan: 1, GroupShard: 23, FinishGroups: 1 });
    expect(new Set(fn.calls)).toEqual(new Set([spec.startFunctionArn]));
    // Each of the 5 children was started, described and stoppable with the state machine's own role.
    const childCalls = [...iam.calls.values()].filter((x) => x.action.startsWith('states:'));
    expect(childCalls.map((x) => [x.action, x.resource, x.count, x.allowed])).toEqual([
      ['states:StartExecution', spec.arn, 5, true],
      ['states:DescribeExecution', expect.stringMatching(/:execution:.*:rehearsal-/), 5, true],
      ['states:StopExecution', expect.stringMatching(/:execution:.*:rehearsal-/), 5, true],
    ]);

    // The counts are those of the season: the same figures as an inline recount, and the reference's decisions.
    const inline = await aggregate(c, { ...s.stores, now: () => new Date() }, { full: true, overlapMs: 0 });
    const out = r.output as { ordersSeen: number; storesRecounted: number };
    expect(inline).toMatchObject({ status: 'done', shards: 1, ordersSeen: out.ordersSeen, storesRecounted: out.storesRecounted, storeDaysWritten: 0 });
    const decided = await s.evaluate({ campaignId: CAMPAIGN, thresholdOrders: g.thresholdOrders });
    expect(verdicts(decided.assessments)).toEqual(verdicts(reference(renewal2024(g.thresholdOrders), g.lines).decisions));
  });

  it('states:StartExecution cut from the role: the first child is denied as AWS words it, no shard runs, and the watermark stays', async () => {
    const s = await newSeason();
    const g = generateSeason(SEASON);
    expect((await s.feed(g.lines, { concurrency: 8 })).failed).toBe(0);
    const cut: StateMachineSpec = {
      ...spec,
      principal: {
        ...spec.principal,
        policies: spec.principal.policies.map((p) => ({ ...p, document: { ...p.document, Statement: p.document.Statement.filter((st) => JSON.stringify(st.Action) !== '"states:StartExecution"') } })),
      },
    };
    const iam = new Iam(d);
    const r = await runExecution(cut, { campaignId: CAMPAIGN, full: true }, { iam, invoke: aggregateFunction(s).invoke });
    expect(r).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(r.cause).toBe(Iam.deniedMessage(spec.principal, 'states:StartExecution', spec.arn));
    expect(r.denied).toBeGreaterThan(0);
    expect(r.attempts.GroupShard ?? 0).toBe(0);
    expect(r.attempts.FinishGroups).toBeUndefined();
    expect(await s.stores.aggregates.watermark(CAMPAIGN)).toBeUndefined();
  });
});
