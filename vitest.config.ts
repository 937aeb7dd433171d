import { defineConfig } from 'vitest/config';
import ClosingLine from './test/support/closing-line.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // The default report, then one plain closing line `N passed, N failed` (CI reads it).
    reporters: ['default', new ClosingLine()],
    // Powertools has no switch but its own variables: the handlers' logs and metrics stay out of the test output.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
    // Integration tests share one embedded stack for the run (test/support/global-setup.ts);
    // two workers keep both cores busy without starving dynalite.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
