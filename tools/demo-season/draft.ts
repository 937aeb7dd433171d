/**
 * The demo season's draft: its plan per provider and its events as they are written, before they
 * become delivered lines; the campaign's instants, the seeded random source and the writing helpers
 * the generator's steps share.
 */
import type { Campaign } from '#shared/rules/campaign.ts';

export const DAY = 86_400_000;
export const MINUTE = 60_000;
export const CST = 8 * 3_600_000;

/**
 * The campaign's instants, computed here from its dates (China time, UTC+8, no DST) rather than by the
 * rules module, so that a wrong rule cannot move the plan along with it.
 */
export interface Instants {
  startMs: number;
  /** Exclusive: the first instant after the period. */
  endMs: number;
  certifiedBeforeMs: number;
  regularizedBeforeMs: number;
  days: number;
}

export const midnight = (date: string) => Date.parse(`${date}T00:00:00+08:00`);
export const dayBefore = (date: string) => new Date(midnight(date) + CST - DAY).toISOString().slice(0, 10);

export function instantsOf(c: Campaign): Instants {
  const startMs = midnight(c.periodStartDate);
  const endMs = midnight(c.periodEndDate) + DAY;
  return { startMs, endMs, certifiedBeforeMs: midnight(c.certifiedBeforeDate), regularizedBeforeMs: midnight(c.regularizedBeforeDate), days: Math.round((endMs - startMs) / DAY) };
}

/** The last instant a late event of the period may arrive: 15 minutes before the evaluation (close + 30 min). */
export const lateArrivalLimit = (w: Instants): number => w.endMs + 15 * MINUTE;

/** Where in a store an order counts for exactly the providers named: `[fromMs, toMs)`, inside the period. */
export interface Window {
  storeId: string;
  fromMs: number;
  toMs: number;
  countsFor: string[];
}

export interface Plan {
  providerId: string;
  eligibility: 'assessed' | 'not_in_scope' | 'not_regularized';
  /** Whether the orders meet the threshold: chosen, then realized by `counted`. */
  ordersPass: boolean;
  /** Whether the deposit is paid in full: chosen by the deposit story, realized by `depositBalanceFen`. */
  depositPass: boolean;
  depositBalanceFen: number;
  /** Share of the season's orders (relative weight), and the orders that must count for it. */
  weight: number;
  /** Close to the threshold: how far above (0..3) or below (-1..-3) it the count is planned. */
  closeBy?: number;
  counted: number;
  /** How many of `counted` are still to be written. */
  left: number;
  stories: string[];
  /** Where its counted orders may go, and where its stores' orders count for nobody. */
  windows: Window[];
  dead: Window[];
}

export interface Draft {
  c: Campaign;
  w: Instants;
  r: Rng;
  threshold: number;
  /** Every event with its own time (the instant it happened on the platform). */
  events: { ev: Record<string, unknown>; atMs: number }[];
  orders: { storeId: string; paidAtMs: number; gift: boolean }[];
  orderCount: number;
  plans: Plan[];
  byId: Map<string, Plan>;
  /** Windows of the shared stores, where an order counts for both providers. */
  sharedWindows: Window[];
  unboundStores: string[];
  storeSeq: number;
  /** Well before the season and its cuts: when the long-standing bindings and certifications happened. */
  beforeSeason: number;
  /** The shopping festival (12.12) and the Spring Festival lull, as instant ranges, for the season's shape. */
  festival?: [number, number];
  lull: [number, number];
}

/** An empty draft of a season for campaign `c`, evaluated with `threshold`, from `opts.seed`. */
export function newDraft(opts: { seed: number }, c: Campaign, threshold: number): Draft {
  const w = instantsOf(c);
  const day = (k: number) => w.startMs + k * DAY;
  // 12.12 when the period holds a 12 December; the lull where the Spring Festival fell in the 2024
  // season (days 70-78 of 91: 2024-02-09..17), at the same share of any period.
  const festivalDay = Array.from({ length: w.days }, (_, k) => k).find((k) => new Date(day(k) + CST).toISOString().slice(5, 10) === '12-12');
  return {
    c,
    w,
    r: rng(opts.seed),
    threshold,
    events: [],
    orders: [],
    orderCount: 0,
    plans: [],
    byId: new Map(),
    sharedWindows: [],
    unboundStores: [],
    storeSeq: 0,
    beforeSeason: Math.min(w.startMs, w.certifiedBeforeMs, w.regularizedBeforeMs) - 200 * DAY,
    ...(festivalDay !== undefined ? { festival: [day(festivalDay), day(festivalDay + 1)] as [number, number] } : {}),
    lull: [day(Math.round(w.days * 0.77)), day(Math.round(w.days * 0.857))],
  };
}

/** mulberry32: small, fast, and the same sequence on every machine. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    between: (lo: number, hi: number) => lo + next() * (hi - lo),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}
export type Rng = ReturnType<typeof rng>;

/** Renders an instant in one of the two offset forms the platform sends. */
export const iso = (ms: number, cst: boolean) => (cst ? `${new Date(ms + CST).toISOString().slice(0, 19)}+08:00` : new Date(ms).toISOString());
export const pad = (n: number, w: number) => String(n).padStart(w, '0');
export const add = (d: Draft, ev: Record<string, unknown>, atMs: number) => d.events.push({ ev, atMs });
export const newStore = (d: Draft) => `S${pad(++d.storeSeq, 5)}`;
/** A whole day of the period, `k` days in (0-based), at the same share of any period as of the 91-day one. */
export const seasonDay = (d: Draft, k91: number) => d.w.startMs + Math.min(d.w.days - 1, Math.round((k91 * d.w.days) / 91)) * DAY;
