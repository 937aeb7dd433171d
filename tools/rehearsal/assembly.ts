/**
 * A synthesized cloud assembly (`cdk.out`) as the rehearsal deploys it: the stacks of its manifest in
 * dependency order, their templates with every intrinsic resolved against local physical names, the
 * way CloudFormation would resolve them in one account and region.
 *
 * Physical names follow CloudFormation's scheme (`<stack>-<logical id>-<suffix>`), with a fixed suffix
 * so a rehearsal is repeatable. Nothing here knows this app: it reads any template of the resource
 * types below, and refuses an intrinsic or attribute it cannot resolve rather than guessing.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RenewalError } from '#shared/errors.ts';

export const ACCOUNT = '123456789012';
export const REGION = 'ap-southeast-1';
export const PARTITION = 'aws';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Resource {
  logicalId: string;
  type: string;
  /** The properties as written in the template, intrinsics unresolved. */
  properties: Record<string, Json>;
  metadata: Record<string, Json>;
  stack: DeployedStack;
}

export interface DeployedStack {
  /** Construct id in the app (`App`, `Data`). */
  id: string;
  stackName: string;
  template: {
    Resources: Record<string, { Type: string; Properties?: Record<string, Json>; Metadata?: Record<string, Json> }>;
    Parameters?: Record<string, { Type: string; Default?: string }>;
    Outputs?: Record<string, { Value: Json; Export?: { Name: Json } }>;
  };
  resources: Map<string, Resource>;
  parameters: Record<string, string>;
  outputs: Record<string, Json>;
}

export class AssemblyError extends RenewalError {
  override name = 'AssemblyError';
}

interface Manifest {
  artifacts: Record<string, { type: string; properties?: { templateFile?: string; stackName?: string }; dependencies?: string[] }>;
}

/**
 * The deployed view of an assembly: every stack resolved in dependency order, exports shared between
 * them. `parameters` gives values for template parameters (by name, for every stack that declares
 * one), as `cdk deploy --parameters` would; a parameter with neither a value nor a default is an error
 * naming it, as CloudFormation's.
 */
export class Deployment {
  readonly stacks: DeployedStack[] = [];
  private readonly exports = new Map<string, Json>();

  constructor(
    readonly dir: string,
    parameters: Record<string, string> = {},
  ) {
    const manifestFile = join(dir, 'manifest.json');
    if (!existsSync(manifestFile)) throw new AssemblyError(`${dir} is not a cloud assembly: no manifest.json (synthesize one with npx cdk synth -o ${dir})`);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
    const stackIds = Object.entries(manifest.artifacts)
      .filter(([, a]) => a.type === 'aws:cloudformation:stack')
      .map(([id]) => id);
    for (const id of topological(stackIds, (s) => (manifest.artifacts[s]!.dependencies ?? []).filter((d) => stackIds.includes(d)))) {
      const a = manifest.artifacts[id]!;
      const template = JSON.parse(readFileSync(join(dir, a.properties!.templateFile!), 'utf8')) as DeployedStack['template'];
      const stack: DeployedStack = { id, stackName: a.properties?.stackName ?? id, template, resources: new Map(), parameters: {}, outputs: {} };
      for (const [name, p] of Object.entries(template.Parameters ?? {})) {
        if (p.Type.startsWith('AWS::SSM::Parameter::Value')) continue; // the bootstrap version: not ours to check
        const value = parameters[name] ?? p.Default;
        if (value === undefined) throw new AssemblyError(`stack ${stack.stackName}: the CloudFormation parameter ${name} is missing a value (cdk deploy --parameters ${name}=…)`);
        stack.parameters[name] = value;
      }
      for (const [logicalId, r] of Object.entries(template.Resources)) {
        stack.resources.set(logicalId, { logicalId, type: r.Type, properties: r.Properties ?? {}, metadata: r.Metadata ?? {}, stack });
      }
      for (const [name, o] of Object.entries(template.Outputs ?? {})) {
        const value = this.resolve(o.Value, stack);
        stack.outputs[name] = value;
        if (o.Export) this.exports.set(String(this.resolve(o.Export.Name, stack)), value);
      }
      this.stacks.push(stack);
    }
  }

