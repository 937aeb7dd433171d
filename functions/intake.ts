import { createDocumentClient } from '#shared/aws.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { INTAKE_NEEDS } from '#shared/usecases/intake.ts';
import { makeIntake } from './handlers/intake.ts';
import { lambdaEnvironment, lambdaHandler } from './lambda.ts';

/** Lambda entry of the intake (functions/handlers/intake.ts): the SQS FIFO queue's consumer. */
const env = lambdaEnvironment('intake', INTAKE_NEEDS, {});
export const handler = lambdaHandler(makeIntake(new IngestStore(createDocumentClient(), env.tables)));
