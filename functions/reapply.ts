import { createDocumentClient } from '#shared/aws.ts';
import { campaignRegistry } from '#shared/campaigns.ts';
import { DecisionStore } from '#shared/store/decisions.ts';
import { ReapplyExceptionStore } from '#shared/store/exceptions.ts';
import { SourceStore } from '#shared/store/source.ts';
import { REAPPLY_NEEDS } from '#shared/usecases/reapply.ts';
import { makeReapply } from './handlers/reapply.ts';
import { lambdaEnvironment, lambdaHandler } from './lambda.ts';

/** Lambda entry of the re-application check (functions/handlers/reapply.ts): `renewal reapply check --aws`. Read only, no metrics. */
const env = lambdaEnvironment('reapply', REAPPLY_NEEDS, {});
const db = createDocumentClient();
const campaigns = campaignRegistry().list();
export const handler = lambdaHandler(
  makeReapply({ source: new SourceStore(db, env.tables), decisions: new DecisionStore(db, env.tables), exceptions: new ReapplyExceptionStore(db, env.tables), campaigns: () => campaigns }),
  { metrics: false },
);
