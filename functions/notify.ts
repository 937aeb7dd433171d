import { createDocumentClient } from '#shared/aws.ts';
import { mailEnv } from '#shared/config.ts';
import { stores } from '#shared/deps.ts';
import { NOTIFY_NEEDS } from '#shared/usecases/notify.ts';
import { campaignRegistry } from '#shared/campaigns.ts';
import { makeNotify, notifyMailer } from './handlers/notify.ts';
import { lambdaEnvironment, lambdaHandler } from './lambda.ts';

/**
 * Lambda entry of notify (functions/handlers/notify.ts): invoked by evaluate, the weekly schedule and
 * ops. Sends through SES, and settles a notice a dead run left from SES's published events.
 */
const env = lambdaEnvironment('notify', NOTIFY_NEEDS, { mail: mailEnv });
export const handler = lambdaHandler(makeNotify({ ...stores(env.tables, createDocumentClient()), mailer: notifyMailer(env.mail), campaigns: () => campaignRegistry().list() }, env.mail));
