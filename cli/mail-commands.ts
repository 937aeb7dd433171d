import type { NotifyResult } from '#shared/usecases/notify.ts';
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
