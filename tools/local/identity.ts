/** The path at which each embedded-stack service says which stack it belongs to (tools/local/service.ts). */
export const IDENTITY_PATH = '/renewal-local/identity';

/** The bucket of the delisting notice on the embedded S3 (s3rver): created by the service, named by the stack. */
export const LOCAL_NOTICE_BUCKET = 'renewal-notice';