  /** Every resource of a type, in all stacks. */
  resourcesOfType(type: string): Resource[] {
    return this.stacks.flatMap((s) => [...s.resources.values()].filter((r) => r.type === type));
  }

  /** The resource with this logical id (in `stack`, or in any stack when the id is unique). */
  resource(logicalId: string, stack?: DeployedStack): Resource {
    const found = stack ? stack.resources.get(logicalId) : this.stacks.map((s) => s.resources.get(logicalId)).find(Boolean);
    if (!found) throw new AssemblyError(`no resource ${logicalId}${stack ? ` in ${stack.stackName}` : ''}`);
    return found;
  }

  /** A resource's properties with every intrinsic resolved. */
  props<T = Record<string, Json>>(r: Resource): T {
    return this.resolve(r.properties, r.stack) as T;
  }

  /** `Ref` of a resource: what CloudFormation returns for it (a name, a URL or an ARN, by type). */
  ref(r: Resource): string {
    const name = this.physicalName(r);
    switch (r.type) {
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
      case 'AWS::SNS::Topic':
        return arn('sns', name);
      case 'AWS::SES::EmailIdentity':
        return String(this.resolve(r.properties.EmailIdentity!, r.stack));
      case 'AWS::StepFunctions::StateMachine':
        return arn('states', `stateMachine:${name}`);
      default:
        return name;
    }
  }

  /** `Fn::GetAtt`. */
  getAtt(r: Resource, attribute: string): string {
    const name = this.physicalName(r);
    const known: Record<string, Record<string, () => string>> = {
      'AWS::DynamoDB::Table': { Arn: () => arn('dynamodb', `table/${name}`) },
      'AWS::Lambda::Function': { Arn: () => arn('lambda', `function:${name}`) },
      'AWS::IAM::Role': { Arn: () => `arn:${PARTITION}:iam::${ACCOUNT}:role/${name}`, RoleId: () => `AROA${hash(name, 16).toUpperCase()}` },
      'AWS::SQS::Queue': { Arn: () => arn('sqs', name), QueueName: () => name, QueueUrl: () => this.ref(r) },
      'AWS::SNS::Topic': { TopicArn: () => arn('sns', name), TopicName: () => name },
      'AWS::Logs::LogGroup': { Arn: () => `${arn('logs', `log-group:${name}`)}:*` },
      'AWS::Scheduler::ScheduleGroup': { Arn: () => arn('scheduler', `schedule-group/${name}`) },
      'AWS::Scheduler::Schedule': { Arn: () => arn('scheduler', `schedule/${String(this.resolve(r.properties.GroupName ?? 'default', r.stack))}/${name}`) },
      'AWS::S3::Bucket': {
        Arn: () => `arn:${PARTITION}:s3:::${name}`,
        DomainName: () => `${name}.s3.amazonaws.com`,
        RegionalDomainName: () => `${name}.s3.${REGION}.amazonaws.com`,
      },
      'AWS::CloudFront::Distribution': { DomainName: () => `${hash(name, 14)}.cloudfront.net`, Id: () => name },
      'AWS::CloudFront::OriginAccessControl': { Id: () => name },
      'AWS::SES::EmailIdentity': {},
      'AWS::StepFunctions::StateMachine': { Arn: () => this.ref(r), Name: () => name },
    };
    const get = known[r.type]?.[attribute];
    if (!get) throw new AssemblyError(`Fn::GetAtt ${r.logicalId}.${attribute} (${r.type}): not an attribute the rehearsal knows`);
    return get();
  }

  /**
   * The physical name of a resource: its name property when the template sets one, else
   * CloudFormation's generated `<stack>-<logical id>-<suffix>` (FIFO queues end in `.fifo`).
   */
  physicalName(r: Resource): string {
    const nameProperty: Record<string, string> = {
      'AWS::DynamoDB::Table': 'TableName',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::IAM::Role': 'RoleName',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::SNS::Topic': 'TopicName',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::Scheduler::ScheduleGroup': 'Name',
      'AWS::Scheduler::Schedule': 'Name',
      'AWS::SES::ConfigurationSet': 'Name',
      'AWS::S3::Bucket': 'BucketName',
      'AWS::StepFunctions::StateMachine': 'StateMachineName',
    };
    const prop = nameProperty[r.type];
    const given = prop ? r.properties[prop] : undefined;
    if (given !== undefined) return String(this.resolve(given, r.stack));
    const base = `${r.stack.stackName}-${r.logicalId.replace(/[0-9A-F]{8}$/, '')}`.slice(0, 48);
    const generated = `${base}-${hash(`${r.stack.stackName}/${r.logicalId}`, 12).toUpperCase()}`;
    if (r.type === 'AWS::SQS::Queue' && r.properties.FifoQueue === true) return `${generated}.fifo`;
    if (r.type === 'AWS::S3::Bucket') return generated.toLowerCase();
    if (r.type === 'AWS::Logs::LogGroup') return `/aws/${r.stack.stackName}/${r.logicalId}`;
    return generated;
  }

