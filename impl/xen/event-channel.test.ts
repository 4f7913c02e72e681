import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import { EventChannels, type Port } from './event-channel.ts';
import type { DomId } from './memory.ts';

const BACKEND = 0;
const GUEST = 1;

/** The blkif handshake: the frontend allocates, the backend binds; the bind leaves a spurious event. */
function connect(channels: EventChannels): { fe: Port; be: Port } {
  const fe = channels.allocUnbound(GUEST, BACKEND);
  const bound = channels.bindInterdomain(BACKEND, GUEST, fe);
  if (!bound.ok) throw new Error(bound.error);
  expect(channels.deliver(BACKEND, bound.value)).toBe(true);
  return { fe, be: bound.value };
}

describe('EventChannels', () => {
  it('xen_irq_lateeoi: the second spurious EOI in a row stays masked until its timer; real work resets', () => {
    const channels = new EventChannels();
    const { fe } = connect(channels);
    channels.mask(GUEST, fe);
    expect(channels.lateEoi(GUEST, fe, true)).toBe('unmasked');
    expect(channels.spuriousCount(GUEST, fe)).toBe(1);
    channels.mask(GUEST, fe);
    expect(channels.lateEoi(GUEST, fe, true)).toBe('delayed');
    expect(channels.isMasked(GUEST, fe)).toBe(true);
    expect(channels.anyEoiDelayed(GUEST)).toBe(true);
    expect(() => channels.lateEoi(GUEST, fe, false)).toThrow(AssertionError);
    channels.lateEoiExpired(GUEST, fe);
    expect([channels.isMasked(GUEST, fe), channels.anyEoiDelayed(GUEST)]).toEqual([false, false]);
    channels.mask(GUEST, fe);
    expect(channels.lateEoi(GUEST, fe, false)).toBe('unmasked');
    expect(channels.spuriousCount(GUEST, fe)).toBe(0);
    // Closing a port with a delayed EOI forgets it.
    channels.mask(GUEST, fe);
    channels.lateEoi(GUEST, fe, true);
    channels.lateEoi(GUEST, fe, true);
    expect(channels.close(GUEST, fe).ok).toBe(true);
    expect(channels.anyEoiDelayed(GUEST)).toBe(false);
  });

  it('allocates the lowest free port >= 1 and reuses closed ports', () => {
    const channels = new EventChannels();
    expect([1, 2, 3].map(() => channels.allocUnbound(GUEST, BACKEND))).toEqual([1, 2, 3]);
    expect(channels.close(GUEST, 2).ok).toBe(true);
    expect(channels.allocUnbound(GUEST, BACKEND)).toBe(2);
    expect(channels.openCount(GUEST)).toBe(3);
    expect(channels.boundCount(GUEST)).toBe(0);
  });

  it('binds only an unbound port reserved for the binding domain', () => {
    const channels = new EventChannels();
    const fe = channels.allocUnbound(GUEST, BACKEND);
    expect(channels.bindInterdomain(2, GUEST, fe)).toEqual({ ok: false, error: 'wrong-domain' });
    expect(channels.bindInterdomain(BACKEND, GUEST, 9)).toEqual({
      ok: false,
      error: 'no-such-port',
    });
    expect(channels.bindInterdomain(BACKEND, 7, 1)).toEqual({ ok: false, error: 'no-such-port' });
    const be = channels.bindInterdomain(BACKEND, GUEST, fe);
    expect(be).toEqual({ ok: true, value: 1 });
    expect(channels.bindInterdomain(BACKEND, GUEST, fe)).toEqual({
      ok: false,
      error: 'not-unbound',
    });
    expect(channels.peerOf(GUEST, fe)).toEqual({ dom: BACKEND, port: 1 });
    expect(channels.peerOf(BACKEND, 1)).toEqual({ dom: GUEST, port: fe });
    // evtchn_bind_interdomain sets the new local port pending, in case a send was lost.
    expect(channels.isPending(BACKEND, 1)).toBe(true);
  });

  it('notify sets pending on the peer; several notifies coalesce into one delivery', () => {
    const channels = new EventChannels();
    const { fe, be } = connect(channels);
    for (let i = 0; i < 3; i++) expect(channels.notify(GUEST, fe).ok).toBe(true);
    expect(channels.isPending(BACKEND, be)).toBe(true);
    expect(channels.isPending(GUEST, fe)).toBe(false);
    expect(channels.deliverable()).toEqual([{ dom: BACKEND, port: be }]);
    expect(channels.deliver(BACKEND, be)).toBe(true);
    expect(channels.deliver(BACKEND, be)).toBe(false);
    expect(channels.deliverable()).toEqual([]);
  });

  it('masked events stay pending and become deliverable on unmask', () => {
    const channels = new EventChannels();
    const { fe, be } = connect(channels);
    channels.mask(BACKEND, be);
    channels.notify(GUEST, fe);
    expect(channels.isPending(BACKEND, be)).toBe(true);
    expect(channels.deliverable()).toEqual([]);
    expect(channels.deliver(BACKEND, be)).toBe(false);
    channels.unmask(BACKEND, be);
    expect(channels.deliverable()).toEqual([{ dom: BACKEND, port: be }]);
  });

  it('deliverable is in canonical (domain, port) order', () => {
    const channels = new EventChannels();
    const a = connect(channels);
    const b = connect(channels);
    channels.notify(BACKEND, b.be);
    channels.notify(GUEST, b.fe);
    channels.notify(BACKEND, a.be);
    channels.notify(GUEST, a.fe);
    expect(channels.deliverable()).toEqual([
      { dom: BACKEND, port: a.be },
      { dom: BACKEND, port: b.be },
      { dom: GUEST, port: a.fe },
      { dom: GUEST, port: b.fe },
    ]);
  });

  it('close reverts the peer to unbound for the closer; a send on it is reported, not delivered', () => {
    const channels = new EventChannels();
    const { fe, be } = connect(channels);
    expect(channels.close(BACKEND, be).ok).toBe(true);
    expect(channels.isUnbound(GUEST, fe)).toBe(true);
    expect(channels.peerOf(GUEST, fe)).toBeUndefined();
    expect(channels.boundCount(GUEST)).toBe(0);
    expect(channels.notify(GUEST, fe)).toEqual({ ok: false, error: 'not-bound' });
    expect(channels.notify(BACKEND, be)).toEqual({ ok: false, error: 'closed' });
    expect(channels.close(BACKEND, be)).toEqual({ ok: false, error: 'closed' });
    expect(channels.deliverable()).toEqual([]);
    // The backend can bind the reverted port again (reconnect after a backend restart).
    expect(channels.bindInterdomain(BACKEND, GUEST, fe).ok).toBe(true);
  });

  it('asserts when our own code masks a port it does not have', () => {
    const channels = new EventChannels();
    expect(() => channels.mask(GUEST, 4)).toThrow(AssertionError);
  });
});

