/**
 * The intake pipeline: the FIFO queue the platform's events arrive on, its dead-letter queue, the
 * intake function and the event source mapping that feeds it batches.
 *
 * Like every part of the App stack (cdk/app-stack.ts), it creates its resources in the stack's own
 * scope, not under itself: their construct paths, and so their CloudFormation logical ids, stay those
 * of the stack before it was split into parts. A new logical id would make CloudFormation replace a
 * deployed queue, and lose what waits in it.
 */
import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FUNCTION_MEMORY_MB } from '#shared/sizing.ts';
import type { TableId } from '#shared/tables.ts';
import { INTAKE_NEEDS } from '#shared/usecases/intake.ts';
import { RenewalFunction, type FunctionDefaults } from './function.ts';

/** Intake timeout; the queue's visibility timeout is six times it, as AWS advises for SQS triggers. */
const INTAKE_TIMEOUT = Duration.seconds(30);

export interface IntakePipelineProps {
  tables: Record<TableId, ITable>;
  functions: FunctionDefaults;
}

export class IntakePipeline extends Construct {
  /** The intake FIFO queue: MessageGroupId = the event's identity. */
  readonly queue: Queue;
  /** Events that failed 5 deliveries. */
  readonly deadLetterQueue: Queue;
  readonly fn: RenewalFunction;

  /** `scope` is the stack: the resources are created in it (see the module comment). */
  constructor(scope: Construct, id: string, props: IntakePipelineProps) {
    super(scope, id);
    const { tables } = props;
    this.deadLetterQueue = new Queue(scope, 'IntakeDeadLetterQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    /*
     * FIFO is what makes the intake exact. Producers set MessageGroupId to the event's identity
     * (`entityKey` and `messageGroupOf` in shared/events.ts): every delivery of one
     * order, payment, provider or binding is in the same group, and SQS never hands a group to two
     * batches at once. So the intake's BatchGetItem-then-BatchWriteItem (shared/store/ingest.ts) can
     * never race another copy of the same event, without conditional writes. Deduplication is by an
     * explicit MessageDeduplicationId (sha256 of the body), not content-based, so a producer decides.
     * High-throughput mode: the limits apply per message group, and nearly every event is its own.
     */
    this.queue = new Queue(scope, 'IntakeQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: Duration.seconds(INTAKE_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });

    this.fn = new RenewalFunction(scope, 'IntakeFunction', {
      ...props.functions,
      entry: 'intake',
      description: 'Validates platform events from the intake FIFO queue and stores each exactly once',
      timeout: INTAKE_TIMEOUT,
      memorySize: FUNCTION_MEMORY_MB.intake,
    })
      .useStores(tables, INTAKE_NEEDS)
      .acknowledgeGrant(
        'dynamodb:BatchGetItem',
        'A batch SQS delivers again after a failed write looks up the change records of the events it finds already stored: one with GetItem, several at once with BatchGetItem, which a season without failures never needs',
        tables.changes.tableArn,
      );
    // Lambda's poller reads the queue with the function's role: exactly the three calls it makes
    // (CDK's SqsEventSource would also grant ChangeMessageVisibility and GetQueueUrl, which it never uses).
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], resources: [this.queue.queueArn] }));
    const mapping = new EventSourceMapping(scope, 'IntakeQueueMapping', { target: this.fn, eventSourceArn: this.queue.queueArn, batchSize: 10, reportBatchItemFailures: true });
    mapping.node.addDependency(this.fn.role!);
  }
}
