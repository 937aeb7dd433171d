import { parsePayload, reapplyPayload } from '#shared/payloads.ts';
import { checkReapply, type ReapplyCheck, type ReapplyDeps } from '#shared/usecases/reapply.ts';

/**
 * The re-application check (clause 3) for the certification process that takes applications and for
 * `renewal reapply check --aws`: `{"providerId", "at"?}` → may it apply at that instant (default now),
 * from when, on which revocation, under which exception (OPS.md). Read only.
 */
export const makeReapply = (deps: Omit<ReapplyDeps, 'now'>, now: () => Date = () => new Date()) =>
  async function reapplyHandler(event: unknown): Promise<ReapplyCheck> {
    const p = parsePayload(reapplyPayload, event);
    return checkReapply({ ...deps, now }, { providerId: p.providerId, ...(p.at !== undefined ? { at: p.at } : {}) });
  };
