/**
 * Every cdk-nag AwsSolutions finding this app keeps, acknowledged on the construct it concerns with
 * the reason it is accepted (cdk-nag v3: `Validations.of(construct).acknowledge`). Anything not listed
 * here fails `cdk synth` and test/infra/nag.test.ts.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { AppStack } from './app-stack.ts';
import type { DeployConfig } from './config.ts';

export interface NagAcknowledgment {
  construct: IConstruct;
  id: string;
  reason: string;
}

/** The acknowledgments, as data, so tests and docs can list them. */
export function nagAcknowledgments(app: AppStack, config: DeployConfig): NagAcknowledgment[] {
  const acks: NagAcknowledgment[] = [
    {
      construct: app.scheduleDeadLetterQueue,
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue IS a dead-letter queue: the DeadLetterConfig of every EventBridge Scheduler target and the OnFailure ' +
        'destination of the asynchronous invocations. cdk-nag only recognises a DLQ named in another queue\'s RedrivePolicy.',
    },
    {
      construct: app.mailEventsDeadLetterQueue,
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue IS a dead-letter queue: the RedrivePolicy of the SNS subscription of the mail-events function and the ' +
        'OnFailure destination of its asynchronous invocations. cdk-nag only recognises a DLQ named in another queue\'s RedrivePolicy.',
    },
  ];
  for (const fn of Object.values(app.functions)) {
    acks.push({
      construct: fn,
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is the runtime the code is bundled for (esbuild target node22) and tested against; moving to a newer ' +
        'Node.js runtime is a deliberate upgrade with the test suite, not a side effect of an aws-cdk-lib release.',
    });
    if (config.tracing) {
      acks.push({
        construct: fn.role!,
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only with tracing=true: xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level ' +
          'permissions (Resource "*" is the only form X-Ray accepts). No data-plane action has a wildcard.',
      });
    }
  }
  return acks;
}

export function acknowledgeNagFindings(app: AppStack, config: DeployConfig): void {
  for (const { construct, id, reason } of nagAcknowledgments(app, config)) Validations.of(construct).acknowledge({ id, reason });
}
