import { durationText, NOTICE_CLAIM_LEASE_MS } from '#shared/leases.ts';
import type { NotifyResult } from '#shared/usecases/notify.ts';
import { table } from '#shared/text/terminal.ts';

/** What `renewal notify` (and the outcome mail after `renewal evaluate`) prints, and its exit status. */

export function notifySummary(r: NotifyResult, viewer?: string): string {
  const lines = [
    table(
      ['kind', 'due', 'sent now', 'sent before', 'recovered', 'in flight elsewhere', 'uncertain', 'failed'],
      [[r.kind, r.due, r.sent, r.alreadySent, r.recovered, r.inFlight, r.uncertain.length, r.failed.length]],
      ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  ];
  if (r.note) lines.push(r.note);
  if (r.recovered) lines.push(`${r.recovered} notice(s) left "sending" by a run that stopped were found sent by SES and marked sent (not sent again)`);
  if (r.inFlight)
    lines.push(
      `${r.inFlight} notice(s) are claimed by another run until ${r.inFlightUntil ?? '?'} (a claim lasts ${durationText(NOTICE_CLAIM_LEASE_MS)} unless its run renews it): run renewal notify again after that`,
    );
  for (const u of r.uncertain) lines.push(`uncertain: ${u.providerId} notice ${u.seq}: ${u.reason}; renewal notify settles it after ${u.after}`);
  for (const u of r.unrecorded) lines.push(`sent but not recorded (SES's evidence settles it on the next run): ${u.providerId} notice ${u.seq}: ${u.reason}`);
  if (r.failed.length)
    lines.push(
      '',
      table(
        ['provider', 'notice', 'retried later', 'reason'],
        r.failed.map((f) => [f.providerId, f.seq, f.permanent ? 'no' : 'yes', f.reason.slice(0, 100)]),
      ),
    );
  if (r.bounced.length || r.complained.length) {
    lines.push('', `ATTENTION: ${r.bounced.length} ${r.kind} mail(s) bounced and ${r.complained.length} drew a complaint; these providers did not get (or did not want) the mail:`);
    lines.push(
      table(
        ['provider', 'notice', 'what', 'at'],
        [
          ...r.bounced.map((b) => [b.providerId, b.seq, `bounced ${b.bounceType}/${b.bounceSubType}`, b.at]),
          ...r.complained.map((c) => [c.providerId, c.seq, `complaint${c.feedbackType ? ` (${c.feedbackType})` : ''}`, c.at]),
        ],
      ),
    );
  }
  if (r.stopped)
    lines.push(
      '',
      `notify stopped: ${r.stopped.reason}`,
      `${r.sent} sent, ${r.stopped.left} left to send (${r.stopped.notTried} of them not tried); when SES answers again, run: renewal notify --campaign ${r.campaignId} --kind ${r.kind}`,
    );
  if (viewer) lines.push(`mail viewer: ${viewer}`);
  return lines.join('\n');
}

/**
 * notify's exit status (OPS.md): 1 when SES could not be reached or a transient failure outlasted the retries (run it again), 75
 * when notices are held by another run or wait for SES's evidence (run it again later), else 0.
 */
export function notifyExitCode(r: NotifyResult): number {
  if (r.stopped || r.failed.some((f) => !f.permanent)) return 1;
  if (r.inFlight || r.uncertain.length) return 75;
  return 0;
}
