import { hostname, userInfo } from 'node:os';
import type { AggregateResult } from '#shared/usecases/aggregate.ts';
import { summaryOf, thresholdSourceText, type EvaluateResult, type EvaluateStep, type ThresholdChangePreview } from '#shared/usecases/evaluate.ts';
import { changesText, thresholdChangeText, type Report } from '#shared/usecases/report.ts';
import type { PublishResult } from '#shared/usecases/publish.ts';
import { durationText, RUN_LOCK_LEASE_MS } from '#shared/leases.ts';
import { formatFen } from '#shared/text/format.ts';
import { campaignRegistry } from '#shared/campaigns.ts';
import { ordersPerWeek } from '#shared/rules/progress.ts';
import { cut, Progress, table } from '#shared/text/terminal.ts';

/** What `renewal aggregate | evaluate | report | publish` print, and the progress bars of a local run. */

export interface Io {
  print: (s: string) => void;
  info: (s: string) => void;
  quiet?: boolean;
}

/** A progress callback that keeps one bar per phase. */
export function phaseProgress(quiet = false) {
  const bars = new Map<string, Progress>();
  return (done: number, total: number, phase: string) => {
    let bar = bars.get(phase);
    if (!bar) bars.set(phase, (bar = new Progress(phase, total, quiet)));
    bar.update(done);
    if (done === total) {
      bar.done();
      bars.delete(phase); // the next run of the same phase gets a bar of its own
    }
  };
}

/** Who runs this command, as another run that finds the aggregation lock held is told. */
export const holderName = (command: string) => `renewal ${command} by ${whoAmI()}@${hostname()} (pid ${process.pid})`;

export const whoAmI = () => {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
};

export function aggregateSummary(r: AggregateResult): string {
  if (r.status === 'busy')
    return `nothing done: the aggregation lock is held by ${r.holder?.holder ?? `run ${r.holder?.owner ?? '?'}`} until ${r.holder?.leaseUntil ?? '?'}${r.holder?.heartbeatAt ? ` (last heartbeat ${r.holder.heartbeatAt})` : ''}; run it again after that (a holder that stopped frees it ${durationText(RUN_LOCK_LEASE_MS)} after its last heartbeat)`;
  return table(
    ['mode', 'window from', 'window to', 'orders seen', 'stores recounted', 'store-days written', 'providers updated'],
    [[r.mode, r.window.from ?? '(everything)', r.window.to, r.ordersSeen, r.storesRecounted, r.storeDaysWritten, r.providersUpdated]],
    ['left', 'left', 'left', 'right', 'right', 'right', 'right'],
  );
}

const OUTCOME_ORDER = { revoked: 0, retained: 1, not_assessed: 2 } as const;

/** One line on the public notice after a publication. */
export function publishSummary(r: PublishResult): string {
  const what: Record<PublishResult['status'], string> = {
    published: `published version ${r.version}: ${r.providers} delisted provider(s)${r.corrections ? `, ${r.corrections} correction(s)` : ''}`,
    unchanged: `unchanged: version ${r.version} already lists these ${r.providers} provider(s); nothing written`,
    completed: `version ${r.version} finished (its files had not been written)`,
    not_yet: `not yet: the notice is first published at ${r.publishFrom}; nothing written`,
    no_final_decisions: 'no final decisions yet: nothing to publish',
  };
  return `public delisting notice: ${what[r.status]}\nnotice: ${r.url}`;
}

export function evaluationSummary(r: EvaluateResult): string {
  const banner =
    r.mode === 'final'
      ? `FINAL evaluation of ${r.campaignId} as of ${r.asOf}: ${r.revisionsCreated} new decision revision(s)${r.figuresOnly ? ` (${r.figuresOnly} in figures only: recorded, no mail)` : ''}, ${r.unchanged} unchanged`
      : r.mode === 'preview'
        ? `PREVIEW of ${r.campaignId} as of ${r.asOf}: the period has not closed; no status changed, no mail sent`
        : `DRY RUN of ${r.campaignId} as of ${r.asOf}: nothing was written`;
  const counts = table(
    ['outcome', 'providers'],
    [
      ['retained', r.counts.retained],
      ['revoked', r.counts.revoked],
      ['not assessed', r.counts.not_assessed],
      ['total', r.assessments.length],
    ],
    ['left', 'right'],
  );
  const threshold = `threshold: ${r.thresholdOrders} paid orders, from ${thresholdSourceText(r.thresholdSource ?? 'campaign')}${r.thresholdChange ? `; changed ${thresholdChangeText(r.thresholdChange)}` : ''}`;
  return `${banner}\n${threshold}\n\n${counts}\n\n${decisionTable(r.assessments)}`;
}

/** What a threshold change would change, refused until it is stated: counts, then the providers. */
export function thresholdChangeTable(p: ThresholdChangePreview): string {
  const head = `a change of the decided threshold of ${p.campaignId}: ${p.decided.join(', ')} → ${p.to} (from ${thresholdSourceText(p.source)}); NOT made`;
  const counts = table(
    ['what would change', 'providers'],
    [
      ['outcomes', p.outcomes],
      ['  newly revoked', p.revocations],
      ['  reinstated', p.reinstatements],
      ['reasons only', p.providers.length - p.outcomes],
      ['public notice entries', p.noticeEntries],
      ['figures only (no mail)', p.figuresOnly],
    ],
    ['left', 'right'],
  );
  const rows = p.providers.map((x) => [x.providerId, truncate(x.providerName, 22), x.from.outcome, x.from.reasons.join(', '), x.to.outcome, x.to.reasons.join(', '), x.to.paidOrders ?? '']);
  const list = rows.length
    ? `\n\n${table(['provider', 'name', 'outcome now', 'reasons now', 'would be', 'reasons', 'paid orders'], rows, ['left', 'left', 'left', 'left', 'left', 'left', 'right'])}`
    : '';
  return `${head}\n${summaryOf(p)}\n\n${counts}${list}`;
}

