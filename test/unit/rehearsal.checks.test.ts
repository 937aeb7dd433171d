/** The rehearsal's checks (tools/rehearsal/checks.ts): mail, notice, dashboard metrics, IAM figures and the problems they add up to. */
import { describe, expect, it } from 'vitest';
import type { Report } from '#shared/usecases/report.ts';
import { iamFigures, mailFigures, metricFigures, noticeFigure, problemsOf } from '#tools/rehearsal/checks.ts';
import type { SesSend } from '#tools/rehearsal/gateway-requests.ts';
import type { RehearsalSeason } from '#tools/rehearsal/season-feed.ts';

const profile = (providerId: string, email: string) => ({ type: 'provider.upserted', providerId, email }) as unknown as RehearsalSeason['providers'] extends Map<string, infer P> ? P : never;
const season = {
  name: 't',
  arrivals: [],
  afterClock: 0,
  providers: new Map([
    ['p1', profile('p1', 'P1@example.com')],
    ['p2', profile('p2', 'p2@example.com')],
    ['p3', profile('p3', 'p3@example.com')],
  ]),
} as RehearsalSeason;
const row = (providerId: string, outcome: string, mail?: string) => ({ providerId, outcome, reasons: [], ...(mail ? { mail: { status: mail } } : {}) });
const report = { assessments: [row('p1', 'renewed', 'delivered'), row('p2', 'revoked', 'sent'), row('p3', 'not_assessed')] } as unknown as Report;
const sent = (to: string, subject: string, tags: Record<string, string> = {}): SesSend => ({
  principal: 'notify',
  atMs: 0,
  source: 'n@example.com',
  to: [to],
  subject,
  tags,
  messageId: subject,
  configurationSet: 'renewal',
});

describe('mailFigures', () => {
  it('counts outcome mail per provider (addresses compared without case), duplicates, the assessed left without one, and progress per week', () => {
    const m = mailFigures(
      [
        sent('p1@example.com', '续牌结果'),
        sent('p1@example.com', '续牌结果'),
        sent('x@example.com', 'Renewal', { kind: 'outcome' }),
        sent('p1@example.com', '续牌进度 第 2 周'),
        sent('p2@example.com', '续牌进度 第 2 周'),
        sent('p2@example.com', '续牌进度 第 3 周'),
      ],
      season,
      report,
    );
    expect(m.outcome).toEqual({ sent: 3, duplicates: 1, missing: ['p2'] });
    expect(m.progress).toEqual({ sent: 3, byWeek: { '2': 2, '3': 1 } });
    expect(m.status).toEqual({ delivered: 1, sent: 1 });
    expect(m.configurationSets).toEqual(['renewal']);
  });
});

describe('noticeFigure', () => {
  it('matches when the notice lists exactly the revoked providers, in any order', () => {
    expect(noticeFigure({ version: 2, providers: [{ providerId: 'p2' }] }, report, 'k')).toEqual({ version: 2, providers: 1, revoked: 1, matchesDecisions: true, key: 'k' });
    expect(noticeFigure({ version: 1, providers: [{ providerId: 'p1' }] }, report, 'k').matchesDecisions).toBe(false);
  });

  it('no notice published matches only a season with nobody revoked', () => {
    expect(noticeFigure(undefined, report, 'k')).toEqual({ version: 0, providers: 0, revoked: 1, matchesDecisions: false, key: 'k' });
    expect(noticeFigure(undefined, { assessments: [] } as unknown as Report, 'k').matchesDecisions).toBe(true);
  });
});

