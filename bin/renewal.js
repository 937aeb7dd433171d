#!/usr/bin/env node
// The `renewal` command. The CLI is TypeScript run through tsx, so a checkout needs no build step.
import './preflight.js';

const { register } = await import('tsx/esm/api');
register();
await import('../cli/main.ts');
