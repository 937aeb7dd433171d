// Loaded first by every entry (bin/renewal.js, tools/run.js), before any module of the project.

// It runs on Node 24, the major of Lambda's nodejs24.x: package.json's `node` dependency installs it as
// node_modules/.bin/node, which npm scripts and npx put first on PATH (`npm start`, `npx renewal`).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `renewal: this is Node ${process.version}; the CLI runs on Node 24, as the functions do on Lambda (nodejs24.x). ` +
      'Run it through npm, which uses the Node 24 that `npm ci` installed: `npx renewal ...` or `npm start`.\n',
  );
  process.exit(1);
}

// An operator's tool: Powertools' JSON logs and EMF metrics belong in CloudWatch, not in the middle of
// a table. Powertools has no other switch than these variables, which its Logger and Metrics read when
// they are constructed, so they are set here, before anything else loads.
// RENEWAL_VERBOSE=1 brings the logs back (on stdout, as Lambda prints them).
if (!process.env.RENEWAL_VERBOSE) {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}
