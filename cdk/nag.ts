/**
 * Every cdk-nag AwsSolutions finding this app keeps, acknowledged on the construct it concerns with
 * the reason it is accepted (cdk-nag v3: `Validations.of(construct).acknowledge`). Anything not listed
 * here fails `cdk synth` and test/infra/nag.test.ts.
 */
import { Validations, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { AppStack } from './app-stack.ts';
import type { DeployConfig } from './config.ts';
import { GROUPS_LABEL } from './fanout-groups.ts';

export interface NagAcknowledgment {
  construct: IConstruct;
  id: string;
  reason: string;
}

/** The acknowledgments, as data, so tests and docs can list them. */
export function nagAcknowledgments(app: AppStack, config: DeployConfig): NagAcknowledgment[] {
  return [...deadLetterQueueAcks(app), ...noticeSiteAcks(app), ...seasonJobAcks(app, config), ...tracingAcks(app, config)];
}

/** The queues cdk-nag takes for queues without a dead-letter queue, which are dead-letter queues themselves. */
function deadLetterQueueAcks(app: AppStack): NagAcknowledgment[] {
  return [
    {
      construct: app.seasonJobs.deadLetterQueue,
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue IS a dead-letter queue: the DeadLetterConfig of every EventBridge Scheduler target and the OnFailure ' +
        "destination of the asynchronous invocations. cdk-nag only recognises a DLQ named in another queue's RedrivePolicy.",
    },
    {
      construct: app.mail.deadLetterQueue,
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue IS a dead-letter queue: the RedrivePolicy of the SNS subscription of the mail-events function and the ' +
        "OnFailure destination of its asynchronous invocations. cdk-nag only recognises a DLQ named in another queue's RedrivePolicy.",
    },
  ];
}

/** The public notice: a bucket without access logs behind a distribution without geo restriction, WAF or logs. */
function noticeSiteAcks(app: AppStack): NagAcknowledgment[] {
  return [
    {
      construct: app.notice.bucket,
      id: 'AwsSolutions-S1',
      reason:
        'The notice bucket holds public pages written only by the publish function; what was published when is recorded in ' +
        "the notice ledger (decisions table) and in the bucket's object versions. Server access logs would record only " +
        "CloudFront's own reads, and would need a second bucket that nothing reads.",
    },
    {
      construct: app.notice.distribution,
      id: 'AwsSolutions-CFR1',
      reason: 'The delisting notice is public by rule (RULES.md clause 3: 摘牌公示): anyone anywhere may read it, so there is no ' + 'country to restrict.',
    },
    {
      construct: app.notice.distribution,
      id: 'AwsSolutions-CFR2',
      reason:
        'Static, read-only content (GET and HEAD of a few small objects, no forms, no query handling, no origin compute): a ' +
        'WAF web ACL would add cost and nothing to protect; CloudFront absorbs volume itself.',
    },
    {
      construct: app.notice.distribution,
      id: 'AwsSolutions-CFR3',
      reason:
        'Who reads a public notice is no part of any rule or audit of this system (and would be personal data to keep); the ' +
        'audit trail of what was published is the notice ledger. Enable standard logging per deployment if ever needed.',
    },
    {
      construct: app.notice.distribution,
      id: 'AwsSolutions-CFR4',
      reason:
        'The distribution uses the default *.cloudfront.net certificate, with which CloudFront fixes the viewer TLS policy ' +
        '(minimumProtocolVersion applies only to a custom certificate); HTTP is redirected to HTTPS and HSTS is sent.',
    },
    {
      construct: app.functions.publish.role!,
      id: `AwsSolutions-IAM5[Resource::<${app.getLogicalId(app.notice.bucket.node.defaultChild as CfnElement)}.Arn>/*]`,
      reason:
        's3:PutObject (only) on the objects of the notice bucket: each publication writes keys made at run time, one prefix ' +
        'per notice version (shared/store/notice-bucket.ts), so they cannot be listed in the policy; no other bucket.',
    },
  ];
}

/** The state machines' roles: the log delivery grants that CloudWatch Logs accepts only on "*". */
function seasonJobAcks(app: AppStack, config: DeployConfig): NagAcknowledgment[] {
  const acks: NagAcknowledgment[] = [];
  for (const { stateMachine } of Object.values(app.stateMachines)) {
    acks.push({
      construct: stateMachine.role,
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'The delivery of the execution log (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ' +
        'ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups), which CloudWatch Logs accepts only ' +
        'on "*"' +
        (config.tracing ? ', and with tracing=true the X-Ray trace segments, which accept only "*" too' : '') +
        ". The one data-plane grant, lambda:InvokeFunction, names the job's function alone.",
    });
    const machine = app.stateMachines.aggregation;
    if (stateMachine === machine.stateMachine && machine.groupsPolicy) {
      // The distributed Map's grants on the executions of this one state machine (cdk/fanout-groups.ts).
      const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${app.getLogicalId(stateMachine.node.defaultChild as CfnElement)}"}]}]}`;
      acks.push(
        {
          construct: machine.groupsPolicy,
          id: `AwsSolutions-IAM5[Resource::${executions}:*]`,
          reason:
            'states:DescribeExecution and states:StopExecution on the executions of this state machine only, which its distributed Map ' +
            'of groups needs (Step Functions guide, "IAM policies for using Distributed Map states"): execution ids are made at run time.',
        },
        {
          construct: machine.groupsPolicy,
          id: `AwsSolutions-IAM5[Resource::${executions}/${GROUPS_LABEL}:*]`,
          reason:
            'states:RedriveExecution on the child executions of the Groups distributed Map of this state machine only (a redriven ' +
            'execution redrives its failed children): their ids are made at run time.',
        },
      );
    }
    if (!config.tracing) {
      acks.push({
        construct: stateMachine,
        id: 'AwsSolutions-SF2',
        reason:
          "X-Ray follows the deployment's tracing setting (tracing=true traces the functions and the executions alike); off by " +
          'default, since every state and its input and output are already in the execution log (level ALL) and its history.',
      });
    }
  }
  return acks;
}

/** With tracing=true, the functions' X-Ray grants, which take no resource. */
function tracingAcks(app: AppStack, config: DeployConfig): NagAcknowledgment[] {
  if (!config.tracing) return [];
  return Object.values(app.functions).map((fn) => ({
    construct: fn.role!,
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Only with tracing=true: xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level ' +
      'permissions (Resource "*" is the only form X-Ray accepts). No data-plane action has a wildcard.',
  }));
}

export function acknowledgeNagFindings(app: AppStack, config: DeployConfig): void {
  for (const { construct, id, reason } of nagAcknowledgments(app, config)) Validations.of(construct).acknowledge({ id, reason });
}
