// npm's postinstall: applies patches/ with patch-package, when patch-package is installed.
//
// The patches are for development dependencies (dynalite: patches/dynalite+*.patch), and so is
// patch-package. An ops install (`npm ci --omit=dev`) has neither: a bare `patch-package` postinstall
// would fail there ("command not found") and with it the whole install, so this skips it, saying why.
// A development install runs it as before, and fails as it does when a patch no longer applies.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
let manifest;
try {
  manifest = require.resolve('patch-package/package.json');
} catch {
  process.stderr.write('postinstall: patch-package is not installed (an install without the development dependencies): patches/ is for development dependencies, skipped\n');
  process.exit(0);
}
const { bin: bins } = require(manifest);
const bin = join(dirname(manifest), typeof bins === 'string' ? bins : bins['patch-package']);
const run = spawnSync(process.execPath, [bin], { stdio: 'inherit' });
process.exit(run.status ?? 1);
