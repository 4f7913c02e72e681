// A known-bad variant is the honest Drivers table with one or two routines replaced.
import type { BlkbackDrivers, BlkfrontDrivers, Drivers } from '../../impl/world/drivers.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { xenbusSwitchState } from '../../impl/blkfront/xenbus.ts';

export interface Replacements {
  readonly blkfront?: Partial<BlkfrontDrivers>;
  readonly blkback?: Partial<BlkbackDrivers>;
}

export function variantOf(name: string, replace: Replacements): Drivers {
  return {
    name,
    blkfront: { ...HONEST_DRIVERS.blkfront, ...replace.blkfront },
    blkback: { ...HONEST_DRIVERS.blkback, ...replace.blkback },
  };
}

/** xenbus_switch_state that silently skips one change (`from` -> `to`) and makes every other. */
export function skippingSwitch(from: number, to: number): typeof xenbusSwitchState {
  return (current, next) =>
    current === from && next === to ? undefined : xenbusSwitchState(current, next);
}
