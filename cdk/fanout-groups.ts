/**
 * The grouped branch of a season job's state machine (cdk/fanout.ts): what runs a plan that answers
 * `{"mode":"groups","segments":N,"groups":[{"from","to"},…]}` (shared/usecases/recount-groups.ts), the
 * aggregation's full recount past `FANOUT.inlineShardLimit` shards.
 *
 *   Grouped? ─(mode = groups)─► Groups (distributed Map over $.groups, one child execution per group)
 *                                 └─ child: GroupRange (Pass: States.ArrayRange(from, to, 1))
 *                                           ─► GroupShards (inline Map over the indices, mapConcurrency at a time)
 *                                                └─ GroupShard (the function, "step":"shard", {"kind":"segment","segment":i,"segments":N})
 *                               ─► FinishGroups (no results: the shards' figures are in the store)
 *
 * Why a distributed Map of groups: at Douyin's volume a full recount is 81,900 shards. Their
 * descriptors (~4 MB) do not fit a state's 256 KiB, one execution's history (25,000 events, ~7 per
 * inline iteration) holds some 3,500 of them, and an inline Map runs at most 40 at a time. 82 groups
 * of ≤ 1,000 indices are ~2 KB; each child execution has its own history (≤ 1,000 shards, ~7,000
 * events) and builds its descriptors itself; the distributed Map runs up to 10,000 children at once.
 * `States.ArrayRange` makes at most 1,000 items: the group size's bound.
 *
 * Why STANDARD children, not EXPRESS: an Express child may run 5 minutes; a group of 1,000 shards of
 * ~81 s each at 40 at a time runs ~34 minutes (at 10 at a time, over 2 hours). Standard children cost
 * per state transition, the same as the parent's.
 *
 * Nothing grows with the shards on the way back: each GroupShard answers `{"status"}` only, each child
 * answers `{"shards": n}` (the inline Map's ResultSelector), and the distributed Map's result is
 * discarded (ResultPath null), so finish gets the plan's few fields.
 *
 * IAM: CDK attaches a `DistributedMapPolicy` to the role: states:StartExecution on this state machine,
 * states:DescribeExecution and states:StopExecution on its executions (`execution:<name>:*`, as the
 * Step Functions guide's "IAM policies for using Distributed Map states" has it), and, the Map being
 * labelled, states:RedriveExecution on that label's child executions only (`execution:<name>/Groups:*`).
 */
import { JsonPath, Condition, DistributedMap, Map as MapState, Pass, StateMachineType, type Chain, type CustomState, type StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Policy } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { acknowledgeGrant } from './function.ts';

export interface ShardGroupsProps {
  /** Groups run at once: the distributed Map's MaxConcurrency (cdk/config.ts `groupConcurrency`, 1 to 10,000). */
  concurrency: number;
}

/** The job's Lambda task builder of cdk/fanout.ts: the same integration, timeout and result handling for every step. */
export type InvokeTask = (stateId: string, comment: string, payload: Record<string, unknown>, retry: object[], extra?: Record<string, unknown>) => CustomState;

/** Why the aggregate function may Query the aggregates table: only a grouped recount's finish does. */
export const GROUPED_FINISH_QUERY =
  "A grouped full recount's finish reads its shards' figures with one Query of the run's partition (shared/usecases/recount-groups.ts); only a full recount of more than FANOUT.inlineShardLimit shards is grouped, which the demo season never reaches";

/** The label of the distributed Map: its child executions are `execution:<state machine>/Groups:<id>`. */
export const GROUPS_LABEL = 'Groups';

/** The run's fields every step receives (shared/payloads.ts), and what a group's states carry besides. */
const STEP_RUN = { 'campaignId.$': '$.campaignId', 'runId.$': '$.runId', 'fence.$': '$.fence', 'context.$': '$.context' };
const RUN = { ...STEP_RUN, 'segments.$': '$.segments' };

