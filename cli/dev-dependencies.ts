/**
 * The commands that run on development dependencies: the embedded stack (`renewal local up` and
 * every command without --aws: dynalite, aws-ses-v2-local, s3rver), `renewal demo` (the embedded
 * stack) and `renewal rehearse` (also @cloud-copilot/iam-simulate, croner). An ops install
 * (`npm ci --omit=dev`) has none of them; there such a command says what to install instead of a
 * stack trace from the module loader.
 */
import { createRequire } from 'node:module';
import { MissingPackageError } from '#shared/errors.ts';

const require = createRequire(import.meta.url);
const DEV_DEPENDENCIES = new Set(Object.keys((require('../package.json') as { devDependencies: Record<string, string> }).devDependencies));

/** The packages the embedded stack's services run on (tools/local/service.ts), loaded in its child processes. */
export const EMBEDDED_SERVICES = ['dynalite', 'aws-ses-v2-local', 's3rver'] as const;

/**
 * Runs `load` (a lazy import of what `command` needs) after checking that each of `packages` is
 * installed. A development dependency missing, there or in what `load` imports, is a
 * MissingPackageError (exit 2) naming it and saying what to install; anything else is rethrown.
 */
export async function withDevDependencies<T>(command: string, packages: readonly string[], load: () => Promise<T>): Promise<T> {
  try {
    for (const p of packages) require.resolve(p);
    return await load();
  } catch (err) {
    const missing = missingPackage(err);
    if (missing === undefined || !DEV_DEPENDENCIES.has(missing)) throw err;
    throw new MissingPackageError(
      `${command} needs the development dependencies, and ${missing} is not installed (an install with --omit=dev): run \`npm ci\` without --omit=dev. ` +
        'The ops commands with --aws need only the production dependencies.',
      { cause: err },
    );
  }
}

/** The package an ESM import (ERR_MODULE_NOT_FOUND) or a require (MODULE_NOT_FOUND) did not find. */
function missingPackage(err: unknown): string | undefined {
  const { code, message } = (err ?? {}) as { code?: string; message?: string };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  const m = /Cannot find (?:package|module) '((?:@[^/']+\/)?[^/']+)/.exec(message ?? '');
  return m?.[1];
}
