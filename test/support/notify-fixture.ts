import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { feedRecords, toRecords } from '#cli/import.ts';
import { embeddedSesEvidence } from '#tools/local/mail-evidence.ts';
import { makeEvaluate } from '#functions/handlers/evaluate.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { makeNotify, notifyMailer } from '#functions/handlers/notify.ts';
import { createDocumentClient } from '#shared/aws.ts';
import type { MailConfig, TableNames } from '#shared/config.ts';
import { stores } from '#shared/deps.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import type { NotifyResult } from '#shared/usecases/notify.ts';
import { freshTables, useTestStack } from './stack.ts';

/**
 * A small final season for the notify tests: providers, bindings, orders and deposits through the
 * intake handler, the period-end evaluation through its handler (the real clock is long past the
 * close, so it is final), and a reader of what aws-ses-v2-local received. Every season has tables
 * of its own and a random token in each provider's id and address: the SES store is shared by the
 * whole test run, so a test only ever looks at mail to its own addresses.
 */

export const CAMPAIGN = 'renewal-2024';
export const THRESHOLD = 3;
export const FULL_DEPOSIT_FEN = 10_000_000;
export const FEEDBACK = 'douyinpartner@bytedance.com';

/** The notify configuration of these tests: a quick pace, no display name, replies to the feedback mailbox. */
/** The deployment's mail settings; its THRESHOLD_ORDERS stands in for renewal-2024's null in the progress mail. */
export const MAIL: MailConfig = { from: 'renewal@test.example', replyTo: FEEDBACK, ratePerSecond: 200, thresholdOrders: THRESHOLD };

/** A mail as aws-ses-v2-local keeps it (GET /store). */

export interface ProviderSpec {
  /** Short name, unique within the season; the provider id and address are made from it and the token. */
  key: string;
  name?: string;
  /** `paidAt` of each of its stores' orders (none by default). */
  orders?: string[];
  depositFen?: number;
  /** false: still on probation (not assessed, `not_regularized`). */
  regularized?: boolean;
  /** false: certified after 2023-12-01 (not assessed, `not_in_scope`). */
  inScope?: boolean;
}

export interface StoredMail {
  messageId: string;
  from: string;
  replyTo: string[];
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { html?: string; text?: string };
  headers?: { name: string; value: string }[];
  at: number;
}

type Stores = ReturnType<typeof stores>;

/** The run's embedded stack, and seasons on it whose handlers are built as the CLI builds them. */
export async function notifyStack() {
  const { sesEndpoint, clients } = await useTestStack();

  /** Everything sent so far to `addresses` (To, Cc or Bcc), in the order SES took it. */
  async function mailTo(addresses: readonly string[]): Promise<StoredMail[]> {
    const res = await fetch(`${sesEndpoint}/store`);
    expect(res.status).toBe(200);
    const { emails } = (await res.json()) as { emails: StoredMail[] };
    const wanted = new Set(addresses.map((a) => a.toLowerCase()));
    return emails.filter((e) => [...e.destination.to, ...(e.destination.cc ?? []), ...(e.destination.bcc ?? [])].some((a) => wanted.has(a.toLowerCase())));
  }

  /** Every mail in the store, for the checks that must look past the recipients. */
  async function allMail(): Promise<StoredMail[]> {
    const res = await fetch(`${sesEndpoint}/store`);
    return ((await res.json()) as { emails: StoredMail[] }).emails;
  }

  async function season(specs: ProviderSpec[]) {
    const token = randomBytes(5).toString('hex');
    const tables: TableNames = await freshTables();
    const deps: Stores = stores(tables, createDocumentClient(clients.dynamodb));
    const intake = makeIntake(new IngestStore(deps.db, tables));
    const id = (key: string) => `${key}-${token}`;
    const email = (key: string) => `${key.toLowerCase()}.${token}@renewal-test.example`;

    async function ingest(events: object[]) {
      const out = await feedRecords(intake, toRecords(events.map((e) => JSON.stringify(e)).join('\n'), `season-${token}`), { quiet: true });
      expect(out, 'every event of the season is accepted').toMatchObject({ rejected: 0, failed: 0 });
      return out;
    }

    /** Orders of `key`'s store, paid at the given instants; `tag` keeps their ids apart from earlier ones. */
    const ordersOf = (key: string, paidAts: readonly string[], tag = 'o') => paidAts.map((paidAt, i) => ({ type: 'order.paid', orderId: `O-${id(key)}-${tag}${i}`, storeId: `S-${id(key)}`, paidAt }));

    const events: object[] = [];
    for (const p of specs) {
      events.push({
        type: 'provider.upserted',
        providerId: id(p.key),
        name: p.name ?? `服务商 ${p.key}`,
        email: email(p.key),
        certifiedAt: p.inScope === false ? '2023-12-05T00:00:00+08:00' : '2023-06-01T00:00:00+08:00',
        ...(p.regularized === false ? {} : { regularizedAt: '2023-09-01T00:00:00+08:00' }),
      });
      events.push({ type: 'binding.started', providerId: id(p.key), storeId: `S-${id(p.key)}`, at: '2023-11-01T00:00:00+08:00' });
      events.push(...ordersOf(p.key, p.orders ?? []));
      if (p.depositFen) events.push({ type: 'deposit.paid', paymentId: `PAY-${id(p.key)}`, providerId: id(p.key), amountFen: p.depositFen, paidAt: '2023-12-02T10:00:00+08:00' });
    }
    await ingest(events);

    const evaluate = async () => {
      const r = await makeEvaluate(deps, { overlapMs: 0 })({ campaignId: CAMPAIGN, thresholdOrders: THRESHOLD });
      expect(r.mode).toBe('final');
      return r;
    };
    const evaluation = await evaluate();

    type NotifyDeps = Parameters<typeof makeNotify>[0];
    /** The notify handler over this season's stores; `extra` adds a mailer, a clock, a policy. */
    // As on the embedded stack (the CLI): SES's evidence is what aws-ses-v2-local holds.
    const evidence = embeddedSesEvidence({ endpoint: sesEndpoint, outbox: deps.outbox });
    const notify = (payload: object, extra: Partial<NotifyDeps> = {}, config: MailConfig = MAIL): Promise<NotifyResult> =>
      makeNotify({ ...deps, mailer: notifyMailer(config, clients.ses), evidence, ...extra }, config)({ campaignId: CAMPAIGN, ...payload });

    const addresses = specs.map((p) => email(p.key));
    return {
      token,
      tables,
      deps,
      evaluation,
      id,
      email,
      addresses,
      ingest,
      ordersOf,
      evaluate,
      notify,
      evidence,
      /** Mail sent so far to this season's providers. */
      mail: () => mailTo(addresses),
      mailOf: (key: string) => mailTo([email(key)]),
      /** Those of `mails` sent to `key`'s provider. */
      of: (mails: readonly StoredMail[], key: string) => mails.filter((m) => m.destination.to.includes(email(key))),
    };
  }

  return { sesEndpoint, clients, season, mailTo, allMail };
}

export type Season = Awaited<ReturnType<Awaited<ReturnType<typeof notifyStack>>['season']>>;

/** How many of `mails` went to each address. */
export function countByRecipient(mails: readonly StoredMail[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of mails) for (const to of m.destination.to) out[to] = (out[to] ?? 0) + 1;
  return out;
}

/** n instants on different days of December 2023, inside the season. */
export const december = (n: number, day = 10) => Array.from({ length: n }, (_, i) => `2023-12-${String(day + (i % 18)).padStart(2, '0')}T1${i % 10}:00:00+08:00`);