describe('metricFigures', () => {
  it('lists each custom metric a dashboard reads once, emitted or not; AWS metrics and "." rows are not the functions\' to emit', () => {
    const body = JSON.stringify({
      widgets: [
        {
          properties: {
            metrics: [
              ['Renewal', 'OrdersIngested', 'service', 'intake'],
              ['.', 'Other'],
              ['AWS/Lambda', 'Errors', 'FunctionName', 'x'],
            ],
          },
        },
        {
          properties: {
            metrics: [
              ['Renewal', 'OrdersIngested', 'service', 'intake'],
              ['Renewal', 'MailSent', 'service', 'notify', { stat: 'Sum' }],
            ],
          },
        },
      ],
    });
    const m = metricFigures([body], [{ namespace: 'Renewal', name: 'OrdersIngested', dimensions: { service: 'intake' }, count: 3, sum: 30, function: 'intake' }]);
    expect(m.dashboard).toEqual([
      { namespace: 'Renewal', name: 'OrdersIngested', dimensions: { service: 'intake' }, emitted: true },
      { namespace: 'Renewal', name: 'MailSent', dimensions: { service: 'notify' }, emitted: false },
    ]);
  });
});

describe('iamFigures and problemsOf', () => {
  const calls = [
    { principal: 'intake', action: 'dynamodb:BatchWriteItem', resource: 'table/Orders', count: 7, allowed: true },
    { principal: 'aggregate', action: 'dynamodb:Query', resource: 'table/Orders/index/byStore', count: 2, allowed: false },
  ];
  const iam = iamFigures(calls, [
    { principal: 'evaluate', action: 'dynamodb:Scan', resource: 'table/Orders', acknowledged: 'a rare path' },
    { principal: 'notify', action: 'ses:SendEmail', resource: '*' },
  ]);
  const clean = {
    iam: iamFigures([calls[0]!], []),
    decisions: { total: 3, mismatches: 0, detail: [] },
    deadLettered: 0,
    mail: { outcome: { sent: 2, duplicates: 0, missing: [] }, status: {}, progress: { sent: 0, byWeek: {} }, configurationSets: [] },
    metrics: { emitted: [], dashboard: [] },
    functions: { intake: { invocations: 1, errors: 0, retries: 0, timeouts: 0, deadLettered: 0, maxDurationMs: 1, timeoutMs: 30_000, peakMemoryMb: 100, memoryMb: 512 } },
    stopped: false,
    report: true,
  };

  it('sums denied calls and keeps allowed ones apart', () => {
    expect(iam.deniedCalls).toBe(2);
    expect(iam.denied).toEqual([{ function: 'aggregate', action: 'dynamodb:Query', resource: 'table/Orders/index/byStore', count: 2 }]);
    expect(iam.calls).toEqual([{ function: 'intake', action: 'dynamodb:BatchWriteItem', resource: 'table/Orders', count: 7 }]);
  });

  it('a clean season has no problem', () => {
    expect(problemsOf(clean)).toEqual([]);
  });

  it('each kind of failure is one line that says what and how many', () => {
    const problems = problemsOf({
      ...clean,
      iam,
      decisions: { total: 3, mismatches: 2, detail: [] },
      deadLettered: 1,
      mail: { ...clean.mail, outcome: { sent: 3, duplicates: 1, missing: ['p2'] } },
      metrics: { emitted: [], dashboard: [{ namespace: 'Renewal', name: 'MailSent', dimensions: {}, emitted: false }] },
      functions: { intake: { ...clean.functions.intake, timeouts: 1, peakMemoryMb: 600 } },
      stopped: true,
      report: false,
    });
    expect(problems).toEqual([
      '2 call(s) denied by IAM',
      '1 grant(s) never used and not acknowledged',
      "2 decision figure(s) differ from the season's oracle",
      '1 message(s) dead-lettered',
      '1 outcome mail(s) sent more than once',
      '1 assessed provider(s) got no outcome mail',
      '1 dashboard metric(s) never emitted: Renewal/MailSent',
      'intake timed out 1 time(s) (timeout 30 s)',
      'intake used 600 MB, over its 512 MB',
      'stopped at the first failure (--fail-fast)',
      'no report: the deployment decided nothing that could be read',
    ]);
  });
});
