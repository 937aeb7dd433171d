/**
 * What the rehearsal reads once the season is played: the deployment's report (its decisions), the
 * notice it published, and the runs ops make by hand afterwards, none of which may change a decision
 * or send a mail twice.
 */
import { periodWindow, type Campaign } from '#shared/rules/campaign.ts';
import { addDays } from '#shared/rules/time.ts';
import type { Report } from '#shared/usecases/report.ts';
import { decisionOf, noticeFigure } from './checks.ts';
import type { RehearsalResult } from './result.ts';
import { campaignOf } from './topology.ts';
import type { Rehearsal } from './wiring.ts';

export interface AfterSeason {
  report?: Report;
  notice?: RehearsalResult['notice'];
  drill: RehearsalResult['drill'];
  problems: string[];
}

/** What the deployment decided, the notice it published, and the runs by hand ops make afterwards. */
export async function afterSeason(r: Rehearsal): Promise<AfterSeason> {
  const problems: string[] = [];
  const campaign = campaignOf(r.d, r.o.campaignId);
  const readReport = async (): Promise<Report | undefined> => {
    const reportFn = r.lambda.byName.get('report');
    if (!reportFn) return undefined;
    const res = await r.lambda.run(reportFn, { campaignId: campaign.campaignId }, r.clock.now);
    if (!res.ok) problems.push(`the report function failed: ${res.error?.errorType}: ${res.error?.errorMessage}`);
    return res.ok ? (res.value as Report) : undefined;
  };
  const report = await readReport();
  const notice = report ? await readNotice(r, campaign.campaignId, report) : undefined;
  if (notice && !notice.matchesDecisions) problems.push(`the published notice lists ${notice.providers} provider(s), not exactly the ${notice.revoked} revoked ones`);
  const mailBeforeDrill = r.sesSends.length;
  const drill = r.failFast.stopped || !report ? [] : await opsDrill(r, campaign, report, problems);
  if (drill.length) {
    const again = await readReport();
    if (JSON.stringify(again?.assessments.map(decisionOf)) !== JSON.stringify(report!.assessments.map(decisionOf))) problems.push('the runs by hand after the season changed a decision');
    const resent = r.sesSends.slice(mailBeforeDrill).filter((m) => /续牌结果/.test(m.subject) || /outcome/i.test(Object.values(m.tags).join(' ')));
    if (resent.length) problems.push(`the runs by hand after the season sent ${resent.length} outcome mail(s) again`);
  }
  return { ...(report ? { report } : {}), ...(notice ? { notice } : {}), drill, problems };
}

/** The newest published notice (`latest/notice.json` in the template's bucket). */
async function readNotice(r: Rehearsal, campaignId: string, report: Report): Promise<RehearsalResult['notice']> {
  const bucket = r.d.resourcesOfType('AWS::S3::Bucket').map((b) => r.d.physicalName(b))[0];
  if (!bucket) return undefined;
  const key = `${campaignId}/latest/notice.json`;
  const res = await fetch(`${r.s3Url}/${bucket}/${key}`);
  return noticeFigure(res.ok ? ((await res.json()) as { version: number; providers: { providerId: string }[] }) : undefined, report, key);
}

/**
 * What ops do by hand after the season (../shared/OPS.md payloads, invoked as `renewal … --aws`
 * invokes them): a full recount, a re-evaluation of one provider, a preview as of mid-season, the
 * outcome mail asked for again. None may change a decision or send a mail twice; they use the
 * grants that a season's schedules alone never need.
 */
async function opsDrill(r: Rehearsal, campaign: Campaign, report: Report, problems: string[]): Promise<RehearsalResult['drill']> {
  const { campaignId } = campaign;
  // The middle day of the period, 00:00 China time.
  const midSeason = `${addDays(campaign.periodStartDate, Math.floor(periodWindow(campaign).days.length / 2))}T00:00:00+08:00`;
  const provider = report.assessments.find((a) => a.outcome !== 'not_assessed')?.providerId ?? report.assessments[0]?.providerId;
  const by = 'rehearsal';
  // The certification process asks about revoked providers (clause 3).
  const revoked = report.assessments.find((a) => a.outcome === 'revoked')?.providerId ?? provider;
  const runs: [string, string, unknown][] = [
    ['aggregate', 'full recount (renewal aggregate --full)', { campaignId, full: true }],
    ...(provider
      ? [['evaluate', `re-evaluation of ${provider} (renewal evaluate --provider ${provider})`, { campaignId, providerIds: [provider], requestedBy: by }] as [string, string, unknown]]
      : []),
    ['evaluate', `preview as of mid-season (renewal evaluate --as-of ${midSeason})`, { campaignId, asOf: midSeason, requestedBy: by }],
    ['notify', 'outcome mail asked for again (renewal notify --kind outcome)', { campaignId, kind: 'outcome' }],
    ...(revoked ? [['reapply', `re-application check of ${revoked} (renewal reapply check --provider ${revoked})`, { providerId: revoked }] as [string, string, unknown]] : []),
  ];
  const out: RehearsalResult['drill'] = [];
  for (const [name, what, payload] of runs) {
    const fn = r.lambda.byName.get(name);
    if (!fn) continue;
    const res = await r.lambda.run(fn, payload, r.clock.now);
    out.push({ what, ok: res.ok, ...(res.ok ? {} : { error: `${res.error?.errorType}: ${res.error?.errorMessage}` }) });
    if (!res.ok) problems.push(`by hand, ${what} failed: ${res.error?.errorType}: ${res.error?.errorMessage}`);
    // What it handed on (the re-evaluation asks notify for the outcome mail) runs before the next.
    for (let due = r.clock.pop(); due; due = r.clock.pop()) if (due.kind === 'async') await r.invoker.attempt(due);
  }
  return out;
}
