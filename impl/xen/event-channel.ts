// The hypervisor's event channels (xen/common/event_channel.c, 2-level ABI) for every domain.
// A notify only sets the PENDING bit of the peer's port; delivery (the upcall that runs the
// driver's handler) is a separate world action chosen by the scheduler, so "notify, then the
// peer checks the ring" and "the peer checks first" are both explored. Several sends before a
// delivery coalesce into one pending bit, as on real hardware.
//
// Port states follow Xen: free, unbound (waiting for `remote` to bind), interdomain. Closing an
// interdomain port reverts the peer to unbound for this domain (evtchn_close), and binding sets
// the new local port pending at once, because Xen conservatively assumes a send on the remote
// unbound port may have been lost (evtchn_bind_interdomain).
import { assert } from '../assert.ts';
import { FORK_SELF, HASH_SELF, type ForksSelf, type Hasher, type HashesSelf } from '../hash.ts';
import type { DomId } from './memory.ts';
import { err, OK_VOID, ok, type Result } from './result.ts';

export type Port = number;
export type EvtchnError = 'no-such-port' | 'not-unbound' | 'wrong-domain' | 'not-bound' | 'closed';

/** EVTCHN_2L_NR_CHANNELS on a 64-bit guest: the 2-level ABI's port space. */
export const EVTCHN_2L_NR_CHANNELS = 4096;

