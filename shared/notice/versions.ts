/**
 * The public delisting notice (摘牌公示, RULES.md clause 3) as data: who is on it and when a new
 * numbered version is due. Pure: no I/O, no clock; every input is passed in. Its files are files.ts
 * (JSON, CSV) and page.ts (the page).
 *
 * The list is exactly the revoked providers of the current final decisions. Order counts and deposit
 * amounts are not public: only the name, the id, which requirement was not met (in words), the notice
 * date and the date from which each may re-apply. Each publication is an immutable version; a version
 * after the first carries every correction so far (who, what changed, in which version, when).
 */
import type { StoredDecision } from '../model.ts';
import type { Reason } from '../rules/rules.ts';
import { displayName } from '../text/format.ts';

/** One delisted provider, as the public sees it. */
export interface NoticeEntry {
  providerId: string;
  /** The provider's name on one line (control characters and line breaks become spaces); its id if blank. */
  name: string;
  /** Only the failing requirements: `orders_below_threshold`, `deposit_not_paid_in_full`. */
  reasons: Reason[];
  noticeDate: string;
  reapplyFrom: string;
}

export type CorrectionChange = 'delisted' | 'reinstated' | 'amended';

/** A change of the list made public by a later version. */
export interface NoticeCorrection {
  /** The version that made the change. */
  version: number;
  providerId: string;
  name: string;
  /** `delisted`: added to the list; `reinstated`: taken off it; `amended`: its reasons or dates changed. */
  change: CorrectionChange;
  /** When the correction was published (the version's publishedAt). */
  at: string;
  /** The reasons after the change (delisted, amended) and before it (reinstated, amended). */
  reasons?: Reason[];
  previousReasons?: Reason[];
}

/** One published version: what `notice.json` holds, less the URLs. */
export interface NoticeVersion {
  campaignId: string;
  version: number;
  publishedAt: string;
  providers: NoticeEntry[];
  /** Every correction since version 1, oldest first. */
  corrections: NoticeCorrection[];
}

/**
 * The public list from the current decisions: final and revoked, nobody else (retained, not assessed
 * and preview decisions never appear), ordered by provider id.
 */
export function noticeEntries(decisions: readonly StoredDecision[]): NoticeEntry[] {
  return decisions
    .filter((d) => d.final && d.outcome === 'revoked')
    .map((d) => ({
      providerId: d.providerId,
      name: publicName(d.providerName, d.providerId),
      reasons: d.reasons.filter((r): r is Reason => r === 'orders_below_threshold' || r === 'deposit_not_paid_in_full'),
      noticeDate: d.noticeDate!,
      reapplyFrom: d.reapplyFrom!,
    }))
    .sort((a, b) => (a.providerId < b.providerId ? -1 : a.providerId > b.providerId ? 1 : 0));
}

/** The name as the notice prints it: one line of text, as in the mail (escaped again wherever it is markup). */
export const publicName = displayName;

const same = (a: NoticeEntry, b: NoticeEntry) => a.name === b.name && a.noticeDate === b.noticeDate && a.reapplyFrom === b.reapplyFrom && a.reasons.join() === b.reasons.join();

/**
 * The next version, or undefined when `entries` is the list `previous` already published (publishing
 * the same list twice writes nothing). The first version has no corrections; a later one adds, for
 * each provider whose line changed, a correction dated `publishedAt`.
 */
export function nextNoticeVersion(previous: NoticeVersion | undefined, entries: readonly NoticeEntry[], campaignId: string, publishedAt: string): NoticeVersion | undefined {
  if (previous && previous.providers.length === entries.length && previous.providers.every((p, i) => p.providerId === entries[i]!.providerId && same(p, entries[i]!))) {
    return undefined;
  }
  const version = (previous?.version ?? 0) + 1;
  const corrections = [...(previous?.corrections ?? [])];
  if (previous) {
    const before = new Map(previous.providers.map((p) => [p.providerId, p]));
    const after = new Map(entries.map((p) => [p.providerId, p]));
    const ids = [...new Set([...before.keys(), ...after.keys()])].sort();
    for (const providerId of ids) {
      const b = before.get(providerId);
      const a = after.get(providerId);
      if (a && !b) corrections.push({ version, providerId, name: a.name, change: 'delisted', at: publishedAt, reasons: a.reasons });
      else if (b && !a) corrections.push({ version, providerId, name: b.name, change: 'reinstated', at: publishedAt, previousReasons: b.reasons });
      else if (a && b && !same(a, b)) corrections.push({ version, providerId, name: a.name, change: 'amended', at: publishedAt, reasons: a.reasons, previousReasons: b.reasons });
    }
  }
  return { campaignId, version, publishedAt, providers: entries.map((e) => ({ ...e, reasons: [...e.reasons] })), corrections };
}
