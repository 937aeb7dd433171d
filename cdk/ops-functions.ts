/**
 * The functions called synchronously, by ops and by the certification process: the report of a
 * campaign's decisions (`renewal report --aws`) and the re-application check of clause 3
 * (`renewal reapply check --aws`). Both only read; the exception ledger is written by ops with their
 * own credentials (`renewal reapply except --aws`).
 *
 * Its resources are created in the stack's scope, not under this construct, so that their logical ids
 * stay those of a deployed stack (cdk/intake-pipeline.ts says why).
 */
import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { FUNCTION_MEMORY_MB } from '#shared/sizing.ts';
import type { TableId } from '#shared/tables.ts';
import { REAPPLY_NEEDS } from '#shared/usecases/reapply.ts';
import { REPORT_NEEDS } from '#shared/usecases/report.ts';
import { RenewalFunction, type FunctionDefaults } from './function.ts';

export interface OpsFunctionsProps {
  tables: Record<TableId, ITable>;
  functions: FunctionDefaults;
}

export class OpsFunctions extends Construct {
  readonly report: RenewalFunction;
  readonly reapply: RenewalFunction;

  /** `scope` is the stack: the resources are created in it (see the module comment). */
  constructor(scope: Construct, id: string, props: OpsFunctionsProps) {
    super(scope, id);
    this.report = new RenewalFunction(scope, 'ReportFunction', {
      ...props.functions,
      entry: 'report',
      description: 'Reads the decisions of a campaign (renewal report --aws)',
      timeout: Duration.seconds(60),
      memorySize: FUNCTION_MEMORY_MB.report,
    }).useStores(props.tables, REPORT_NEEDS);
    this.reapply = new RenewalFunction(scope, 'ReapplyFunction', {
      ...props.functions,
      entry: 'reapply',
      description: 'May a provider apply for certification at an instant: the 90-day bar after a revocation, and its exceptions (renewal reapply check --aws)',
      timeout: Duration.seconds(30),
      memorySize: FUNCTION_MEMORY_MB.reapply,
    }).useStores(props.tables, REAPPLY_NEEDS);
  }
}
