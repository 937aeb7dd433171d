import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack, type CfnResource } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, type DestinationConfig, type IDestination, type IFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/metric-names.ts';
import { ENV } from '#shared/config.ts';
import { accessOf, type BucketId, type DynamoAction, type StoreUse } from '#shared/store/access.ts';
import { ACKNOWLEDGED_GRANTS_KEY } from './names.ts';
import { TABLES, type TableId } from '#shared/tables.ts';

/** The repository root: entries, package.json (for the `#shared/*` imports) and the lock file live here. */
export const PROJECT_ROOT = join(import.meta.dirname, '..');

/** The only actions that act on an index. */
const INDEX_ACTIONS: readonly DynamoAction[] = ['Query', 'Scan'];

/**
 * Records on `role` that `action` (on `resource`, or on every resource it is granted on) serves a path
 * a season may not take, and why.
 */
export function acknowledgeGrant(role: IRole, action: string, reason: string, resource?: string): void {
  const cfn = role.node.defaultChild as CfnResource;
  const list = (cfn.getMetadata(ACKNOWLEDGED_GRANTS_KEY) ?? []) as { action: string; resource?: string; reason: string }[];
  cfn.addMetadata(ACKNOWLEDGED_GRANTS_KEY, [...list, { action, ...(resource ? { resource } : {}), reason }]);
}

export interface RenewalFunctionProps {
  /** Entry `functions/<entry>.ts`, which exports `handler`. */
  entry: string;
  description: string;
  /** @default 30 seconds */
  timeout?: Duration;
  /** @default 512 */
  memorySize?: number;
  logRetention: RetentionDays;
  /** RETAIN keeps the logs of a deleted stack (production). */
  logRemovalPolicy: RemovalPolicy;
  /** POWERTOOLS_LOG_LEVEL. */
  logLevel: string;
  /** Active X-Ray tracing. @default false */
  tracing?: boolean;
  /** Bundle the entry with esbuild (no Docker). false: a placeholder, for template-only tests. */
  bundle: boolean;
  /** esbuild `define`s of the bundle: the synthesized campaigns (shared/campaigns.ts `campaignBundleDefine`). */
  define?: Record<string, string>;
}

/**
 * What every function of a stage shares (its logs, log level, tracing, bundling and the campaigns it
 * carries): the stack builds it once and each part of the stack (cdk/intake-pipeline.ts, …) spreads it.
 */
export type FunctionDefaults = Pick<RenewalFunctionProps, 'logRetention' | 'logRemovalPolicy' | 'logLevel' | 'tracing' | 'bundle' | 'define'>;

/**
 * A function of this app with its defaults: Node.js 24 (`nodejs24.x`) on arm64, an ESM bundle built by the local
 * esbuild (never Docker) with source maps, its own log group with a retention, the Powertools
 * environment, and a role of its own that starts with nothing but writing to that log group.
 *
 * Access is added only through the `use…` methods, each of which grants exactly the named actions on
 * exactly the named resources AND sets the environment variable that tells the code where they are,
 * so a function cannot have an env var it has no access behind, or access it does not know about.
 */
export class RenewalFunction extends NodejsFunction {
  /** The function's own log group (retention, removal policy). */
  readonly logs: LogGroup;
  private readonly usedTables = new Set<TableId>();

