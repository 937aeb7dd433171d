import { S3Client } from '@aws-sdk/client-s3';
import { createDocumentClient } from '#shared/aws.ts';
import { noticeEnv } from '#shared/config.ts';
import { DecisionStore } from '#shared/store/decisions.ts';
import { NoticeBucket } from '#shared/store/notice-bucket.ts';
import { PUBLISH_NEEDS } from '#shared/usecases/publish.ts';
import { makePublish } from './handlers/publish.ts';
import { lambdaEnvironment, lambdaHandler } from './lambda.ts';

/** Lambda entry of publish (functions/handlers/publish.ts): the notice date's schedule, evaluate and ops. */
const env = lambdaEnvironment('publish', PUBLISH_NEEDS, { notice: noticeEnv });
const bucket = new NoticeBucket(new S3Client({ forcePathStyle: env.sdk.s3ForcePathStyle }), env.notice.bucket);
export const handler = lambdaHandler(makePublish({ decisions: new DecisionStore(createDocumentClient(), env.tables), bucket }, env.notice));
