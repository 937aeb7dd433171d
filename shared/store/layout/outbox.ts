/**
 * The `outbox` table's key layout, in one place (what an entry holds is `../outbox.ts`): one entry
 * per provider × campaign × kind × decision revision (outcome) or season week (progress).
 *
 * | item  | pk                      | sk                                          |
 * |-------|-------------------------|---------------------------------------------|
 * | entry | `OB#<campaign>#<kind>`  | `<providerId>#<revision or week, 4 digits>` |
 *
 * Entries carry their own fields (campaignId, kind, providerId, seq); nothing parses these keys back.
 */

export const outboxPk = (campaignId: string, kind: string) => `OB#${campaignId}#${kind}`;

export const outboxKey = (n: { campaignId: string; kind: string; providerId: string; seq: number }) => ({
  pk: outboxPk(n.campaignId, n.kind),
  sk: `${n.providerId}#${String(n.seq).padStart(4, '0')}`,
});
