/** The path at which each embedded-stack service says which stack it belongs to (cli/local-service.ts). */
export const IDENTITY_PATH = '/renewal-local/identity';
