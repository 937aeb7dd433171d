import type { Campaign } from '../rules/campaign.ts';
import { earlierCampaigns, type ProfileVersion, type Revocation } from '../rules/seasons.ts';
import type { DecisionStore } from '../store/decisions.ts';
import type { StoredProfile } from '../store/source.ts';

/**
 * What the seasons rules read (RULES.md "Seasons after the first"), shared by the evaluation and the
 * progress mail: earlier campaigns' revocations, and every profile version.
 */

/**
 * The current final revocations of the campaigns before `c` (RULES.md "order of evaluation": later
 * campaigns read earlier campaigns' current final decisions), per provider: one Query of each earlier
 * campaign's current decisions, or one BatchGetItem of the chosen providers. Campaigns whose notice
 * date is not before `c`'s certification cut cannot bear on its scope and are not read, so the first
 * campaign reads nothing more, and a closed campaign never reads a later one.
 */
export async function earlierRevocations(
  c: Campaign,
  known: readonly Campaign[],
  decisions: Pick<DecisionStore, 'current'> & Partial<Pick<DecisionStore, 'currentOf'>>,
  providerIds?: readonly string[],
): Promise<Map<string, Revocation[]>> {
  const earlier = earlierCampaigns(c, known);
  const lists = await Promise.all(earlier.map((k) => (providerIds && decisions.currentOf ? decisions.currentOf(k.campaignId, providerIds) : decisions.current(k.campaignId))));
  const out = new Map<string, Revocation[]>();
  for (const d of lists.flat()) {
    if (!d.final || d.outcome !== 'revoked' || !d.noticeDate) continue;
    const list = out.get(d.providerId) ?? out.set(d.providerId, []).get(d.providerId)!;
    list.push({ campaignId: d.campaignId, noticeDate: d.noticeDate, revision: d.revision });
  }
  return out;
}

/** Every version of a stored profile as the seasons rule reads it (RULES.md "certification across seasons"). */
export function profileVersions(p: StoredProfile): ProfileVersion[] {
  return p.versions.map((v) => ({ certifiedAtMs: Date.parse(v.certifiedAt), ...(v.regularizedAt ? { regularizedAtMs: Date.parse(v.regularizedAt) } : {}) }));
}
