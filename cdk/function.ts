import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, type IFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { TABLES, tableEnvVar, type TableId } from '#shared/tables.ts';

/** The repository root: entries, package.json (for the `#shared/*` imports) and the lock file live here. */
export const PROJECT_ROOT = join(import.meta.dirname, '..');

/** DynamoDB data-plane actions a function may be granted, without the `dynamodb:` prefix. */
export type DynamoAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'Scan'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem';

/** `'read'` = GetItem, BatchGetItem, Query; `'readWrite'` adds PutItem, UpdateItem, DeleteItem, BatchWriteItem. */
export type TableAccess = 'read' | 'readWrite' | readonly DynamoAction[];

const READ: readonly DynamoAction[] = ['GetItem', 'BatchGetItem', 'Query'];
const WRITE: readonly DynamoAction[] = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'];
/** The only actions that act on an index. */
const INDEX_ACTIONS: readonly DynamoAction[] = ['Query', 'Scan'];

export interface UseTableOptions {
  /**
   * Indexes the function queries: `true` for every index of the table's definition in
   * shared/tables.ts, or their names. Each is granted by its own ARN: no `index/*`.
   * @default - none
   */
  indexes?: boolean | readonly string[];
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
}

/** Powertools service name and metrics namespace: the same as `shared/observability.ts` defaults. */
export const POWERTOOLS_SERVICE_NAME = 'provider-renewal';
export const POWERTOOLS_METRICS_NAMESPACE = 'ProviderRenewal';

/**
 * A function of this app with its defaults: Node.js 22 on arm64, an ESM bundle built by the local
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
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      role,
      logGroup,
      tracing: props.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE,
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
              target: 'node22',
              platform: 'node',
              sourceMap: true,
              sourceMapMode: SourceMapMode.DEFAULT,
              minify: true,
              // The whole AWS SDK is bundled at the versions package-lock.json pins, not the runtime's.
              externalModules: [],
              // ESM first, and a `require` for the CommonJS dependencies that call it.
              mainFields: ['module', 'main'],
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
   * Grants exactly `access` on `table` (and on the named indexes, Query/Scan only) and sets
   * `TABLE_<ID>` to its name. One call per table and function.
   */
  useTable(table: ITable, id: TableId, access: TableAccess, options: UseTableOptions = {}): this {
    if (this.usedTables.has(id)) throw new Error(`${this.node.path}: table ${id} is already in use; name all its actions in one useTable call`);
    this.usedTables.add(id);
    const actions = access === 'read' ? READ : access === 'readWrite' ? [...READ, ...WRITE] : access;
    if (actions.length === 0) throw new Error(`${this.node.path}: useTable(${id}) with no actions`);
    this.addToRolePolicy(
      new PolicyStatement({ actions: actions.map((a) => `dynamodb:${a}`), resources: [table.tableArn] }),
    );
    const indexes = this.indexNames(id, options.indexes);
    const indexActions = actions.filter((a) => INDEX_ACTIONS.includes(a));
    if (indexes.length) {
      if (!indexActions.length) throw new Error(`${this.node.path}: useTable(${id}) names indexes but grants no Query or Scan`);
      this.addToRolePolicy(
        new PolicyStatement({
          actions: indexActions.map((a) => `dynamodb:${a}`),
          resources: indexes.map((name) => `${table.tableArn}/index/${name}`),
        }),
      );
    }
    this.addEnvironment(tableEnvVar(id), table.tableName);
    return this;
  }

  /**
   * Sets `TABLE_<ID>` for the tables this function was given no access to: `tableNamesFromEnv()` in
   * shared/config.ts reads every table name at cold start. A name is not access; call it last.
   */
  nameOtherTables(tables: Record<TableId, ITable>): this {
    for (const id of Object.keys(tables) as TableId[]) {
      if (!this.usedTables.has(id)) this.addEnvironment(tableEnvVar(id), tables[id].tableName);
    }
    return this;
  }

  /** Grants lambda:InvokeFunction on `fn` itself (no versions or aliases) and sets `envVar` to its name. */
  useFunction(fn: IFunction, envVar: string): this {
    this.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
    this.addEnvironment(envVar, fn.functionName);
    return this;
  }

  /**
   * Grants exactly `actions` on the objects of `bucket` (`<bucket arn>/*`: object keys are made at run
   * time, e.g. one prefix per notice version) and sets `envVar` to the bucket's name.
   */
  useBucket(bucket: IBucket, envVar: string, actions: readonly ('GetObject' | 'PutObject')[]): this {
    if (actions.length === 0) throw new Error(`${this.node.path}: useBucket with no actions`);
    this.addToRolePolicy(new PolicyStatement({ actions: actions.map((a) => `s3:${a}`), resources: [bucket.arnForObjects('*')] }));
    this.addEnvironment(envVar, bucket.bucketName);
    return this;
  }

  /**
   * Grants ses:SendEmail and ses:SendRawEmail on exactly the given identities and configuration set,
   * and sets the sender and configuration-set variables.
   */
  useMailSender(props: { identityArns: string[]; configurationSetName: string; mailFrom: string }): this {
    const stack = Stack.of(this);
    const configurationSetArn = stack.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: props.configurationSetName });
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [...props.identityArns, configurationSetArn],
      }),
    );
    this.addEnvironment('MAIL_FROM', props.mailFrom);
    this.addEnvironment('SES_CONFIGURATION_SET', props.configurationSetName);
    return this;
  }

  private indexNames(id: TableId, wanted: UseTableOptions['indexes']): string[] {
    const defined = TABLES[id].indexes.map((i) => i.name);
    if (!wanted) return [];
    if (wanted === true) return defined;
    for (const name of wanted) {
      if (!defined.includes(name)) throw new Error(`${this.node.path}: table ${id} has no index ${name} (shared/tables.ts: ${defined.join(', ') || 'none'})`);
    }
    return [...wanted];
  }
}
