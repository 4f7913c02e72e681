// A blkback whose frontend_changed disconnects on the frontend's Closed but never switches to
// Closed itself (the switch dropped from the Closed case): the toolstack waits for a Closed that
// never comes and the device is left half torn down. Caught at quiescence by teardown-liveness.
import { XenbusState } from '../../model/xenbus-state.ts';
import { xenbusSwitchState } from '../../impl/blkfront/xenbus.ts';
import { variantOf } from './variant.ts';

export const backendNeverCloses = variantOf('backend-never-closes', {
  blkback: {
    switchState: (current: number, next: number) =>
      next === XenbusState.Closed ? undefined : xenbusSwitchState(current, next),
  },
});
