import { overlapEnv } from '#shared/config.ts';
import { stores } from '#shared/deps.ts';
import { createDocumentClient } from '#shared/aws.ts';
import { AGGREGATE_NEEDS } from '#shared/usecases/aggregate.ts';
import { makeAggregate } from './handlers/aggregate.ts';
import { lambdaEnvironment, lambdaHandler } from './lambda.ts';

/** Lambda entry of the aggregation (functions/handlers/aggregate.ts): its 15-minute schedule and ops. */
const env = lambdaEnvironment('aggregate', AGGREGATE_NEEDS, { overlapMs: overlapEnv });
export const handler = lambdaHandler(makeAggregate(stores(env.tables, createDocumentClient()), { overlapMs: env.overlapMs }));