/** The steps of an evaluation whose later step failed: what is done and what is not. */
export function stepsTable(steps: readonly EvaluateStep[]): string {
  const status = { done: 'done', failed: 'FAILED', not_run: 'not run' } as const;
  return table(
    ['step', 'status', 'detail'],
    steps.map((st) => [st.step, status[st.status], st.detail]),
  );
}

/** Under the report's table: revisions that changed figures only (no mail), and threshold changes with who and why. */
export function revisionNotes(rows: Report['assessments']): string {
  const lines: string[] = [];
  const quiet = rows.filter((a) => a.figuresOnly);
  if (quiet.length) {
    lines.push(`${quiet.length} revision(s) changed figures only: recorded, no correction mail (what the provider was told still holds)`);
    lines.push(
      table(
        ['provider', 'rev', 'mail of rev', 'changed'],
        quiet.map((a) => [a.providerId, a.revision, a.mailRevision ?? '', changesText(a.changes)]),
      ),
    );
  }
  const changes = new Map(rows.flatMap((a) => (a.thresholdChange ? [[a.thresholdChange.runId, a.thresholdChange] as const] : [])));
  for (const t of changes.values()) lines.push(`${lines.length ? '\n' : ''}threshold changed ${thresholdChangeText(t)}`);
  return lines.join('\n');
}

/** Providers with their orders against the threshold and their deposit, revoked first. */
export function decisionTable(rows: Report['assessments'] | EvaluateResult['assessments']): string {
  const sorted = [...rows].sort((a, b) => OUTCOME_ORDER[a.outcome] - OUTCOME_ORDER[b.outcome] || a.providerId.localeCompare(b.providerId));
  // The report's rows carry each provider's mail status; an evaluation's do not (its mail comes after).
  const withMail = sorted.some((a) => 'mail' in a && a.mail);
  const mailCell = (a: (typeof sorted)[number]) => {
    const m = 'mail' in a ? a.mail : undefined;
    if (!m) return '';
    return `${m.status}${m.bounceType ? ` ${m.bounceType}` : ''}${m.at ? ` ${m.at.slice(0, 16).replace('T', ' ')}Z` : ''}`;
  };
  const out = table(
    ['provider', 'name', 'outcome', 'paid orders', 'threshold', '', 'deposit', 'reasons', 'rev', ...(withMail ? ['mail'] : [])],
    sorted.map((a) => [
      a.providerId,
      truncate(a.providerName, 22),
      a.outcome,
      a.paidOrders ?? '',
      a.thresholdOrders ?? '',
      a.paidOrders !== undefined && a.thresholdOrders ? bar(a.paidOrders / a.thresholdOrders) : '',
      a.depositBalanceFen !== undefined ? formatFen(a.depositBalanceFen) : '',
      a.reasons.join(', '),
      a.revision || '',
      ...(withMail ? [mailCell(a)] : []),
    ]),
    ['left', 'left', 'left', 'right', 'right', 'left', 'right', 'left', 'right', 'left'],
  );
  return out;
}

function bar(frac: number, width = 10): string {
  const filled = Math.max(0, Math.min(width, Math.floor(frac * width)));
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}${frac >= 1 ? '✓' : ' '}`;
}

/** One line of at most `n` columns (shared/text/terminal.ts `cut`: by grapheme and display width, controls neutralized). */
const truncate = (s: string, n: number): string => cut(s.replace(/\s+/g, ' '), n);

/**
 * Progress over the season as a picture: counted paid orders per week (weeks of 7 days from the
 * period's first day, as in the progress mail), all providers together, as horizontal bars.
 */
export function seasonChart(days: readonly string[], byDay: Record<string, number>, width = 40): string {
  const weeks = ordersPerWeek(days, byDay).map((w) => ({
    label: `week ${String(w.number).padStart(2)}  ${w.days[0]} ~ ${w.days.at(-1)}`,
    n: w.orders,
  }));
  const max = Math.max(1, ...weeks.map((w) => w.n));
  const total = weeks.reduce((a, w) => a + w.n, 0);
  const lines = weeks.map((w) => `${w.label}  ${'█'.repeat(Math.round((w.n / max) * width)).padEnd(width, ' ')}  ${w.n.toLocaleString('en-US')}`);
  return [`counted paid orders per week, all providers (${total.toLocaleString('en-US')} in the season)`, ...lines].join('\n');
}

/** The season's counted orders per day, summed over every provider's aggregate. */
export async function seasonByDay(deps: { aggregates: import('#shared/store/aggregates.ts').AggregateStore }, campaignId: string): Promise<Record<string, number>> {
  const sum: Record<string, number> = {};
  const campaign = campaignRegistry().require(campaignId);
  for (const t of await deps.aggregates.providerTotals(campaign)) for (const [d, n] of Object.entries(t.byDay)) sum[d] = (sum[d] ?? 0) + n;
  return sum;
}
