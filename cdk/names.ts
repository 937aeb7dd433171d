/**
 * Names shared by the CDK app and the CLI's `--aws` mode. Deliberately free of `aws-cdk-lib`
 * (a dev dependency): `cli/aws.ts` imports this module at run time.
 */
import type { TableId } from '#shared/tables.ts';

/** Prefix of every stack of this app. */
export const APP_NAME = 'ProviderRenewal';

/** The stateful stack (tables): `ProviderRenewal-<stage>-Data`. */
export function dataStackName(stage: string): string {
  return `${APP_NAME}-${stage}-Data`;
}

/** The stateless stack (functions, queues, schedules, SES, notice site, alarms): `ProviderRenewal-<stage>-App`. */
export function appStackName(stage: string): string {
  return `${APP_NAME}-${stage}-App`;
}

/** The functions, by entry file `functions/<name>.ts` (`mailEvents`: `functions/mail-events.ts`). */
export const FUNCTION_NAMES = ['intake', 'aggregate', 'evaluate', 'notify', 'report', 'mailEvents', 'publish', 'reapply'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * Output keys of the stateless stack, which the CLI reads with DescribeStacks:
 * `IntakeFunctionName`, …, `IntakeQueueUrl`, `OrdersTableName`, ….
 */
export const OUTPUTS = {
  functionName: (name: FunctionName) => `${pascal(name)}FunctionName`,
  tableName: (id: TableId) => `${pascal(id)}TableName`,
  intakeQueueUrl: 'IntakeQueueUrl',
  intakeDeadLetterQueueUrl: 'IntakeDeadLetterQueueUrl',
  scheduleDeadLetterQueueUrl: 'ScheduleDeadLetterQueueUrl',
  mailEventsDeadLetterQueueUrl: 'MailEventsDeadLetterQueueUrl',
  alarmTopicArn: 'AlarmTopicArn',
  mailEventsTopicArn: 'MailEventsTopicArn',
  sesConfigurationSetName: 'SesConfigurationSetName',
  senderIdentity: 'SenderIdentityName',
  /** The public delisting notice: bucket, the CloudFront base URL, and each campaign's stable page. */
  noticeBucketName: 'NoticeBucketName',
  noticeBaseUrl: 'NoticeBaseUrl',
  /** `renewal-2027` → `NoticeUrlRenewal2027`. */
  noticeUrl: (campaignId: string) => `NoticeUrl${campaignId.split('-').map(pascal).join('')}`,
  /** The season jobs' state machines (cdk/fanout.ts), for an execution started by hand. */
  aggregationStateMachineArn: 'AggregationStateMachineArn',
  evaluationStateMachineArn: 'EvaluationStateMachineArn',
} as const;

/**
 * Metadata key on a role listing grants the code uses only on a path a season may not take
 * (`{ action, resource?, reason }`): written by cdk/function.ts `acknowledgeGrant`, read by
 * `renewal rehearse` (tools/rehearsal/iam.ts).
 */
export const ACKNOWLEDGED_GRANTS_KEY = 'renewal:acknowledged-grants';
