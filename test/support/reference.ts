/**
 * The tests' own statement of the rules: a reference evaluator written from ../shared/RULES.md alone
 * ("Clauses", "Decisions where the source is silent", "Platform events: the input contract"). It
 * imports nothing of the product (a test parses this file's imports to hold it to that), keeps no
 * index and no aggregate: it reads the raw events in arrival order, keeps what the contract accepts,
 * and decides each provider by brute force (every order against every binding event, every deposit
 * movement summed).
 *
 * The campaign is plain data, the fields of OPS.md "Campaign files" that decide an outcome, so a test
 * can generate campaigns as freely as it generates events. China time is UTC+8 with no DST (RULES.md
 * "time zone"), so every cut is the date's midnight minus eight hours.
 *
 * Where RULES.md leaves something to the implementation, what is chosen here is said where it is used:
 * - "latest provider.upserted wins": the latest *new* version by arrival; a redelivered older version
 *   (same content as one already seen) is a duplicate and changes nothing;
 * - an event with a field that the contract's table does not list is not an event of the contract,
 *   so it is rejected like any malformed one;
 * - the profile rule of "Seasons after the first" (certification starts and ends across campaigns) is
 *   not modelled: one campaign, no earlier revocations, the latest profile decides.
 */

/** The campaign fields an outcome depends on (OPS.md "Campaign files"); dates are China-time calendar dates. */
export interface ReferenceCampaign {
  periodStartDate: string;
  /** Inclusive: the period ends at the next day's midnight. */
  periodEndDate: string;
  certifiedBeforeDate: string;
  regularizedBeforeDate: string;
  thresholdOrders: number;
  depositRequiredFen: number;
  noticeDate: string;
  reapplyAfterDays: number;
}

export type ReferenceReason = 'orders_below_threshold' | 'deposit_not_paid_in_full' | 'not_in_scope' | 'not_regularized';

export interface ReferenceDecision {
  providerId: string;
  outcome: 'retained' | 'revoked' | 'not_assessed';
  /** Every failing reason, orders before deposit; or the one not_* reason. */
  reasons: ReferenceReason[];
  /** The clause ids applied (RULES.md "Clauses"). */
  clauses: string[];
  /** Assessed providers only: the figures the decision was made from. */
  paidOrders?: number;
  depositBalanceFen?: number;
  thresholdOrders?: number;
  depositRequiredFen?: number;
  /** Revoked providers only (clause 3). */
  noticeDate?: string;
  reapplyFrom?: string;
}

export interface ReferenceResult {
  /** One decision per provider with a profile, by providerId in code-unit order. */
  decisions: ReferenceDecision[];
  /** Positions (0-based, in the input) of the events the contract rejects, with the field at fault. */
  rejected: { index: number; field: string }[];
  /** Positions of redeliveries: the same identity and the same content as an event already kept. */
  duplicates: number[];
}

// ---------------------------------------------------------------------------------------------------
// Time: China Standard Time is UTC+8 all year (RULES.md "time zone").

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CHINA = 8 * HOUR;

/** 'YYYY-MM-DD' → UTC midnight of that civil day, or undefined when the day does not exist. */
function civilDay(date: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]) ? d.getTime() : undefined;
}

function requireDay(date: string, field: string): number {
  const ms = civilDay(date);
  if (ms === undefined) throw new RangeError(`reference campaign: ${field} is not a date: '${date}'`);
  return ms;
}

/** The first instant of a China-time calendar date. */
export function chinaMidnight(date: string): number {
  return requireDay(date, 'date') - CHINA;
}

/** A calendar date plus `days` days. */
export function plusDays(date: string, days: number): string {
  return new Date(requireDay(date, 'date') + days * DAY).toISOString().slice(0, 10);
}

/** The China-time calendar date of an instant. */
export function chinaDate(ms: number): string {
  return new Date(ms + CHINA).toISOString().slice(0, 10);
}

/** The campaign's instants: the half-open period and the two cuts (RULES.md "period", "in scope", "assessed"). */
export function referenceWindow(c: ReferenceCampaign): { startMs: number; endMs: number; certifiedBeforeMs: number; regularizedBeforeMs: number } {
  return {
    startMs: chinaMidnight(c.periodStartDate),
    endMs: chinaMidnight(plusDays(c.periodEndDate, 1)),
    certifiedBeforeMs: chinaMidnight(c.certifiedBeforeDate),
    regularizedBeforeMs: chinaMidnight(c.regularizedBeforeDate),
  };
}