/** The grouped branch and the condition that takes it. */
export function shardGroupsBranch(
  scope: Construct,
  p: { job: string; groups: ShardGroupsProps; mapConcurrency: number; invoke: InvokeTask; shardRetry: object[]; finishRetry: object[] },
): { condition: Condition; chain: Chain } {
  if (!Number.isInteger(p.groups.concurrency) || p.groups.concurrency < 1 || p.groups.concurrency > 10_000) {
    throw new Error(`groupConcurrency ${p.groups.concurrency}: a distributed Map runs 1 to 10,000 child executions at a time`);
  }
  // Only the status comes back, so the group's results stay ~20 bytes per shard.
  const shard = p.invoke('GroupShard', `One shard of the ${p.job} (a segment of a group), written under the run's fence`, { 'Payload.$': '$' }, p.shardRetry, {
    ResultSelector: { 'status.$': '$.Payload.status' },
    OutputPath: '$',
  });
  const shards = new MapState(scope, 'GroupShards', {
    comment: `The group's shards, ${p.mapConcurrency} at a time`,
    itemsPath: '$.indices',
    maxConcurrency: p.mapConcurrency,
    itemSelector: { ...STEP_RUN, step: 'shard', shard: { kind: 'segment', 'segment.$': '$$.Map.Item.Value', 'segments.$': '$.segments' } },
    resultSelector: { 'shards.$': 'States.ArrayLength($)' },
  });
  shards.itemProcessor(shard);
  const range = new Pass(scope, 'GroupRange', {
    comment: "The group's shard indices, from and to included (States.ArrayRange makes at most 1,000)",
    parameters: { ...RUN, 'indices.$': 'States.ArrayRange($.from, $.to, 1)' },
  });
  const groups = new DistributedMap(scope, 'Groups', {
    comment: `The ${p.job}'s groups of shards, ${p.groups.concurrency} child executions at a time`,
    label: GROUPS_LABEL,
    itemsPath: '$.groups',
    maxConcurrency: p.groups.concurrency,
    mapExecutionType: StateMachineType.STANDARD,
    itemSelector: { ...RUN, 'from.$': '$$.Map.Item.Value.from', 'to.$': '$$.Map.Item.Value.to' },
    resultPath: JsonPath.DISCARD,
  });
  groups.itemProcessor(range.next(shards));
  const finish = p.invoke('FinishGroups', `Finish the ${p.job}: sum the figures the shards recorded, record the run, give the lock back`, { Payload: { ...STEP_RUN, step: 'finish' } }, p.finishRetry);
  // A plan without `mode` (an inline plan, another job's) takes the inline branch.
  return { condition: Condition.and(Condition.isPresent('$.mode'), Condition.stringEquals('$.mode', 'groups')), chain: groups.next(finish) };
}

/**
 * The policy CDK attached for the distributed Map (see the module comment), its grants acknowledged on
 * the role: only a full recount past the inline limit uses them, which a demo season never reaches.
 */
export function acknowledgeGroupGrants(stateMachine: StateMachine): Policy {
  const policy = stateMachine.node.tryFindChild('DistributedMapPolicy') as Policy | undefined;
  if (!policy) throw new Error(`${stateMachine.node.path}: no DistributedMapPolicy (CDK attaches one for a distributed Map)`);
  const why = (what: string) =>
    `${what}; only a full recount of more than FANOUT.inlineShardLimit shards (the grouped plan) takes the distributed Map, which the demo season never reaches (test/integration/recount-groups.state-machine.test.ts plays it)`;
  acknowledgeGrant(stateMachine.role, 'states:StartExecution', why("The distributed Map starts each group's child execution of this state machine with this role"));
  acknowledgeGrant(stateMachine.role, 'states:DescribeExecution', why('The distributed Map describes the executions of this state machine with this role'));
  acknowledgeGrant(stateMachine.role, 'states:StopExecution', why('The distributed Map stops the other children when one fails (no failure is tolerated) with this role'));
  acknowledgeGrant(stateMachine.role, 'states:RedriveExecution', 'Only when ops redrive a failed execution: its Map Run redrives the failed child executions of the Groups label with this role');
  return policy;
}
