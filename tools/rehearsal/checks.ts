/**
 * The rehearsal's checks, each a pure function of what the season left: the IAM figures (denied calls,
 * grants never used), the mail SES accepted (one outcome per assessed provider, progress per week),
 * the published notice against the revoked providers, the metrics a dashboard reads, and the problems
 * they add up to. The decisions are compared in decisions.ts.
 */
import type { Report } from '#shared/usecases/report.ts';
import type { SesSend } from './gateway-requests.ts';
import type { CallRecord, Grant } from './iam.ts';
import type { RehearsalResult } from './result.ts';
import type { RehearsalSeason } from './season-feed.ts';

/** Calls and grants as the result lists them. */
export function iamFigures(calls: CallRecord[], unused: Grant[]): RehearsalResult['iam'] {
  const denied = calls.filter((c) => !c.allowed);
  return {
    deniedCalls: denied.reduce((n, c) => n + c.count, 0),
    denied: denied.map((c) => ({ function: c.principal, action: c.action, resource: c.resource, count: c.count })),
    calls: calls.filter((c) => c.allowed).map((c) => ({ function: c.principal, action: c.action, resource: c.resource, count: c.count })),
    unusedGrants: unused.map((g) => ({ function: g.principal, action: g.action, resource: g.resource, ...(g.acknowledged ? { acknowledged: g.acknowledged } : {}) })),
  };
}

/** Mail as SES accepted it: one outcome per assessed provider, progress per week. */
export function mailFigures(sends: SesSend[], season: RehearsalSeason, report: Report | undefined): RehearsalResult['mail'] {
  const kindOf = (s: SesSend): 'outcome' | 'progress' | 'other' => {
    const tagged = Object.values(s.tags).join(' ');
    if (/outcome/i.test(tagged) || /续牌结果/.test(s.subject)) return 'outcome';
    if (/progress/i.test(tagged) || /续牌进度/.test(s.subject)) return 'progress';
    return 'other';
  };
  const outcome = sends.filter((s) => kindOf(s) === 'outcome');
  const seen = new Set<string>();
  let duplicates = 0;
  for (const s of outcome) {
    const key = `${s.to.join(',')}\u0000${s.subject}`;
    if (seen.has(key)) duplicates++;
    seen.add(key);
  }
  const mailed = new Set(outcome.flatMap((s) => s.to.map((t) => t.toLowerCase())));
  const missing = (report?.assessments ?? [])
    .filter((a) => a.outcome !== 'not_assessed')
    .filter((a) => {
      const email = season.providers.get(a.providerId)?.email;
      return !email || !mailed.has(email.toLowerCase());
    })
    .map((a) => a.providerId);
  const byWeek: Record<string, number> = {};
  for (const s of sends.filter((x) => kindOf(x) === 'progress')) {
    const week = s.subject.match(/第\s*(\d+)\s*周/)?.[1] ?? '?';
    byWeek[week] = (byWeek[week] ?? 0) + 1;
  }
  const status: Record<string, number> = {};
  for (const a of report?.assessments ?? []) if (a.mail) status[a.mail.status] = (status[a.mail.status] ?? 0) + 1;
  return {
    outcome: { sent: outcome.length, duplicates, missing },
    status,
    progress: { sent: Object.values(byWeek).reduce((a, b) => a + b, 0), byWeek },
    configurationSets: [...new Set(sends.map((s) => s.configurationSet ?? '(none)'))],
  };
}