// Port states; Closed is Xen's ECS_FREE after a close, kept apart so a stale use reads 'closed'.
const State = { Free: 0, Unbound: 1, Interdomain: 2, Closed: 3 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * One domain's port table; arrays grow on demand up to portCountMax. It forks and hashes itself:
 * its eight columns by hand, not through the generic walks' per-field lookups.
 */
class DomainPorts implements ForksSelf, HashesSelf {
  state: State[];
  /** Unbound: the domain allowed to bind. Interdomain: the peer domain. */
  remoteDom: DomId[];
  remotePort: Port[];
  pending: boolean[];
  masked: boolean[];
  /** Sends from each port that reached a peer: traces tell a notifying push from a silent one. */
  sends: number[];
  /** The receiving kernel's irq_info->spurious_cnt: spurious late EOIs in a row. */
  spurious: number[];
  /** A late EOI the kernel delayed (lateeoi_list_add): masked until the lateeoi worker runs. */
  eoiDelayed: boolean[];
  pendingCount: number;
  delayedCount: number;
  inUse: number;
  interdomain: number;

  /** `from`: the table a fork copies. */
  constructor(from?: DomainPorts) {
    this.state = from === undefined ? [State.Free] : from.state.slice();
    this.remoteDom = from === undefined ? [0] : from.remoteDom.slice();
    this.remotePort = from === undefined ? [0] : from.remotePort.slice();
    this.pending = from === undefined ? [false] : from.pending.slice();
    this.masked = from === undefined ? [false] : from.masked.slice();
    this.sends = from === undefined ? [0] : from.sends.slice();
    this.spurious = from === undefined ? [0] : from.spurious.slice();
    this.eoiDelayed = from === undefined ? [false] : from.eoiDelayed.slice();
    this.pendingCount = from?.pendingCount ?? 0;
    this.delayedCount = from?.delayedCount ?? 0;
    this.inUse = from?.inUse ?? 0;
    this.interdomain = from?.interdomain ?? 0;
  }

  [FORK_SELF](): DomainPorts {
    const copy = new DomainPorts(this);
    assert(copy.state.length === this.state.length, 'port table fork');
    return copy;
  }

  /** Every port's state, peer, pending, mask, spurious count and delayed EOI, and the counts. */
  [HASH_SELF](h: Hasher): void {
    const length = this.state.length;
    assert(this.spurious.length === length && this.eoiDelayed.length === length, 'port columns');
    h.mix(length);
    for (let port = 0; port < length; port++) {
      h.mix(this.state[port]!);
      h.mixNumber(this.remoteDom[port]!);
      h.mixNumber(this.remotePort[port]!);
      h.mix(portFlags(this.pending[port]!, this.masked[port]!, this.eoiDelayed[port]!));
      h.mixNumber(this.spurious[port]!);
    }
    // `sends` counts for traces, not state (left out as the generic walk leaves it out).
    h.mix(this.pendingCount);
    h.mix(this.delayedCount);
    h.mix(this.inUse);
    h.mix(this.interdomain);
  }
}

function portFlags(pending: boolean, masked: boolean, eoiDelayed: boolean): number {
  return (pending ? 1 : 0) | (masked ? 2 : 0) | (eoiDelayed ? 4 : 0);
}

const E_NO_SUCH_PORT = err('no-such-port' as const);
const E_NOT_UNBOUND = err('not-unbound' as const);
const E_WRONG_DOMAIN = err('wrong-domain' as const);
const E_NOT_BOUND = err('not-bound' as const);
const E_CLOSED = err('closed' as const);

export class EventChannels {
  readonly portCountMax: number;
  private readonly domains = new Map<DomId, DomainPorts>();
  /** Domain ids in ascending order, for the canonical order of deliverable(). */
  private domIds: DomId[] = [];

  constructor(portCountMax: number = EVTCHN_2L_NR_CHANNELS) {
    assert(Number.isInteger(portCountMax) && portCountMax >= 2, 'portCountMax must be >= 2');
    this.portCountMax = portCountMax;
  }

  /** Whether EVTCHNOP_alloc_unbound finds a free port below `max` (else Xen answers -ENOSPC). */
  hasFreePortBelow(dom: DomId, max: number): boolean {
    const ports = this.domains.get(dom);
    const length = ports === undefined ? 1 : ports.state.length;
    for (let port = 1; port < Math.min(length, max); port++) {
      const state = ports!.state[port];
      if (state === State.Free || state === State.Closed) return true;
    }
    return length < max;
  }

  /** EVTCHNOP_alloc_unbound: lowest free port >= 1 (port 0 is never handed out). */
  allocUnbound(dom: DomId, remote: DomId): Port {
    assert(Number.isInteger(remote) && remote >= 0, 'alloc_unbound for remote domain %s', remote);
    const ports = this.portsOf(dom);
    const port = this.lowestFreePort(ports);
    ports.state[port] = State.Unbound;
    ports.remoteDom[port] = remote;
    ports.remotePort[port] = 0;
    ports.pending[port] = false;
    ports.masked[port] = false;
    ports.spurious[port] = 0;
    ports.eoiDelayed[port] = false;
    ports.inUse++;
    assert(port >= 1, 'allocUnbound: port 0 handed out');
    assert(ports.inUse < ports.state.length, 'dom %s: %s ports in use', dom, ports.inUse);
    return port;
  }

  /** EVTCHNOP_bind_interdomain: the remote port must be unbound and reserved for `dom`. */
  bindInterdomain(dom: DomId, remoteDom: DomId, remotePort: Port): Result<Port, EvtchnError> {
    const remote = this.domains.get(remoteDom);
    if (remote === undefined || !this.validPort(remote, remotePort)) return E_NO_SUCH_PORT;
    const remoteState = remote.state[remotePort]!;
    if (remoteState === State.Free) return E_NO_SUCH_PORT;
    if (remoteState === State.Closed) return E_CLOSED;
    if (remoteState !== State.Unbound) return E_NOT_UNBOUND;
    if (remote.remoteDom[remotePort] !== dom) return E_WRONG_DOMAIN;
    const local = this.portsOf(dom);
    const port = this.lowestFreePort(local);
    assert(local !== remote || port !== remotePort, 'dom %s: port %s bound to itself', dom, port);
    local.state[port] = State.Interdomain;
    local.remoteDom[port] = remoteDom;
    local.remotePort[port] = remotePort;
    local.pending[port] = false;
    local.masked[port] = false;
    local.spurious[port] = 0;
    local.eoiDelayed[port] = false;
    local.inUse++;
    local.interdomain++;
    remote.state[remotePort] = State.Interdomain;
    remote.remotePort[remotePort] = port;
    remote.interdomain++;
    // evtchn_bind_interdomain: "we may have lost notifications on the remote unbound port".
    this.setPending(local, port);
    assert(this.peerOf(remoteDom, remotePort)?.port === port, 'bindInterdomain: link');
    assert(this.peerOf(dom, port)?.port === remotePort, 'bindInterdomain: link back');
    return ok(port);
  }

  /**
   * EVTCHNOP_send: sets PENDING on the peer end. Xen silently drops a send on an unbound port and
   * returns 0; we report 'not-bound' so a trace shows the drop (drivers ignore the result, as
   * notify_remote_via_irq does). Nothing is set pending in that case either way.
   */
  notify(dom: DomId, port: Port): Result<void, EvtchnError> {
    const ports = this.domains.get(dom);
    if (ports === undefined || !this.validPort(ports, port)) return E_NO_SUCH_PORT;
    const state = ports.state[port]!;
    if (state === State.Interdomain) {
      const peer = this.domains.get(ports.remoteDom[port]!);
      assert(peer !== undefined, 'notify: interdomain peer has no port table');
      const peerPort = ports.remotePort[port]!;
      // Interdomain links are symmetric: the peer's port points back at this one.
      assert(peer.remotePort[peerPort] === port, 'notify: port %s and its peer disagree', port);
      this.setPending(peer, peerPort);
      ports.sends[port] = (ports.sends[port] ?? 0) + 1;
      return OK_VOID;
    }
    if (state === State.Unbound) return E_NOT_BOUND;
    return state === State.Closed ? E_CLOSED : E_NO_SUCH_PORT;
  }

  mask(dom: DomId, port: Port): void {
    const ports = this.ownPort(dom, port, 'mask');
    ports.masked[port] = true;
    assert(this.isMasked(dom, port), 'mask of port %s did not stick', port);
  }

  /** Unmasking a pending port makes it deliverable again (evtchn_unmask re-raises the upcall). */
  unmask(dom: DomId, port: Port): void {
    const ports = this.ownPort(dom, port, 'unmask');
    ports.masked[port] = false;
    assert(!this.isMasked(dom, port), 'unmask of port %s did not stick', port);
  }

  /**
   * xen_irq_lateeoi(irq, flags) of the receiving kernel (drivers/xen/events/events_base.c,
   * xen_irq_lateeoi_locked, XSA-332): the end of one event's handling. A spurious EOI
   * (XEN_EOI_FLAG_SPURIOUS: the handler found nothing to do) counts up spurious_cnt and, from the
   * second in a row, does not unmask: the EOI waits 1 << (spurious_cnt - 2) jiffies on the
   * lateeoi list (one pending timer: lateEoiExpired). Any other EOI resets the count and unmasks.
   */
  lateEoi(dom: DomId, port: Port, spurious: boolean): 'unmasked' | 'delayed' {
    const ports = this.ownPort(dom, port, 'lateEoi');
    assert(!ports.eoiDelayed[port], 'lateEoi: port %s already waits on the lateeoi list', port);
    ports.spurious[port] = spurious ? Math.min((ports.spurious[port] ?? 0) + 1, 255) : 0;
    if (ports.spurious[port]! > 1) {
      ports.eoiDelayed[port] = true;
      ports.delayedCount++;
      ports.masked[port] = true;
      return 'delayed';
    }
    ports.masked[port] = false;
    assert(!this.isMasked(dom, port), 'late EOI of port %s did not unmask', port);
    return 'unmasked';
  }

  /** xen_irq_lateeoi_worker: a delayed EOI's time came; the channel is unmasked. */
  lateEoiExpired(dom: DomId, port: Port): void {
    const ports = this.ownPort(dom, port, 'lateEoiExpired');
    assert(ports.eoiDelayed[port] === true, 'lateEoiExpired: port %s has no delayed EOI', port);
    ports.eoiDelayed[port] = false;
    ports.delayedCount--;
    ports.masked[port] = false;
  }

  /** Whether any late EOI of `dom` waits for its timer: enabled() asks it before each port. */
  anyEoiDelayed(dom: DomId): boolean {
    const ports = this.domains.get(dom);
    assert(ports === undefined || ports.delayedCount >= 0, 'dom %s: delayed EOIs below 0', dom);
    return ports !== undefined && ports.delayedCount > 0;
  }

  /** A delayed late EOI is waiting for its timer on `port` of `dom`. */
  isEoiDelayed(dom: DomId, port: Port): boolean {
    const ports = this.domains.get(dom);
    return ports !== undefined && this.validPort(ports, port) && ports.eoiDelayed[port] === true;
  }

  /** The kernel's spurious_cnt for `port` of `dom` (0 after any EOI that found work). */
  spuriousCount(dom: DomId, port: Port): number {
    const ports = this.domains.get(dom);
    const count =
      ports !== undefined && this.validPort(ports, port) ? (ports.spurious[port] ?? 0) : 0;
    assert(count >= 0, 'port %s of dom %s: spurious count below 0', port, dom);
    return count;
  }

  /** Whether any port of `dom` is pending: enabled() asks it before looking at each port. */
  anyPending(dom: DomId): boolean {
    const ports = this.domains.get(dom);
    return ports !== undefined && ports.pendingCount > 0;
  }

  isPending(dom: DomId, port: Port): boolean {
    const ports = this.domains.get(dom);
    return ports !== undefined && this.validPort(ports, port) && ports.pending[port] === true;
  }

  /** How many sends from `port` of `dom` reached its peer, ever (not protocol state: a count). */
  sendCount(dom: DomId, port: Port): number {
    const ports = this.domains.get(dom);
    const count = ports !== undefined && this.validPort(ports, port) ? (ports.sends[port] ?? 0) : 0;
    assert(count >= 0, 'port %s of dom %s: send count below 0', port, dom);
    return count;
  }

  /** Pending and not masked: what delivery needs, asked of each port with one table lookup. */
  isDeliverable(dom: DomId, port: Port): boolean {
    const ports = this.domains.get(dom);
    return (
      ports !== undefined &&
      this.validPort(ports, port) &&
      ports.pending[port] === true &&
      ports.masked[port] !== true
    );
  }

  isMasked(dom: DomId, port: Port): boolean {
    const ports = this.domains.get(dom);
    return ports !== undefined && this.validPort(ports, port) && ports.masked[port] === true;
  }

  /** Pending and unmasked ports, in canonical order (domain, then port). */
  deliverable(): readonly { dom: DomId; port: Port }[] {
    const out: { dom: DomId; port: Port }[] = [];
    for (const dom of this.domIds) {
      const ports = this.domains.get(dom);
      assert(ports !== undefined, 'domain %s listed without a port table', dom);
      if (ports.pendingCount === 0) continue;
      for (let port = 1; port < ports.state.length; port++) {
        if (ports.pending[port] && !ports.masked[port]) out.push({ dom, port });
      }
    }
    return out;
  }

  /** The upcall: clears PENDING and reports whether the port was deliverable. */
  deliver(dom: DomId, port: Port): boolean {
    const ports = this.domains.get(dom);
    if (ports === undefined || !this.validPort(ports, port)) return false;
    if (!ports.pending[port] || ports.masked[port]) return false;
    // Only a live port is ever pending: close clears PENDING with the port.
    assert(
      ports.state[port] !== State.Free && ports.state[port] !== State.Closed,
      'port %s pending while free',
      port,
    );
    ports.pending[port] = false;
    ports.pendingCount--;
    assert(ports.pendingCount >= 0, 'deliver: pending count underflow');
    return true;
  }

  /** EVTCHNOP_close: frees the port; an interdomain peer reverts to unbound for this domain. */
  close(dom: DomId, port: Port): Result<void, EvtchnError> {
    const ports = this.domains.get(dom);
    if (ports === undefined || !this.validPort(ports, port)) return E_NO_SUCH_PORT;
    const state = ports.state[port]!;
    if (state === State.Free) return E_NO_SUCH_PORT;
    if (state === State.Closed) return E_CLOSED;
    if (state === State.Interdomain) {
      const peer = this.domains.get(ports.remoteDom[port]!);
      const peerPort = ports.remotePort[port]!;
      assert(peer !== undefined, 'close: interdomain peer of port %s has no port table', port);
      assert(peer.state[peerPort] === State.Interdomain, 'close: peer is not interdomain');
      peer.state[peerPort] = State.Unbound;
      peer.remoteDom[peerPort] = dom;
      peer.remotePort[peerPort] = 0;
      peer.interdomain--;
      ports.interdomain--;
    }
    if (ports.pending[port]) ports.pendingCount--;
    if (ports.eoiDelayed[port]) ports.delayedCount--;
    ports.state[port] = State.Closed;
    ports.pending[port] = false;
    ports.masked[port] = false;
    ports.spurious[port] = 0;
    ports.eoiDelayed[port] = false;
    ports.inUse--;
    assert(ports.inUse >= 0, 'close: in-use count underflow');
    assert(ports.interdomain <= ports.inUse, 'close: more bound ports than ports in use');
    assert(this.peerOf(dom, port) === undefined, 'close: port %s still has a peer', port);
    return OK_VOID;
  }

  peerOf(dom: DomId, port: Port): { dom: DomId; port: Port } | undefined {
    const ports = this.domains.get(dom);
    if (ports === undefined || !this.validPort(ports, port)) return undefined;
    if (ports.state[port] !== State.Interdomain) return undefined;
    const peer = ports.remotePort[port]!;
    assert(peer >= 1, 'port %s bound to port %s', port, peer);
    return { dom: ports.remoteDom[port]!, port: peer };
  }

  /** Interdomain (bound) ports of `dom`. */
  boundCount(dom: DomId): number {
    const ports = this.domains.get(dom);
    assert(ports === undefined || ports.interdomain >= 0, 'dom %s: bound count below 0', dom);
    return ports?.interdomain ?? 0;
  }

  /** Ports of `dom` in use, unbound or interdomain: what must reach 0 after a clean teardown. */
  openCount(dom: DomId): number {
    const ports = this.domains.get(dom);
    assert(
      ports === undefined || ports.inUse >= ports.interdomain,
      'dom %s: open below bound',
      dom,
    );
    return ports?.inUse ?? 0;
  }

  /** True if `port` of `dom` is allocated and still waiting for its peer to bind. */
  isUnbound(dom: DomId, port: Port): boolean {
    const ports = this.domains.get(dom);
    return (
      ports !== undefined && this.validPort(ports, port) && ports.state[port] === State.Unbound
    );
  }

  private setPending(ports: DomainPorts, port: Port): void {
    assert(ports.state[port] === State.Interdomain, 'port %s set pending while unbound', port);
    if (ports.pending[port]) return;
    ports.pending[port] = true;
    ports.pendingCount++;
  }

  private portsOf(dom: DomId): DomainPorts {
    let ports = this.domains.get(dom);
    if (ports === undefined) {
      assert(Number.isInteger(dom) && dom >= 0, 'event channels: bad domid');
      ports = new DomainPorts();
      this.domains.set(dom, ports);
      this.domIds = [...this.domIds, dom].sort((a, b) => a - b);
    }
    return ports;
  }

  private lowestFreePort(ports: DomainPorts): Port {
    for (let port = 1; port < ports.state.length; port++) {
      const state = ports.state[port];
      if (state === State.Free || state === State.Closed) return port;
    }
    const port = ports.state.length;
    assert(port < this.portCountMax, 'event channels: port space exhausted');
    ports.state.push(State.Free);
    ports.remoteDom.push(0);
    ports.remotePort.push(0);
    ports.pending.push(false);
    ports.masked.push(false);
    ports.sends.push(0);
    ports.spurious.push(0);
    ports.eoiDelayed.push(false);
    // Every column grew alike: a port's state, peer, bits and count stay one row.
    assert(ports.sends.length === ports.state.length, 'dom port table of %s ragged', port);
    return port;
  }

  private validPort(ports: DomainPorts, port: Port): boolean {
    assert(
      ports.state.length <= this.portCountMax,
      'a port table past %s ports',
      this.portCountMax,
    );
    return Number.isInteger(port) && port >= 1 && port < ports.state.length;
  }

  /** mask/unmask act on the caller's own live port: anything else is our bug. */
  private ownPort(dom: DomId, port: Port, what: string): DomainPorts {
    const ports = this.domains.get(dom);
    assert(ports !== undefined && this.validPort(ports, port), '%s: no port %s', what, port);
    const state = ports.state[port];
    assert(
      state === State.Unbound || state === State.Interdomain,
      '%s: port %s is free',
      what,
      port,
    );
    return ports;
  }
}