/**
 * An input instant: ISO-8601 date and time that carries its offset (`Z` or `±HH:MM`); one without is
 * ambiguous and rejected (RULES.md "time zone"), as is a day or time that does not exist. Epoch ms, or
 * undefined.
 */
export function instant(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|([+-])(\d{2}):(\d{2}))$/.exec(v);
  if (!m) return undefined;
  const day = civilDay(m[1]!);
  const [h, min, s] = [Number(m[2]), Number(m[3]), Number(m[4] ?? 0)];
  if (day === undefined || h > 23 || min > 59 || s > 59) return undefined;
  const offsetMin = m[6] === 'Z' ? 0 : (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  if (Number(m[9]) > 59 || Math.abs(offsetMin) > 14 * 60) return undefined;
  const ms = Number((m[5] ?? '').slice(0, 3).padEnd(3, '0'));
  return day + h * HOUR + min * 60_000 + s * 1000 + ms - offsetMin * 60_000;
}

// ---------------------------------------------------------------------------------------------------
// Parsing: the input contract's table, field by field.

type Kept =
  | { type: 'provider.upserted'; providerId: string; name: string; email: string; certifiedAt: number; regularizedAt?: number }
  | { type: 'binding.started' | 'binding.ended'; providerId: string; storeId: string; at: number }
  | { type: 'order.paid'; orderId: string; storeId: string; paidAt: number; gift: boolean }
  | { type: 'deposit.paid' | 'deposit.deducted'; paymentId: string; providerId: string; amountFen: number; at: number };

const FIELDS: Record<Kept['type'], { required: string[]; optional: string[] }> = {
  'provider.upserted': { required: ['providerId', 'name', 'email', 'certifiedAt'], optional: ['regularizedAt'] },
  'binding.started': { required: ['providerId', 'storeId', 'at'], optional: [] },
  'binding.ended': { required: ['providerId', 'storeId', 'at'], optional: [] },
  'order.paid': { required: ['orderId', 'storeId', 'paidAt'], optional: ['gift'] },
  'deposit.paid': { required: ['paymentId', 'providerId', 'amountFen', 'paidAt'], optional: [] },
  'deposit.deducted': { required: ['paymentId', 'providerId', 'amountFen', 'at'], optional: [] },
};