  /** Resolves every intrinsic in `value`, as CloudFormation does when it creates `stack`. */
  resolve(value: Json, stack: DeployedStack): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, stack));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'))) return this.intrinsic(keys[0]!, value[keys[0]!]!, stack);
    return Object.fromEntries(keys.map((k) => [k, this.resolve(value[k]!, stack)]));
  }

  private intrinsic(fn: string, arg: Json, stack: DeployedStack): Json {
    switch (fn) {
      case 'Ref': {
        const name = String(arg);
        const pseudo: Record<string, string> = {
          'AWS::AccountId': ACCOUNT,
          'AWS::Region': REGION,
          'AWS::Partition': PARTITION,
          'AWS::URLSuffix': 'amazonaws.com',
          'AWS::StackName': stack.stackName,
          'AWS::StackId': arn('cloudformation', `stack/${stack.stackName}/${hash(stack.stackName, 8)}`),
          'AWS::NoValue': '',
        };
        if (name in pseudo) return pseudo[name]!;
        if (name in stack.parameters) return stack.parameters[name]!;
        return this.ref(this.resource(name, stack));
      }
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(arg) ? (arg as string[]) : String(arg).split(/\.(.*)/);
        return this.getAtt(this.resource(id!, stack), attribute!);
      }
      case 'Fn::ImportValue': {
        const name = String(this.resolve(arg, stack));
        if (!this.exports.has(name)) throw new AssemblyError(`Fn::ImportValue ${name}: no stack exports it`);
        return this.exports.get(name)!;
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, Json[]];
        return (this.resolve(parts, stack) as Json[]).map(String).join(sep);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [number | string, Json];
        const items = this.resolve(list, stack) as Json[];
        const i = Number(this.resolve(index, stack));
        if (!Array.isArray(items) || i >= items.length) throw new AssemblyError(`Fn::Select ${i}: out of range`);
        return items[i]!;
      }
      case 'Fn::Split': {
        const [sep, source] = arg as [string, Json];
        return String(this.resolve(source, stack)).split(sep);
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, Json>]) : [String(arg), {}];
        return text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
          if (name in vars) return String(this.resolve(vars[name]!, stack));
          if (name.includes('.')) {
            const [id, attribute] = name.split(/\.(.*)/) as [string, string];
            return this.getAtt(this.resource(id, stack), attribute);
          }
          return String(this.intrinsic('Ref', name, stack));
        });
      }
      default:
        throw new AssemblyError(`${fn}: an intrinsic the rehearsal does not resolve`);
    }
  }
}

/** The directory of a Lambda function's code in the assembly (`aws:asset:path`). */
export function assetDir(deployment: Deployment, fn: Resource): string {
  const path = fn.metadata['aws:asset:path'];
  if (typeof path !== 'string') throw new AssemblyError(`${fn.logicalId}: no bundled code in the assembly (synthesized with bundling=false?)`);
  return resolve(deployment.dir, path);
}

export const arn = (service: string, resource: string) => `arn:${PARTITION}:${service}:${REGION}:${ACCOUNT}:${resource}`;

const hash = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

function topological(ids: string[], deps: (id: string) => string[]): string[] {
  const out: string[] = [];
  const visiting = new Set<string>();
  const visit = (id: string) => {
    if (out.includes(id)) return;
    if (visiting.has(id)) throw new AssemblyError(`stacks depend on each other in a cycle through ${id}`);
    visiting.add(id);
    for (const d of deps(id)) visit(d);
    visiting.delete(id);
    out.push(id);
  };
  for (const id of ids) visit(id);
  return out;
}
