/**
 * The FIFO message group (`messageGroupOf`, read from the raw body) must agree with the stored
 * identity (`entityKey`, from the parsed event): two deliveries of one fact, however they are
 * written, must land in one group, or two batches could read-then-write the same key at once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entityKey, messageGroupOf, parseEvent, type PlatformEvent } from '#shared/events.ts';
import { arbInstant, arbStyle, render, type LogicalEvent } from '../support/events.ts';

// The whole id alphabet of the contract, ':' included, on a small set so that identities collide often.
const arbId = fc.constantFrom('A', 'B', 'a:b', 'a.b', 'x_1-2', 'Z:9.9');
const arbEvent: fc.Arbitrary<LogicalEvent> = fc.oneof(
  fc.record({ type: fc.constant('order.paid' as const), orderId: arbId, storeId: arbId, paidAt: arbInstant, gift: fc.boolean() }),
  fc.record({ type: fc.constant('deposit.paid' as const), paymentId: arbId, providerId: arbId, amountFen: fc.integer({ min: 1, max: 10_000 }), paidAt: arbInstant }),
  fc.record({ type: fc.constant('deposit.deducted' as const), paymentId: arbId, providerId: arbId, amountFen: fc.integer({ min: 1, max: 10_000 }), at: arbInstant }),
  fc.record({ type: fc.constantFrom('binding.started' as const, 'binding.ended' as const), providerId: arbId, storeId: arbId, at: arbInstant }),
  fc.record({ type: fc.constant('provider.upserted' as const), providerId: arbId, name: fc.constantFrom('甲', 'B co'), email: fc.constant('a@b.example'), certifiedAt: arbInstant }),
);

function parsed(body: string): PlatformEvent {
  const r = parseEvent(body);
  if (!r.ok) throw new Error(`generated event rejected: ${r.reason}`);
  return r.event;
}

describe('messageGroupOf agrees with entityKey', () => {
  it('same identity ⇒ same message group, whatever the rendering (offset, key order, explicit gift)', () => {
    fc.assert(
      fc.property(arbEvent, arbEvent, arbStyle, arbStyle, (a, b, sa, sb) => {
        const [ba, bb] = [render(a, sa), render(b, sb)];
        if (entityKey(parsed(ba)) === entityKey(parsed(bb))) expect(messageGroupOf(ba)).toBe(messageGroupOf(bb));
      }),
      { numRuns: 3000 },
    );
  });

  it('the group is the identity itself, or for a binding the provider-store prefix of it (starts and ends stay in order)', () => {
    fc.assert(
      fc.property(arbEvent, arbStyle, (e, style) => {
        const body = render(e, style);
        const key = entityKey(parsed(body));
        const group = messageGroupOf(body);
        if (e.type === 'binding.started' || e.type === 'binding.ended') {
          expect(key.startsWith(`${group}|`)).toBe(true);
          expect(group).toBe(`binding|${e.providerId}|${e.storeId}`);
        } else expect(group).toBe(key);
      }),
    );
  });

  it('a body without a readable identity gets a group of its own, never one of a real identity', () => {
    for (const body of ['not json', '[]', 'null', '{"type":"order.paid"}', '{"type":"order.paid","orderId":"bad id"}', '{"type":"nope","orderId":"A"}']) {
      expect(messageGroupOf(body)).toMatch(/^invalid:[0-9a-f]{12}$/);
    }
    expect(messageGroupOf('{"type":"order.paid"}')).not.toBe(messageGroupOf('{"type":"order.paid" }'));
  });
});
