/**
 * IAM as the deployment defines it: each principal (a function's execution role, a schedule's role)
 * with the identity policies the template attaches to its role, every request checked by a kept IAM
 * evaluation library (`@cloud-copilot/iam-simulate`), never by a matcher of our own. Every call is
 * counted per principal, action and resource, and every grant (action × resource of an Allow
 * statement) is checked for use at the end.
 *
 * A grant that the code never uses on purpose (a rare path the season does not take, or a grant a CDK
 * construct adds that the platform does not exercise) is acknowledged in the template itself: the
 * role carries `Metadata["renewal:acknowledged-grants"]`, a list of `{ action, resource?, reason }`,
 * written by the CDK app where the grant is made (cdk/function.ts `acknowledgeGrant`).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { ACKNOWLEDGED_GRANTS_KEY } from '../../cdk/names.ts';
import { ACCOUNT, type Deployment, type Json, type Resource } from './assembly.ts';

export interface Principal {
  /** How the rehearsal names it: the function (`intake`) or the schedule (`AggregationSchedule`). */
  name: string;
  roleArn: string;
  /** The assumed-role session ARN AWS would name in an AccessDenied message. */
  sessionArn: string;
  policies: { name: string; document: PolicyDocument }[];
  acknowledged: { action: string; resource?: string; reason: string }[];
}

export interface PolicyDocument {
  Version?: string;
  Statement: Statement[];
}
interface Statement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, unknown>;
  Principal?: unknown;
}

export interface CallRecord {
  principal: string;
  action: string;
  resource: string;
  count: number;
  allowed: boolean;
}

export interface Grant {
  principal: string;
  action: string;
  resource: string;
  acknowledged?: string;
}

export interface Denial {
  principal: string;
  action: string;
  resource: string;
  message: string;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export class Iam {
  /**
   * Decisions already made, by everything a decision depends on: the principal (its policies), the
   * action, the resource, the request's context and the resource's policy. The evaluation is a pure
   * function of these, so an identical request is answered by the same decision without asking the
   * library again; any input that differs asks it anew.
   */
  private readonly decisions = new WeakMap<Principal, Map<string, Promise<boolean>>>();
  private readonly serviceDecisions = new Map<string, Promise<boolean>>();
  readonly calls = new Map<string, CallRecord>();
  /** How often the library was asked (a decision not found among those made). */
  evaluations = 0;

  constructor(private readonly deployment: Deployment) {}
  /** The principal behind an `AWS::IAM::Role` resource, with every policy the template attaches to it. */
  principalOfRole(role: Resource, name: string): Principal {
    const d = this.deployment;
    const roleName = d.physicalName(role);
    const policies: Principal['policies'] = [];
    const acknowledged: Principal['acknowledged'] = [];
    const props = d.props<{ Policies?: { PolicyName: string; PolicyDocument: PolicyDocument }[]; ManagedPolicyArns?: string[] }>(role);
    for (const p of props.Policies ?? []) policies.push({ name: p.PolicyName, document: p.PolicyDocument });
    if (props.ManagedPolicyArns?.length) throw new Error(`${role.logicalId}: managed policies (${props.ManagedPolicyArns.join(', ')}) are not in the template, so the rehearsal cannot check them`);
    for (const policy of d.resourcesOfType('AWS::IAM::Policy')) {
      const roles = (policy.properties.Roles ?? []) as Json[];
      if (!roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: role.logicalId }))) continue;
      const pp = d.props<{ PolicyName: string; PolicyDocument: PolicyDocument }>(policy);
      policies.push({ name: pp.PolicyName, document: pp.PolicyDocument });
      acknowledged.push(...(d.resolve(policy.metadata[ACKNOWLEDGED_GRANTS_KEY] ?? [], policy.stack) as Principal['acknowledged']));
    }
    acknowledged.push(...(d.resolve(role.metadata[ACKNOWLEDGED_GRANTS_KEY] ?? [], role.stack) as Principal['acknowledged']));
    return {
      name,
      roleArn: d.getAtt(role, 'Arn'),
      sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${name}`,
      policies,
      acknowledged,
    };
  }

  /**
   * Whether `principal` may perform `action` on `resource`, as AWS would decide it from the identity
   * policies and, where given, the resource's own policy. Counts the call either way.
   */
  async authorize(principal: Principal, action: string, resource: string, opts: { resourcePolicy?: PolicyDocument; context?: Record<string, string> } = {}): Promise<boolean> {
    let made = this.decisions.get(principal);
    if (!made) this.decisions.set(principal, (made = new Map()));
    const key = decisionKey(action, resource, opts.context, opts.resourcePolicy);
    let decided = made.get(key);
    if (!decided) {
      this.evaluations++;
      decided = evaluate(
        principal.sessionArn,
        principal.policies.map((p) => ({ name: p.name, policy: p.document })),
        action,
        resource,
        opts,
      );
      made.set(key, decided);
    }
    const allowed = await decided;
    this.count(principal.name, action, resource, allowed);
    return allowed;
  }

  /**
   * Whether an AWS service (`ses.amazonaws.com`, `sns.amazonaws.com`) may act on a resource of this
   * account, as the resource's own policy decides it (a topic policy, a Lambda permission).
   */
  async authorizeService(service: string, action: string, resource: string, resourcePolicy: PolicyDocument | undefined, context: Record<string, string>): Promise<boolean> {
    const key = `${service}\u0000${decisionKey(action, resource, context, resourcePolicy)}`;
    let decided = this.serviceDecisions.get(key);
    if (!decided) {
      this.evaluations++;
      decided = resourcePolicy ? evaluate(service, [], action, resource, { resourcePolicy, context }) : Promise.resolve(false);
      this.serviceDecisions.set(key, decided);
    }
    const allowed = await decided;
    this.count(service, action, resource, allowed, JSON.stringify(context));
    return allowed;
  }

  /** Counts a call per principal, action and resource (a service's calls per context too). */
  private count(principal: string, action: string, resource: string, allowed: boolean, context?: string): void {
    const key = `${principal}\u0000${action}\u0000${resource}${context === undefined ? '' : `\u0000${context}`}`;
    const rec = this.calls.get(key) ?? { principal, action, resource, count: 0, allowed };
    rec.count++;
    this.calls.set(key, rec);
  }

  /** The message AWS gives for a refused call. */
  static deniedMessage(principal: Principal, action: string, resource: string): string {
    return `User: ${principal.sessionArn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
  }

  /**
   * Every grant of these principals (action × resource of an Allow statement) that no allowed call
   * used. Whether a call falls under a grant is asked of the same library, with that grant alone.
   */
  async unusedGrants(principals: Principal[]): Promise<Grant[]> {
    const out: Grant[] = [];
    for (const p of principals) {
      const calls = [...this.calls.values()].filter((c) => c.principal === p.name && c.allowed);
      for (const policy of p.policies) {
        for (const st of policy.document.Statement) {
          if (st.Effect !== 'Allow' || st.NotAction) continue;
          for (const action of list(st.Action)) {
            for (const resource of list(st.Resource)) {
              const single: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: resource, ...(st.Condition ? { Condition: st.Condition } : {}) }] };
              let used = false;
              for (const c of calls) {
                if (!actionMayMatch(action, c.action)) continue;
                if (await evaluate(p.sessionArn, [{ name: 'grant', policy: single }], c.action, c.resource, {})) {
                  used = true;
                  break;
                }
              }
              if (used) continue;
              const ack = p.acknowledged.find((a) => a.action === action && (a.resource === undefined || a.resource === resource));
              out.push({ principal: p.name, action, resource, ...(ack ? { acknowledged: ack.reason } : {}) });
            }
          }
        }
      }
    }
    return out;
  }

  denials(): CallRecord[] {
    return [...this.calls.values()].filter((c) => !c.allowed);
  }
}

