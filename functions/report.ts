import { createDocumentClient } from '#shared/aws.ts';
import { DecisionStore } from '#shared/store/decisions.ts';
import { OutboxStore } from '#shared/store/outbox.ts';
import { REPORT_NEEDS } from '#shared/usecases/report.ts';
import { makeReport } from './handlers/report.ts';
import { lambdaEnvironment, lambdaHandler } from './lambda.ts';

/** Lambda entry of the report (functions/handlers/report.ts): `renewal report --aws`. Read only, no metrics. */
const env = lambdaEnvironment('report', REPORT_NEEDS, {});
const db = createDocumentClient();
export const handler = lambdaHandler(makeReport({ decisions: new DecisionStore(db, env.tables), outbox: new OutboxStore(db, env.tables) }), { metrics: false });
