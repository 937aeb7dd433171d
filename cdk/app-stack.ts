import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { campaignBundleDefine, type CampaignRegistry } from '#shared/campaigns.ts';
import { noticePageUrl } from '#shared/store/notice-bucket.ts';
import type { TableId } from '#shared/tables.ts';
import type { DeployConfig } from './config.ts';
import type { FunctionDefaults, RenewalFunction } from './function.ts';
import { IntakePipeline } from './intake-pipeline.ts';
import { MailSending } from './mail-sending.ts';
import { OUTPUTS, type FunctionName } from './names.ts';
import { NoticeSite } from './notice-site.ts';
import { Observability } from './observability.ts';
import { OpsFunctions } from './ops-functions.ts';
import { SeasonJobs } from './season-jobs.ts';

export { MAIL_FROM_PARAMETER } from './mail-sending.ts';

export interface AppStackProps extends StackProps {
  config: DeployConfig;
  tables: Record<TableId, ITable>;
  /** Bundle the functions with esbuild; false only for template tests that do not look at code. */
  bundle: boolean;
  /** The campaign files the stack is synthesized with: bundled into the functions, scheduled where a file says so. */
  campaigns: CampaignRegistry;
  /** The clock, only for the warning about a season that already started (the template never depends on it). @default Date.now() */
  now?: Date;
}

/**
 * The stateless stack: the functions, the intake FIFO queue, the season's schedules, SES, the public
 * notice's site, the dashboard and the alarms. Everything here can be deleted and redeployed; the data
 * lives in the DataStack (the notice bucket is retained, and its content is re-derivable from the
 * notice ledger in the decisions table).
 *
 * It is composed of parts, one file each, that hand each other references: the intake pipeline, mail
 * sending, the notice site, the season's jobs and schedules, the ops functions and observability. Each
 * part creates its resources in the stack's own scope, so the logical ids are those of the stack
 * before it was split (cdk/intake-pipeline.ts says why).
 */
export class AppStack extends Stack {
  readonly intake: IntakePipeline;
  readonly mail: MailSending;
  readonly notice: NoticeSite;
  readonly seasonJobs: SeasonJobs;
  readonly ops: OpsFunctions;
  readonly observability: Observability;
  /** Every function, in the order the dashboard and the outputs list them. */
  readonly functions: Record<FunctionName, RenewalFunction>;
  /** The season jobs on Step Functions (cdk/fanout.ts). */
  readonly stateMachines: SeasonJobs['stateMachines'];

  constructor(scope: Construct, id: string, props: AppStackProps) {
    super(scope, id, { description: `Provider renewal (${props.config.stage}): functions, intake queue, schedules, mail, alarms`, ...props });
    const { config, tables } = props;
    const functions: FunctionDefaults = {
      logRetention: config.logRetentionDays,
      logRemovalPolicy: config.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      logLevel: config.logLevel,
      tracing: config.tracing,
      bundle: props.bundle,
      // The functions carry the campaigns of this synth and never read the repository (shared/campaigns.ts).
      define: campaignBundleDefine(props.campaigns),
    };
    const scheduled = config.seasonSchedules ? props.campaigns.scheduled() : [];

    this.intake = new IntakePipeline(this, 'Intake', { tables, functions });
    this.mail = new MailSending(this, 'Mail', { config, tables, functions });
    this.notice = new NoticeSite(this, 'Notice', { config, tables, functions });
    this.ops = new OpsFunctions(this, 'Ops', { tables, functions });
    this.seasonJobs = new SeasonJobs(this, 'SeasonJobs', {
      config,
      tables,
      functions,
      notify: this.mail.notify,
      publish: this.notice.publish,
      scheduled,
      now: props.now ?? new Date(),
    });
    this.stateMachines = this.seasonJobs.stateMachines;
    const { aggregate, evaluate } = this.seasonJobs;
    const { notify, mailEvents } = this.mail;
    const { report, reapply } = this.ops;
    this.functions = { intake: this.intake.fn, aggregate, evaluate, notify, report, mailEvents, publish: this.notice.publish, reapply };

    this.observability = new Observability(this, 'Observability', {
      config,
      functions: this.functions,
      queues: {
        intake: this.intake.queue,
        intakeDeadLetter: this.intake.deadLetterQueue,
        scheduleDeadLetter: this.seasonJobs.deadLetterQueue,
        mailEventsDeadLetter: this.mail.deadLetterQueue,
      },
      scheduled,
    });
    this.addOutputs(props);
  }

