import { createDocumentClient } from '#shared/aws.ts';
import { OutboxStore } from '#shared/store/outbox.ts';
import { MAIL_EVENTS_NEEDS } from '#shared/usecases/mail-events.ts';
import { makeMailEvents } from './handlers/mail-events.ts';
import { lambdaEnvironment, lambdaHandler } from './lambda.ts';

/** Lambda entry of mail-events (functions/handlers/mail-events.ts): subscribed to the SES events topic. */
const env = lambdaEnvironment('mail-events', MAIL_EVENTS_NEEDS, {});
export const handler = lambdaHandler(makeMailEvents({ outbox: new OutboxStore(createDocumentClient(), env.tables) }));
