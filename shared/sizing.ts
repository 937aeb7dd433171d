/**
 * Memory of each function in MB, defined once: the CDK stack deploys these sizes and the bench's
 * cost model bills Lambda GB-seconds at them. (1,769 MB is one full vCPU.)
 */
export const FUNCTION_MEMORY_MB = {
  intake: 512,
  aggregate: 1024,
  evaluate: 1769,
  notify: 512,
  report: 512,
  mailEvents: 512,
  publish: 512,
  reapply: 512,
} as const;