// No notification is lost: a port notified since its last delivery stays pending until delivered,
// whatever the masking, and a final unmask-and-drain delivers it.
type Op = { kind: 'notify' | 'deliver' | 'mask' | 'unmask'; side: 0 | 1; channel: number };
const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('notify' as const, 'deliver' as const, 'mask' as const, 'unmask' as const),
  side: fc.constantFrom(0 as const, 1 as const),
  channel: fc.nat(2),
});

function noLostNotificationProperty(make: () => EventChannels) {
  return fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
    const channels = make();
    const pairs = [0, 1, 2].map(() => connect(channels));
    const owed = new Set<string>();
    const end = (side: 0 | 1, channel: number): { dom: DomId; port: Port } => {
      const pair = pairs[channel]!;
      return side === 0 ? { dom: GUEST, port: pair.fe } : { dom: BACKEND, port: pair.be };
    };
    for (const op of ops) {
      const self = end(op.side, op.channel);
      const peer = end(op.side === 0 ? 1 : 0, op.channel);
      if (op.kind === 'notify' && channels.notify(self.dom, self.port).ok)
        owed.add(`${peer.dom}:${peer.port}`);
      if (op.kind === 'deliver' && channels.deliver(self.dom, self.port))
        owed.delete(`${self.dom}:${self.port}`);
      if (op.kind === 'mask') channels.mask(self.dom, self.port);
      if (op.kind === 'unmask') channels.unmask(self.dom, self.port);
      for (const key of owed) {
        const [dom, port] = key.split(':').map(Number) as [number, number];
        if (!channels.isPending(dom, port)) return false;
      }
    }
    for (const pair of pairs) {
      channels.unmask(GUEST, pair.fe);
      channels.unmask(BACKEND, pair.be);
    }
    for (const { dom, port } of channels.deliverable()) {
      if (channels.deliver(dom, port)) owed.delete(`${dom}:${port}`);
    }
    return owed.size === 0;
  });
}

/** A lost-wakeup bug: masking drops an event that was already pending. */
class MaskDropsPending extends EventChannels {
  override mask(dom: DomId, port: Port): void {
    super.deliver(dom, port);
    super.mask(dom, port);
  }
}

describe('EventChannels: no notification lost', () => {
  it('every notify since the last delivery leaves the port pending, then delivered', () => {
    fc.assert(
      noLostNotificationProperty(() => new EventChannels()),
      { numRuns: 200 },
    );
  });

  it('teeth: masking that drops a pending event is caught', () => {
    expect(
      fc.check(
        noLostNotificationProperty(() => new MaskDropsPending()),
        { numRuns: 200 },
      ).failed,
    ).toBe(true);
  });
});