const isId = (v: unknown) => typeof v === 'string' && /^[A-Za-z0-9_.:-]{1,128}$/.test(v);
const isName = (v: unknown) => typeof v === 'string' && [...v].length >= 1 && [...v].length <= 200;
/** One address: local part, '@', a dotted domain; no spaces, brackets or commas (so never two). */
const isEmail = (v: unknown) => typeof v === 'string' && /^[^\s@<>,;"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(v);
const isAmount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** One raw event → the fact it states, or the field at fault. */
function parse(raw: unknown): { ok: true; e: Kept } | { ok: false; field: string } {
  let v = raw;
  if (typeof raw === 'string') {
    try {
      v = JSON.parse(raw);
    } catch {
      return { ok: false, field: '(body)' };
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, field: '(body)' };
  const o = v as Record<string, unknown>;
  const type = o.type;
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) return { ok: false, field: 'type' };
  const spec = FIELDS[type as Kept['type']];
  for (const k of Object.keys(o)) if (k !== 'type' && !spec.required.includes(k) && !spec.optional.includes(k)) return { ok: false, field: k };
  for (const k of spec.required) if (o[k] === undefined) return { ok: false, field: k };
  for (const k of ['providerId', 'storeId', 'orderId', 'paymentId']) if (k in o && !isId(o[k])) return { ok: false, field: k };
  for (const k of ['certifiedAt', 'regularizedAt', 'at', 'paidAt']) if (k in o && instant(o[k]) === undefined) return { ok: false, field: k };
  const t = (k: string) => instant(o[k])!;
  const s = (k: string) => o[k] as string;
  switch (type as Kept['type']) {
    case 'provider.upserted':
      if (!isName(o.name)) return { ok: false, field: 'name' };
      if (!isEmail(o.email)) return { ok: false, field: 'email' };
      return {
        ok: true,
        e: {
          type: 'provider.upserted',
          providerId: s('providerId'),
          name: s('name'),
          email: s('email'),
          certifiedAt: t('certifiedAt'),
          ...(o.regularizedAt !== undefined ? { regularizedAt: t('regularizedAt') } : {}),
        },
      };
    case 'binding.started':
    case 'binding.ended':
      return { ok: true, e: { type: type as 'binding.started', providerId: s('providerId'), storeId: s('storeId'), at: t('at') } };
    case 'order.paid':
      if (o.gift !== undefined && typeof o.gift !== 'boolean') return { ok: false, field: 'gift' };
      return { ok: true, e: { type: 'order.paid', orderId: s('orderId'), storeId: s('storeId'), paidAt: t('paidAt'), gift: o.gift === true } };
    case 'deposit.paid':
    case 'deposit.deducted':
      if (!isAmount(o.amountFen)) return { ok: false, field: 'amountFen' };
      return {
        ok: true,
        e: { type: type as 'deposit.paid', paymentId: s('paymentId'), providerId: s('providerId'), amountFen: o.amountFen as number, at: t(type === 'deposit.paid' ? 'paidAt' : 'at') },
      };
  }
}

/** The fact's identity: one order per orderId, one payment per paymentId (paid or deducted), one profile per provider. */
function identity(e: Kept): string {
  switch (e.type) {
    case 'order.paid':
      return `order\u0000${e.orderId}`;
    case 'deposit.paid':
    case 'deposit.deducted':
      return `payment\u0000${e.paymentId}`;
    case 'provider.upserted':
      return `provider\u0000${e.providerId}`;
    default:
      return `binding\u0000${e.type}\u0000${e.providerId}\u0000${e.storeId}\u0000${e.at}`;
  }
}

/** Content, whatever the key order, the offset form or whether `gift: false` was written out. */
const content = (e: Kept) => JSON.stringify(Object.entries(e).sort(([a], [b]) => (a < b ? -1 : 1)));

// ---------------------------------------------------------------------------------------------------
// The evaluation.

/**
 * Decides every provider of `events` (raw event objects or NDJSON lines, in the order they arrived)
 * for `campaign`, as RULES.md says, by brute force.
 */
export function reference(campaign: ReferenceCampaign, events: readonly unknown[]): ReferenceResult {
  const w = referenceWindow(campaign);
  requireDay(campaign.noticeDate, 'noticeDate');
  const rejected: ReferenceResult['rejected'] = [];
  const duplicates: number[] = [];

  // Input contract: the same identity with the same content is a no-op; with different content a
  // conflict, rejected, the first stays. Profiles: the latest new version wins.
  const kept = new Map<string, Kept>();
  const profileVersions = new Map<string, Set<string>>();
  events.forEach((raw, index) => {
    const p = parse(raw);
    if (!p.ok) return rejected.push({ index, field: p.field });
    const key = identity(p.e);
    const c = content(p.e);
    if (p.e.type === 'provider.upserted') {
      const seen = profileVersions.get(key) ?? profileVersions.set(key, new Set()).get(key)!;
      if (seen.has(c)) return duplicates.push(index);
      seen.add(c);
      kept.set(key, p.e);
      return;
    }
    const first = kept.get(key);
    if (!first) kept.set(key, p.e);
    else if (content(first) === c) duplicates.push(index);
    else rejected.push({ index, field: 'conflict' });
  });

  const facts = [...kept.values()];
  const bindingEvents = facts.filter((e): e is Extract<Kept, { type: 'binding.started' | 'binding.ended' }> => e.type === 'binding.started' || e.type === 'binding.ended');
  const orders = facts.filter((e): e is Extract<Kept, { type: 'order.paid' }> => e.type === 'order.paid');
  const deposits = facts.filter((e): e is Extract<Kept, { type: 'deposit.paid' | 'deposit.deducted' }> => e.type === 'deposit.paid' || e.type === 'deposit.deducted');

  /**
   * Clause 2.3: was `storeId` bound to `providerId` at instant `t`? A binding covers [startedAt,
   * endedAt): bound iff, among that pair's events at or before `t`, the last one is a start, where an
   * end and a start at one instant are read end first (a re-bind at the instant a binding ends leaves
   * no gap). An end without an earlier start covers nothing; a start without an end covers all after.
   * (Events are grouped by pair and store first only so that a season of 100,000 orders takes seconds.)
   */
  const pairEvents = new Map<string, typeof bindingEvents>();
  const storeProviders = new Map<string, Set<string>>();
  for (const b of bindingEvents) {
    const pair = `${b.providerId}\u0000${b.storeId}`;
    (pairEvents.get(pair) ?? pairEvents.set(pair, []).get(pair)!).push(b);
    (storeProviders.get(b.storeId) ?? storeProviders.set(b.storeId, new Set()).get(b.storeId)!).add(b.providerId);
  }
  const boundAt = (providerId: string, storeId: string, t: number): boolean => {
    let last: { at: number; started: boolean } | undefined;
    for (const b of pairEvents.get(`${providerId}\u0000${storeId}`) ?? []) {
      if (b.at > t) continue;
      const started = b.type === 'binding.started';
      if (!last || b.at > last.at || (b.at === last.at && started)) last = { at: b.at, started };
    }
    return last?.started === true;
  };

  // Clauses 2.1, 2.2.1, 2.3: distinct orderIds (kept once each above), not gifts, paid in the
  // half-open period, of a store bound to the provider at paidAt; a store bound to several counts for each.
  const counted = new Map<string, number>();
  for (const o of orders) {
    if (o.gift || !(w.startMs <= o.paidAt && o.paidAt < w.endMs)) continue;
    for (const providerId of storeProviders.get(o.storeId) ?? []) if (boundAt(providerId, o.storeId, o.paidAt)) counted.set(providerId, (counted.get(providerId) ?? 0) + 1);
  }

  const decisions: ReferenceDecision[] = [];
  const profiles = facts.filter((e): e is Extract<Kept, { type: 'provider.upserted' }> => e.type === 'provider.upserted');
  for (const p of profiles.sort((a, b) => (a.providerId < b.providerId ? -1 : a.providerId > b.providerId ? 1 : 0))) {
    const providerId = p.providerId;
    // Clause 1, then 2.1: scope first, so a provider failing both is not_in_scope.
    if (!(p.certifiedAt < w.certifiedBeforeMs)) {
      decisions.push({ providerId, outcome: 'not_assessed', reasons: ['not_in_scope'], clauses: ['1'] });
      continue;
    }
    if (p.regularizedAt === undefined || !(p.regularizedAt < w.regularizedBeforeMs)) {
      decisions.push({ providerId, outcome: 'not_assessed', reasons: ['not_regularized'], clauses: ['1', '2.1'] });
      continue;
    }
    const paidOrders = counted.get(providerId) ?? 0;
    // Clause 2.2.2: paid minus deducted, over movements strictly before the period end.
    let depositBalanceFen = 0;
    for (const d of deposits) if (d.providerId === providerId && d.at < w.endMs) depositBalanceFen += d.type === 'deposit.paid' ? d.amountFen : -d.amountFen;
    // Clause 2.2.3: both conditions are clauses of the rule; either failing revokes, with every reason.
    const reasons: ReferenceReason[] = [];
    if (!(paidOrders >= campaign.thresholdOrders)) reasons.push('orders_below_threshold');
    if (!(depositBalanceFen >= campaign.depositRequiredFen)) reasons.push('deposit_not_paid_in_full');
    const figures = { paidOrders, depositBalanceFen, thresholdOrders: campaign.thresholdOrders, depositRequiredFen: campaign.depositRequiredFen };
    const assessed = ['1', '2.1', '2.2.1', '2.2.2', '2.2.3'];
    decisions.push(
      reasons.length === 0
        ? { providerId, outcome: 'retained', reasons, clauses: assessed, ...figures }
        : // Clause 3: delisted from the notice date; no re-application within reapplyAfterDays of it.
          { providerId, outcome: 'revoked', reasons, clauses: [...assessed, '3'], ...figures, noticeDate: campaign.noticeDate, reapplyFrom: plusDays(campaign.noticeDate, campaign.reapplyAfterDays) },
    );
  }
  return { decisions, rejected, duplicates };
}

/** The 2024 season's values as RULES.md states them, with a threshold of the caller's (the source gives none). */
export function renewal2024(thresholdOrders: number): ReferenceCampaign {
  return {
    periodStartDate: '2023-12-01',
    periodEndDate: '2024-02-29',
    certifiedBeforeDate: '2023-12-01',
    regularizedBeforeDate: '2023-12-01',
    thresholdOrders,
    depositRequiredFen: 10_000_000,
    noticeDate: '2024-03-01',
    reapplyAfterDays: 90,
  };
}