  /** The outputs the CLI's --aws mode reads (cli/aws.ts), under the keys of cdk/names.ts. */
  private addOutputs(props: AppStackProps): void {
    for (const [name, fn] of Object.entries(this.functions) as [FunctionName, RenewalFunction][]) {
      new CfnOutput(this, OUTPUTS.functionName(name), { value: fn.functionName, description: `${name} function` });
    }
    for (const [id, table] of Object.entries(props.tables) as [TableId, ITable][]) {
      new CfnOutput(this, OUTPUTS.tableName(id), { value: table.tableName, description: `${id} table` });
    }
    new CfnOutput(this, OUTPUTS.intakeQueueUrl, { value: this.intake.queue.queueUrl, description: 'Intake FIFO queue: MessageGroupId = the event identity' });
    new CfnOutput(this, OUTPUTS.intakeDeadLetterQueueUrl, { value: this.intake.deadLetterQueue.queueUrl });
    new CfnOutput(this, OUTPUTS.scheduleDeadLetterQueueUrl, { value: this.seasonJobs.deadLetterQueue.queueUrl });
    new CfnOutput(this, OUTPUTS.mailEventsDeadLetterQueueUrl, { value: this.mail.deadLetterQueue.queueUrl });
    new CfnOutput(this, OUTPUTS.alarmTopicArn, { value: this.observability.alarmTopic.topicArn });
    new CfnOutput(this, OUTPUTS.mailEventsTopicArn, { value: this.mail.topic.topicArn });
    new CfnOutput(this, OUTPUTS.sesConfigurationSetName, { value: this.mail.configurationSet.configurationSetName });
    new CfnOutput(this, OUTPUTS.senderIdentity, { value: this.mail.identityName, description: 'SES identity to verify before mail can be sent' });
    new CfnOutput(this, OUTPUTS.noticeBucketName, { value: this.notice.bucket.bucketName, description: 'Bucket of the public delisting notice (private; read through CloudFront)' });
    new CfnOutput(this, OUTPUTS.noticeBaseUrl, { value: this.notice.baseUrl, description: 'Public base URL of the delisting notice (CloudFront)' });
    new CfnOutput(this, OUTPUTS.aggregationStateMachineArn, {
      value: this.stateMachines.aggregation.stateMachine.stateMachineArn,
      description: 'The aggregation as plan, shards, finish (the 15-minute schedule starts it)',
    });
    new CfnOutput(this, OUTPUTS.evaluationStateMachineArn, {
      value: this.stateMachines.evaluation.stateMachine.stateMachineArn,
      description: 'The evaluation as plan, shards, finish (the period-end schedule starts it)',
    });
    // Every campaign's notice page, scheduled or not: a closed season's notice stays published.
    const outputIds = new Map<string, string>();
    for (const c of props.campaigns.list()) {
      const outputId = OUTPUTS.noticeUrl(c.campaignId);
      if (outputIds.has(outputId)) throw new Error(`campaigns ${outputIds.get(outputId)} and ${c.campaignId} would share the output ${outputId}: rename one`);
      outputIds.set(outputId, c.campaignId);
      new CfnOutput(this, outputId, {
        value: noticePageUrl(this.notice.baseUrl, c.campaignId, 'latest'),
        description: `The public delisting notice of ${c.campaignId}: always its newest version`,
      });
    }
  }
}
