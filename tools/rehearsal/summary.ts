/** The rehearsal's result as a person reads it: one table per concern, problems first. */
import { table } from '#shared/text/terminal.ts';
import type { RehearsalResult } from './rehearse.ts';

// size: one linear report, a heading and a table per concern in the order a person reads them
export function rehearsalSummary(r: RehearsalResult): string {
  const out: string[] = [];
  out.push(`${r.ok ? 'REHEARSAL PASSED' : 'REHEARSAL FAILED'}: ${r.season.name}, ${r.season.events} events, clock ${r.season.clock.start} → ${r.season.clock.end}, ${r.realSeconds} s`);
  for (const p of r.problems) out.push(`  ✗ ${p}`);
  if (r.season.afterClock) out.push(`  (${r.season.afterClock} event(s) dated after the clock stops were not delivered)`);
  if (Object.keys(r.parameters).length)
    out.push(
      `parameters: ${Object.entries(r.parameters)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
    );

  out.push('', 'Schedules (a firing with no arrival since the last good run of a function that only reads arrivals is idle, not invoked)');
  out.push(
    table(
      ['schedule', 'expression', 'firings', 'invoked', 'idle', 'failed', 'retries', 'dead-lettered'],
      Object.entries(r.schedules).map(([id, s]) => [id, s.expression, s.firings, s.invoked, s.idle, s.failed, s.retries, s.deadLettered]),
      ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  );

  out.push('', 'Functions (durations on the simulated clock; memory is the peak RSS on this machine)');
  out.push(
    table(
      ['function', 'invocations', 'errors', 'retries', 'timeouts', 'dead-lettered', 'max duration', 'timeout', 'peak memory', 'memory size'],
      Object.entries(r.functions).map(([name, f]) => [
        name,
        f.invocations,
        f.errors,
        f.retries,
        f.timeouts,
        f.deadLettered,
        seconds(f.maxDurationMs),
        seconds(f.timeoutMs),
        `${f.peakMemoryMb} MB`,
        `${f.memoryMb} MB`,
      ]),
      ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  );
  for (const [name, f] of Object.entries(r.functions)) if (f.lastError) out.push(`  ${name}: last error: ${f.lastError}`);

  out.push('', 'Queues');
  out.push(
    table(
      ['queue', 'sent', 'deduplicated', 'received', 'deleted', 'redelivered', 'dead-lettered', 'left', 'batches', 'largest batch'],
      Object.entries(r.queues).map(([name, q]) => [name, q.sent, q.deduplicated, q.received, q.deleted, q.redelivered, q.deadLettered, q.depth, q.batches || '', q.maxBatch || '']),
      ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  );

  const calls = r.iam.calls.reduce((n, c) => n + c.count, 0);
  out.push('', `IAM: ${calls} calls allowed, ${r.iam.deniedCalls} denied; ${r.iam.unusedGrants.length} grant(s) unused (${r.iam.unusedGrants.filter((g) => !g.acknowledged).length} not acknowledged)`);
  if (r.iam.denied.length)
    out.push(
      table(
        ['DENIED: function', 'action', 'resource', 'calls'],
        r.iam.denied.map((d) => [d.function, d.action, d.resource, d.count]),
        ['left', 'left', 'left', 'right'],
      ),
    );
  if (r.iam.unusedGrants.length)
    out.push(
      table(
        ['unused grant: principal', 'action', 'resource', 'acknowledged'],
        r.iam.unusedGrants.map((g) => [g.function, g.action, g.resource, g.acknowledged ?? 'NO']),
      ),
    );
  out.push(
    table(
      ['calls: principal', 'action', 'resource', 'count'],
      r.iam.calls.map((c) => [c.function, c.action, shortArn(c.resource), c.count]),
      ['left', 'left', 'left', 'right'],
    ),
  );

  out.push(
    '',
    `Decisions: ${r.decisions.total} providers decided${r.decisions.thresholdOrders !== undefined ? ` (threshold ${r.decisions.thresholdOrders})` : ''}; ${r.decisions.mismatches === null ? 'no oracle for this season' : `${r.decisions.mismatches} difference(s) from the season's oracle`}`,
  );
  if (r.decisions.detail.length)
    out.push(
      table(
        ['provider', 'field', 'expected', 'deployment'],
        r.decisions.detail.slice(0, 30).map((x) => [x.providerId, x.field, String(x.expected), String(x.actual)]),
      ),
    );
  if (r.report) {
    const counts = { retained: 0, revoked: 0, not_assessed: 0 } as Record<string, number>;
    for (const a of r.report.assessments) counts[a.outcome] = (counts[a.outcome] ?? 0) + 1;
    out.push(`  retained ${counts.retained}, revoked ${counts.revoked}, not assessed ${counts.not_assessed}`);
  }

  if (r.drill.length) {
    out.push('', 'By hand after the season (as ops run them: OPS.md payloads)');
    out.push(
      table(
        ['run', 'result'],
        r.drill.map((x) => [x.what, x.ok ? 'ok' : `FAILED: ${x.error}`]),
      ),
    );
  }

  out.push(
    '',
    `Mail (configuration set: ${r.mail.configurationSets.join(', ') || 'none'}): outcome ${r.mail.outcome.sent} sent, ${r.mail.outcome.duplicates} duplicate(s), ${r.mail.outcome.missing.length} missing; progress ${r.mail.progress.sent} sent`,
  );
  if (Object.keys(r.mail.status).length)
    out.push(
      `  outcome mail by delivery status (the deployed report): ${Object.entries(r.mail.status)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
  if (r.notice)
    out.push('', `Notice: version ${r.notice.version} lists ${r.notice.providers} provider(s); ${r.notice.matchesDecisions ? 'exactly' : 'NOT'} the ${r.notice.revoked} revoked (${r.notice.key})`);
  const weeks = Object.entries(r.mail.progress.byWeek).sort(([a], [b]) => Number(a) - Number(b));
  if (weeks.length)
    out.push(
      table(
        ['progress week', 'mails'],
        weeks.map(([w, n]) => [w, n]),
        ['right', 'right'],
      ),
    );

  out.push(
    '',
    `Metrics: ${r.metrics.emitted.length} emitted${r.metrics.dashboard.length ? `; the dashboard reads ${r.metrics.dashboard.length} custom metric(s), ${r.metrics.dashboard.filter((m) => !m.emitted).length} never emitted` : ''}`,
  );
  const rows = r.metrics.dashboard.length
    ? r.metrics.dashboard.map((m) => [m.namespace, m.name, JSON.stringify(m.dimensions), m.emitted ? 'yes' : 'NO'])
    : r.metrics.emitted.map((m) => [m.namespace, m.name, JSON.stringify(m.dimensions), `${m.function} (${m.count})`]);
  if (rows.length) out.push(table(['namespace', 'metric', 'dimensions', r.metrics.dashboard.length ? 'emitted' : 'by'], rows));

  if (r.deadLetters.length) {
    out.push('', 'Dead-lettered messages');
    for (const dl of r.deadLetters.slice(0, 10)) out.push(`  ${dl.queue}: ${dl.body.slice(0, 300)}`);
  }
  return out.join('\n');
}

const seconds = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 1000).toFixed(2)} s`);
const shortArn = (a: string) => a.replace(/^arn:aws:[^:]+:[^:]*:\d*:/, '');
