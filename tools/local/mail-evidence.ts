import { NOTICE_HEADER } from '#shared/mailer.ts';
import type { SesEvent } from '#shared/ses-events.ts';
import { noticeTag, NOTICE_TAG, type OutboxEntry, type OutboxStore } from '#shared/store/outbox.ts';
import type { MailEvidence } from '#shared/usecases/notify.ts';
import { recordMailEvent } from '#shared/usecases/mail-events.ts';

/**
 * The embedded SES's evidence, for notify's reconciliation on the embedded stack. aws-ses-v2-local
 * keeps every mail it took (in memory, and on disk under `.local/ses`: tools/local/services.ts) and serves them at `GET /store` (with `?since=<epoch seconds>`):
 * message id, recipients, subject, body, `at`, and the custom headers of an SES v2 send — but no
 * message tags (its v1 and v2 handlers drop them). So the notice id is read from the
 * `X-Renewal-Notice` header the mailer sends beside the tag, and each mail found is turned into the
 * Send event SES would have published and recorded through the same use case as the mail-events
 * function. The store is written (to disk too) before SES answers, so a notice with no mail in it was
 * never taken, also after the service was restarted.
 */

/** A mail as aws-ses-v2-local keeps it (its `store.ts`). */
interface StoredMail {
  messageId: string;
  destination: { to: string[] };
  headers?: { name: string; value: string }[];
  /** Epoch seconds. */
  at: number;
}

export interface EmbeddedSesOptions {
  /** The embedded SES endpoint, e.g. http://127.0.0.1:18005. */
  endpoint: string;
  outbox: OutboxStore;
  now?: () => Date;
}

export function embeddedSesEvidence(o: EmbeddedSesOptions): MailEvidence {
  const now = o.now ?? (() => new Date());
  return {
    // Nothing is published later: the store is complete the moment SES answers.
    publishDelayMs: 0,
    async gather(entries: OutboxEntry[]) {
      const neverSent = new Set<string>();
      if (!entries.length) return { neverSent };
      // Every mail, not those since the claim: a mail that carries the notice id is that notice sent,
      // whenever it was, and no clock (the CLI's, a test's) has to agree with the server's.
      let res: Response;
      try {
        res = await fetch(`${o.endpoint}/store`, { signal: AbortSignal.timeout(30_000) });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        throw new Error(
          `the embedded SES's mail store at ${o.endpoint}/store cannot be read (${cause}): notify needs it to tell what a stopped run sent; bring SES back (renewal local up) and run it again`,
        );
      }
      if (!res.ok) throw new Error(`embedded SES ${o.endpoint}/store answered ${res.status}`);
      const { emails } = (await res.json()) as { emails: StoredMail[] };
      const byNotice = new Map<string, StoredMail[]>();
      for (const m of emails) {
        const h = m.headers?.find((x) => x.name.toLowerCase() === NOTICE_HEADER.toLowerCase());
        if (h) byNotice.set(h.value, [...(byNotice.get(h.value) ?? []), m]);
      }
      for (const e of entries) {
        const tag = noticeTag(e);
        const found = byNotice.get(tag) ?? [];
        for (const m of found) {
          const send: SesEvent = {
            eventType: 'Send',
            mail: { timestamp: new Date(m.at * 1000).toISOString(), messageId: m.messageId, destination: m.destination.to, tags: { [NOTICE_TAG]: [tag] } },
            send: {},
          };
          await recordMailEvent(o.outbox, send, now());
        }
        if (!found.length) neverSent.add(tag);
      }
      return { neverSent };
    },
  };
}