/** Every metric the functions emitted, and whether each custom metric a dashboard reads was among them. */
export function metricFigures(dashboardBodies: string[], emitted: RehearsalResult['metrics']['emitted']): RehearsalResult['metrics'] {
  const dashboard: RehearsalResult['metrics']['dashboard'] = [];
  for (const text of dashboardBodies) {
    const body = JSON.parse(text) as { widgets: { properties?: { metrics?: unknown[][] } }[] };
    for (const w of body.widgets) {
      for (const row of w.properties?.metrics ?? []) {
        const parts = row.filter((x): x is string => typeof x === 'string');
        const [namespace, name, ...dims] = parts[0] === '.' || parts[0] === '..' ? [] : parts;
        if (!namespace || !name || namespace.startsWith('AWS/')) continue;
        const dimensions: Record<string, string> = {};
        for (let i = 0; i + 1 < dims.length; i += 2) dimensions[dims[i]!] = dims[i + 1]!;
        const hit = emitted.some((m) => m.namespace === namespace && m.name === name && JSON.stringify(sorted(m.dimensions)) === JSON.stringify(sorted(dimensions)));
        if (!dashboard.some((x) => x.namespace === namespace && x.name === name && JSON.stringify(x.dimensions) === JSON.stringify(dimensions)))
          dashboard.push({ namespace, name, dimensions, emitted: hit });
      }
    }
  }
  return { emitted, dashboard };
}

/** What a decision is, without when and by whom it was made. */
export const decisionOf = (a: Report['assessments'][number]) => [a.providerId, a.outcome, a.reasons, a.paidOrders, a.depositBalanceFen, a.revision];

const sorted = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

/** The published notice (`latest/notice.json`, undefined when none was published) against the report's revoked providers. */
export function noticeFigure(notice: { version: number; providers: { providerId: string }[] } | undefined, report: Report, key: string): NonNullable<RehearsalResult['notice']> {
  const revoked = report.assessments
    .filter((a) => a.outcome === 'revoked')
    .map((a) => a.providerId)
    .sort();
  if (!notice) return { version: 0, providers: 0, revoked: revoked.length, matchesDecisions: revoked.length === 0, key };
  const listed = notice.providers.map((p) => p.providerId).sort();
  return { version: notice.version, providers: listed.length, revoked: revoked.length, matchesDecisions: JSON.stringify(listed) === JSON.stringify(revoked), key };
}

/** What the figures say is wrong, one line each; none means the rehearsal passed. */
export function problemsOf(f: {
  iam: RehearsalResult['iam'];
  decisions: RehearsalResult['decisions'];
  deadLettered: number;
  mail: RehearsalResult['mail'];
  metrics: RehearsalResult['metrics'];
  functions: RehearsalResult['functions'];
  stopped: boolean;
  report: boolean;
}): string[] {
  const problems: string[] = [];
  if (f.iam.deniedCalls) problems.push(`${f.iam.deniedCalls} call(s) denied by IAM`);
  const unacknowledged = f.iam.unusedGrants.filter((g) => !g.acknowledged);
  if (unacknowledged.length) problems.push(`${unacknowledged.length} grant(s) never used and not acknowledged`);
  if (f.decisions.mismatches) problems.push(`${f.decisions.mismatches} decision figure(s) differ from the season's oracle`);
  if (f.deadLettered) problems.push(`${f.deadLettered} message(s) dead-lettered`);
  if (f.mail.outcome.duplicates) problems.push(`${f.mail.outcome.duplicates} outcome mail(s) sent more than once`);
  if (f.mail.outcome.missing.length) problems.push(`${f.mail.outcome.missing.length} assessed provider(s) got no outcome mail`);
  const silent = f.metrics.dashboard.filter((m) => !m.emitted);
  if (silent.length) problems.push(`${silent.length} dashboard metric(s) never emitted: ${silent.map((m) => `${m.namespace}/${m.name}`).join(', ')}`);
  for (const [name, s] of Object.entries(f.functions)) {
    if (s.timeouts) problems.push(`${name} timed out ${s.timeouts} time(s) (timeout ${s.timeoutMs / 1000} s)`);
    if (s.peakMemoryMb > s.memoryMb) problems.push(`${name} used ${s.peakMemoryMb} MB, over its ${s.memoryMb} MB`);
  }
  if (f.stopped) problems.push('stopped at the first failure (--fail-fast)');
  if (!f.report) problems.push('no report: the deployment decided nothing that could be read');
  return problems;
}
