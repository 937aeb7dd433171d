#!/usr/bin/env node
// Runs one of the tools' TypeScript entries (`node tools/run.js tools/bench/main.ts …`) the way
// bin/renewal.js runs the ops command: through tsx, with Powertools' logs and metrics kept quiet.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import '../bin/preflight.js';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: node tools/run.js <entry.ts> [args…]\n');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(entry), ...rest];
const { register } = await import('tsx/esm/api');
register();
await import(pathToFileURL(resolve(entry)).href);
