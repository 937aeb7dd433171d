#!/usr/bin/env node
// The `renewal` command. The CLI is TypeScript run through tsx, so a checkout needs no build step.
import { register } from 'tsx/esm/api';

// Lambda runs nodejs22.x; locally Node 20 is supported on purpose, so the SDK's notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../cli/main.ts');