  constructor(scope: Construct, id: string, props: RenewalFunctionProps) {
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.entry} function`,
    });
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    const entry = join(PROJECT_ROOT, 'functions', `${props.entry}.ts`);
    super(scope, id, {
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      role,
      logGroup,
      tracing: props.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: props.logLevel,
      },
      ...(props.bundle
        ? {
            entry,
            handler: 'handler',
            projectRoot: PROJECT_ROOT,
            depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
            bundling: {
              forceDockerBundling: false,
              format: OutputFormat.ESM,
              target: 'node24',
              platform: 'node',
              sourceMap: true,
              sourceMapMode: SourceMapMode.DEFAULT,
              minify: true,
              // The whole AWS SDK is bundled at the versions package-lock.json pins, not the runtime's.
              externalModules: [],
              // ESM first, and a `require` for the CommonJS dependencies that call it.
              mainFields: ['module', 'main'],
              ...(props.define ? { define: props.define } : {}),
              banner: "import { createRequire as __renewalCreateRequire } from 'node:module';const require = __renewalCreateRequire(import.meta.url);",
            },
          }
        : {
            code: Code.fromInline('export const handler = async () => { throw new Error("placeholder: synthesized without bundling"); };'),
            handler: 'index.handler',
          }),
    });
    this.logs = logGroup;
    logGroup.grantWrite(role);
  }

  /**
   * Grants exactly what the given store uses declare (shared/store/access.ts): each table's actions
   * on the table, each index's Query or Scan on that index's own ARN (no `index/*`), and sets
   * `TABLE_<ID>` for exactly the tables used: the Lambda entry (functions/lambda.ts) requires the same
   * set, derived from the same needs. The use case's declared needs are the only source of a
   * function's DynamoDB access and table names, so neither can drift from the code.
   */
  useStores(tables: Record<TableId, ITable>, needs: readonly StoreUse<unknown>[], buckets: Partial<Record<BucketId, IBucket>> = {}): this {
    const access = accessOf(needs);
    for (const a of access.tables) {
      const table = tables[a.table];
      if (a.index !== undefined) {
        const defined = TABLES[a.table].indexes.map((i) => i.name);
        if (!defined.includes(a.index)) throw new Error(`${this.node.path}: table ${a.table} has no index ${a.index} (shared/tables.ts: ${defined.join(', ') || 'none'})`);
        const bad = a.actions.filter((x) => !INDEX_ACTIONS.includes(x));
        if (bad.length) throw new Error(`${this.node.path}: ${bad.join(', ')} on index ${a.table}/${a.index}: only Query and Scan act on an index`);
      }
      this.addToRolePolicy(new PolicyStatement({ actions: a.actions.map((x) => `dynamodb:${x}`), resources: [a.index ? `${table.tableArn}/index/${a.index}` : table.tableArn] }));
      if (!this.usedTables.has(a.table)) {
        this.usedTables.add(a.table);
        this.addEnvironment(ENV.table(a.table), table.tableName);
      }
    }
    for (const a of access.buckets) {
      const bucket = buckets[a.bucket];
      if (!bucket) throw new Error(`${this.node.path}: its stores use the ${a.bucket} bucket, which was not given`);
      // Object keys are made at run time (one prefix per notice version), so the grant is on `<bucket>/*`.
      this.addToRolePolicy(new PolicyStatement({ actions: a.actions.map((x) => `s3:${x}`), resources: [bucket.arnForObjects('*')] }));
      this.addEnvironment(ENV.bucket(a.bucket), bucket.bucketName);
    }
    return this;
  }

  /** Records that `action` (on `resource`, or everywhere) is granted for a path a season may not take, and why. */
  acknowledgeGrant(action: string, reason: string, resource?: string): this {
    acknowledgeGrant(this.role!, action, reason, resource);
    return this;
  }

  /** Grants lambda:InvokeFunction on `fn` itself (no versions or aliases) and sets `envVar` to its name. */
  useFunction(fn: IFunction, envVar: typeof ENV.notifyFunctionName | typeof ENV.publishFunctionName): this {
    this.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
    this.addEnvironment(envVar, fn.functionName);
    return this;
  }

  /**
   * Grants ses:SendEmail (what the mailer calls; no raw mail) on exactly the given identities and configuration set,
   * and sets the sender and configuration-set variables.
   */
  useMailSender(props: { identityArns: string[]; configurationSetName: string; mailFrom: string }): this {
    const stack = Stack.of(this);
    const configurationSetArn = stack.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: props.configurationSetName });
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [...props.identityArns, configurationSetArn],
      }),
    );
    this.addEnvironment(ENV.mailFrom, props.mailFrom);
    this.addEnvironment(ENV.sesConfigurationSet, props.configurationSetName);
    return this;
  }
}

/**
 * The on-failure destination of an asynchronous invocation: a queue the function's role may send to
 * and nothing else (CDK's SqsDestination would also grant GetQueueAttributes and GetQueueUrl, which
 * Lambda never calls for it).
 */
export class SendOnlyQueueDestination implements IDestination {
  constructor(private readonly queue: IQueue) {}
  bind(_scope: Construct, fn: IFunction): DestinationConfig {
    fn.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    return { destination: this.queue.queueArn };
  }
}
