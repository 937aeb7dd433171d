import type { NotifyResult } from '#shared/usecases/notify.ts';
import type { MailStatusLookup } from '#shared/usecases/report.ts';
import type { stores } from '#shared/deps.ts';
import { phaseProgress } from './season-commands.ts';
import { table } from './output.ts';

/**
 * The local side of `renewal notify` and of the outcome mail after `renewal evaluate`: the notify
 * function runs in this process and sends through aws-ses-v2-local.
 */

/** The embedded stack's sender: a made-up domain, replies to the rules' feedback mailbox, a quick pace. */
export function useLocalMailDefaults(): void {
  process.env.MAIL_FROM ??= 'renewal-noreply@provider-renewal.example';
  process.env.MAIL_FROM_NAME ??= '抖音电商服务市场 Douyin Service Market';
  process.env.MAIL_REPLY_TO ??= 'douyinpartner@bytedance.com';
  process.env.MAIL_RATE_PER_SECOND ??= '50';
}

export async function sendDueMail(
  p: { campaignId: string; kind: 'outcome' | 'progress'; asOf?: string },
  io: { print: (s: string) => void; info: (s: string) => void; quiet?: boolean },
): Promise<NotifyResult> {
  useLocalMailDefaults();
  const [{ stores: makeStores }, { tableNamesFromEnv }, { makeNotify }] = await Promise.all([
    import('#shared/deps.ts'),
    import('#shared/config.ts'),
    import('#functions/notify.ts'),
  ]);
  const handler = makeNotify({ ...makeStores(tableNamesFromEnv()), progress: phaseProgress(io.quiet) });
  return handler({ campaignId: p.campaignId, kind: p.kind, ...(p.asOf ? { asOf: p.asOf } : {}) });
}

export function notifySummary(r: NotifyResult, viewer?: string): string {
  const lines = [
    table(
      ['kind', 'due', 'sent now', 'sent before', 'in flight elsewhere', 'failed'],
      [[r.kind, r.due, r.sent, r.alreadySent, r.inFlight, r.failed.length]],
      ['left', 'right', 'right', 'right', 'right', 'right'],
    ),
  ];
  if (r.note) lines.push(r.note);
  for (const u of r.unrecorded) lines.push(`sent but not recorded (may be re-sent after the 5-minute lease): ${u.providerId} notice ${u.seq}: ${u.reason}`);
  if (r.failed.length)
    lines.push(
      '',
      table(
        ['provider', 'notice', 'retried later', 'reason'],
        r.failed.map((f) => [f.providerId, f.seq, f.permanent ? 'no' : 'yes', f.reason.slice(0, 100)]),
      ),
    );
  if (viewer) lines.push(`mail viewer: ${viewer}`);
  return lines.join('\n');
}

/** Per provider, the state of the outcome notice of its latest revision, for the report. */
export function mailStatusLookup(deps: ReturnType<typeof stores>): MailStatusLookup {
  return async (campaignId) => {
    const latest = new Map<string, { status: string; detail?: string; seq: number }>();
    for (const e of await deps.outbox.entries(campaignId, 'outcome')) {
      const prev = latest.get(e.providerId);
      if (prev && prev.seq > e.seq) continue;
      latest.set(e.providerId, { seq: e.seq, status: e.status, ...(e.error ? { detail: e.error } : e.sentAt ? { detail: `sent ${e.sentAt}` } : {}) });
    }
    return new Map([...latest].map(([p, { seq: _seq, ...v }]) => [p, v]));
  };
}
