/**
 * What the platform delivers during a rehearsed season, and when: the demo season (with the instants
 * its generator delivers each line, late arrivals included, and its plan as the expectation), or any NDJSON
 * file of platform events, each line arriving at its own event time. Lines dated before the clock
 * starts arrive at its start; a line without a readable time arrives with the line before it.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseEvent, type PlatformEvent } from '#shared/events.ts';
import { parseInstant } from '#shared/rules/time.ts';
import type { Campaign } from '#shared/rules/campaign.ts';
import { DEMO_SEASON, generateSeason, type PlannedOutcome } from '#tools/demo-season/season.ts';

export interface Arrival {
  /** 1-based line of the season file. */
  line: number;
  body: string;
  atMs: number;
}

export interface RehearsalSeason {
  name: string;
  arrivals: Arrival[];
  /** Events that would arrive after the clock has stopped: never delivered. */
  afterClock: number;
  /**
   * Per provider, what the deployment must decide, where the season knows it: the demo season's plan
   * (outcome, reasons and, for assessed providers, the figures), never a computation with the rules.
   */
  expected?: Map<string, Pick<PlannedOutcome, 'outcome' | 'reasons' | 'paidOrders' | 'depositBalanceFen'>>;
  /** The threshold the season is meant to be judged with, where it names one. */
  thresholdOrders?: number;
  /** Each provider's latest profile as delivered, for the mail addresses and the eligibility. */
  providers: Map<string, Extract<PlatformEvent, { type: 'provider.upserted' }>>;
}

export interface Clock {
  startMs: number;
  endMs: number;
}

/** The demo season of `npm start` (same generator, same default seed and size). */
export function demoSeason(clock: Clock, opts: { providers?: number; orders?: number; seed?: number; campaign?: Campaign } = {}): RehearsalSeason {
  const o = { ...DEMO_SEASON, ...opts };
  const season = generateSeason(o);
  return {
    ...arrange(`demo season (seed ${o.seed}: ${o.providers} providers, ${o.orders} orders, threshold ${season.thresholdOrders})`, season.lines, season.deliverAtMs, clock),
    expected: season.expected,
    thresholdOrders: season.thresholdOrders,
  };
}

/** Any NDJSON season: each line at its own event time. */
export function fileSeason(file: string, clock: Clock): RehearsalSeason {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  const kept = lines.map((body, i) => ({ body, line: i + 1 })).filter((l) => l.body.trim());
  const times = ownTimes(kept.map((l) => l.body));
  const season = arrange(
    basename(file),
    kept.map((l) => l.body),
    times,
    clock,
  );
  season.arrivals.forEach((a) => (a.line = kept[a.line - 1]!.line));
  return season;
}

/** The instant an event happened, by its type's time field; undefined for a line that is not an event. */
function eventTime(body: string): number | undefined {
  const p = parseEvent(body);
  if (!p.ok) return undefined;
  const e = p.event;
  const at = e.type === 'order.paid' ? e.paidAt : e.type === 'deposit.paid' ? e.paidAt : e.type === 'provider.upserted' ? e.certifiedAt : e.at;
  return parseInstant(at);
}

function ownTimes(lines: readonly string[]): number[] {
  let previous = -Infinity;
  return lines.map((l) => (previous = eventTime(l) ?? previous));
}

function arrange(name: string, lines: readonly string[], times: readonly number[], clock: Clock): RehearsalSeason {
  const providers: RehearsalSeason['providers'] = new Map();
  const arrivals: Arrival[] = [];
  let afterClock = 0;
  lines.forEach((body, i) => {
    const atMs = Math.max(clock.startMs, times[i]!);
    if (atMs >= clock.endMs) {
      afterClock++;
      return;
    }
    arrivals.push({ line: i + 1, body, atMs });
  });
  arrivals.sort((a, b) => a.atMs - b.atMs || a.line - b.line);
  for (const a of arrivals) {
    const p = parseEvent(a.body);
    if (p.ok && p.event.type === 'provider.upserted') providers.set(p.event.providerId, p.event);
  }
  return { name, arrivals, afterClock, providers };
}
