// XenbusState values of xen/include/public/io/xenbus.h and the state changes each side of a
// Linux blkif connection actually makes (xen-blkfront.c, xen-blkback/xenbus.c, xenbus_client.c,
// xenbus_probe.c, libxl_device.c). The tables are data so that an invariant and a conformance
// checker over real xenstored traces can ask "is this write legal, and who may make it?".

export const XenbusState = {
  Unknown: 0,
  Initialising: 1,
  InitWait: 2,
  Initialised: 3,
  Connected: 4,
  Closing: 5,
  Closed: 6,
  Reconfiguring: 7,
  Reconfigured: 8,
} as const;

export type XenbusStateName = keyof typeof XenbusState;
export type XenbusState = (typeof XenbusState)[XenbusStateName];

const NAMES: readonly XenbusStateName[] = [
  'Unknown',
  'Initialising',
  'InitWait',
  'Initialised',
  'Connected',
  'Closing',
  'Closed',
  'Reconfiguring',
  'Reconfigured',
];

/** The name of a state value; undefined for anything outside 0..8 (a peer may write anything). */
export function xenbusStateName(value: number): XenbusStateName | undefined {
  return Number.isInteger(value) ? NAMES[value] : undefined;
}

export function isXenbusState(value: number): value is XenbusState {
  return xenbusStateName(value) !== undefined;
}

/**
 * Who writes a `state` node. 'xenbus' is the Linux xenbus core acting for a driver (the Closed
 * written after a remove callback); 'toolstack' is libxl creating, unplugging or deleting.
 */
export type StateWriter = 'frontend' | 'backend' | 'xenbus' | 'toolstack';

export interface LegalTransition {
  readonly from: XenbusState;
  readonly to: XenbusState;
  readonly writer: StateWriter;
  readonly why: string;
  /** Only when the writer's cached dev->state was this (the node may still hold the old value). */
  readonly cached?: XenbusState;
}

const S = XenbusState;

function edges(
  froms: readonly XenbusState[],
  to: XenbusState,
  writer: StateWriter,
  why: string,
): LegalTransition[] {
  return froms.map((from) => ({ from, to, writer, why }));
}

// Directory creation and deletion by libxl, shared by both sides. A missing node reads Unknown.
const TOOLSTACK_COMMON: readonly LegalTransition[] = [
  ...edges([S.Unknown], S.Initialising, 'toolstack', 'libxl creates the device directory'),
  ...edges(
    [S.Initialising, S.InitWait, S.Initialised, S.Connected, S.Closing, S.Closed],
    S.Unknown,
    'toolstack',
    'libxl deletes the directory (detach, destroy, save)',
  ),
];

/** State changes of FE `state` as Linux blkfront [cur] makes them. */
export const frontendTransitions: readonly LegalTransition[] = [
  ...TOOLSTACK_COMMON,
  ...edges([S.Initialising], S.Initialised, 'frontend', 'talk_to_blkback committed its keys'),
  ...edges(
    [S.Closing, S.Closed],
    S.Initialised,
    'frontend',
    'talk_to_blkback again: backend Connected after a close that left no rings',
  ),
  // Not Connected -> Initialised: a live Connected never goes back (a capacity change or a
  // repeated Connected leaves the state alone), a restore's directory is new (Initialising), and
  // the one way Linux takes it — blkfront_resume in place after an HVM guest's ACPI S3
  // (xenbus_frontend_dev_resume) — writes Initialised under a blkback that ignores it while
  // Connected (frontend_changed), a session that never reconnects: no survivable run has it.
  ...edges([S.Initialised], S.Connected, 'frontend', 'blkfront_connect or blkif_recover'),
  ...edges(
    [S.Initialising, S.Initialised, S.Connected, S.Closed],
    S.Closing,
    'frontend',
    'xenbus_dev_fatal (talk or connect failed) or the shutdown hook',
  ),
  ...edges(
    [S.Initialising, S.Initialised, S.Connected, S.Closing],
    S.Closed,
    'frontend',
    'blkfront_closing goes straight to Closed; during shutdown, backend Closing closes',
  ),
  ...edges(
    [S.Initialising, S.Initialised, S.Connected, S.Closing],
    S.Closed,
    'xenbus',
    'xenbus_dev_remove after blkfront_remove (blkfront does not allow rebind)',
  ),
  // A kexec'd HVM kernel's xenbus_reset_frontend over the Closed frontend the old kernel left:
  // Closing for a Connected backend, then (Closed, as above) and Initialising for a Closed one.
  ...edges([S.Closed], S.Closing, 'xenbus', 'xenbus_reset_frontend: the backend is Connected'),
  ...edges([S.Closed], S.Initialising, 'xenbus', 'xenbus_reset_frontend: the backend is Closed'),
];

/** State changes of BE `state` as Linux blkback [cur] makes them, plus libxl's unplug write. */
export const backendTransitions: readonly LegalTransition[] = [
  ...TOOLSTACK_COMMON,
  ...edges([S.Initialising], S.InitWait, 'backend', 'xen_blkbk_probe published its limits'),
  ...edges([S.Closed], S.InitWait, 'backend', 'frontend Initialising: prepare for reconnect'),
  ...edges(
    [S.InitWait, S.Closing, S.Closed],
    S.Connected,
    'backend',
    'connect() after connect_ring and hotplug (frontend_changed does not check the cached state)',
  ),
  ...edges(
    [S.Initialising, S.InitWait, S.Connected, S.Closed],
    S.Closing,
    'backend',
    'frontend Closing, or xenbus_dev_fatal',
  ),
  ...edges(
    [S.InitWait, S.Connected, S.Closing],
    S.Closed,
    'backend',
    'frontend Closed: xen_blkif_disconnect then Closed',
  ),
  ...edges(
    [S.Closing],
    S.Closed,
    'xenbus',
    'xenbus_dev_remove: the node reads Closing after unregister',
  ),
  ...edges(
    [S.Initialising, S.InitWait, S.Connected],
    S.Closing,
    'toolstack',
    'libxl unplug or destroy writes online=0 and state=5',
  ),
];

export type Side = 'frontend' | 'backend';

const TABLES: Record<Side, readonly LegalTransition[]> = {
  frontend: frontendTransitions,
  backend: backendTransitions,
};

/** Every legal way `from` → `to` happens on that side; empty when the change is illegal. */
export function legalTransitionsOf(
  side: Side,
  from: number,
  to: number,
): readonly LegalTransition[] {
  return TABLES[side].filter((edge) => edge.from === from && edge.to === to);
}

/** `cached`: the writer's dev->state before the write, when known (edges may require one). */
export function isLegalTransition(
  side: Side,
  from: number,
  to: number,
  writer?: StateWriter,
  cached?: number,
): boolean {
  return legalTransitionsOf(side, from, to).some(
    (edge) =>
      (writer === undefined || edge.writer === writer) &&
      (edge.cached === undefined || cached === undefined || edge.cached === cached),
  );
}

/**
 * xenbus_read_driver_state: the node's value as sscanf("%d") sees it (leading blanks, a sign,
 * digits, trailing text ignored); Unknown when the node is absent or holds no number.
 */
export function parseStateNode(text: string | undefined): number {
  if (text === undefined) return XenbusState.Unknown;
  const value = Number.parseInt(text, 10);
  return Number.isFinite(value) ? value : XenbusState.Unknown;
}
