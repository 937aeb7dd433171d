#!/usr/bin/env node
// The `renewal` command. The CLI is TypeScript run through tsx, so a checkout needs no build step.
import { register } from 'tsx/esm/api';

// Lambda runs nodejs22.x; locally Node 20 is supported on purpose, so the SDK's notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The CLI is an operator's tool: Powertools' JSON logs and EMF metrics belong in CloudWatch, not in the
// middle of a table. Powertools has no other switch than these variables, which its Logger and Metrics
// read when they are constructed, so they are set here, before any module of the CLI loads.
// RENEWAL_VERBOSE=1 brings the logs back (on stdout, as Lambda prints them).
if (!process.env.RENEWAL_VERBOSE) {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}
register();
await import('../cli/main.ts');
