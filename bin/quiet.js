// Loaded first by every entry (bin/renewal.js, tools/run.js), before any module of the project.
// Lambda runs nodejs22.x; locally Node 20 is supported on purpose, so the SDK's notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// An operator's tool: Powertools' JSON logs and EMF metrics belong in CloudWatch, not in the middle of
// a table. Powertools has no other switch than these variables, which its Logger and Metrics read when
// they are constructed, so they are set here, before anything else loads.
// RENEWAL_VERBOSE=1 brings the logs back (on stdout, as Lambda prints them).
if (!process.env.RENEWAL_VERBOSE) {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}