/** The JSON of a frozen object (the gateway's one context), made once; any other object's, each time. */
const jsonOf = new WeakMap<object, string>();
const memoJson = (o: object, make: () => string) => {
  if (!Object.isFrozen(o)) return make();
  let json = jsonOf.get(o);
  if (json === undefined) jsonOf.set(o, (json = make()));
  return json;
};

/** Everything a principal's decision depends on besides the principal itself, as one key. */
function decisionKey(action: string, resource: string, context: Record<string, string> | undefined, resourcePolicy: PolicyDocument | undefined): string {
  const policy = resourcePolicy ? memoJson(resourcePolicy, () => JSON.stringify(resourcePolicy)) : '';
  const ctx = context ? memoJson(context, () => JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))) : '';
  return `${action}\u0000${resource}\u0000${ctx}\u0000${policy}`;
}

/** A cheap pre-filter before asking the library: the service prefixes must agree. */
function actionMayMatch(pattern: string, action: string): boolean {
  const [ps] = pattern.split(':');
  const [as] = action.split(':');
  return pattern === '*' || ps?.toLowerCase() === as?.toLowerCase();
}

async function evaluate(
  principal: string,
  identityPolicies: { name: string; policy: PolicyDocument }[],
  action: string,
  resource: string,
  opts: { resourcePolicy?: PolicyDocument; context?: Record<string, string> },
): Promise<boolean> {
  const result = await runSimulation(
    {
      request: { principal, action, resource: { resource, accountId: ACCOUNT }, contextVariables: opts.context ?? {} },
      identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(opts.resourcePolicy ? { resourcePolicy: opts.resourcePolicy } : {}),
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`IAM simulation of ${action} on ${resource} failed: ${result.errors.message}`);
  return result.overallResult === 'Allowed';
}
