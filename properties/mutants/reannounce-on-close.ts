// A frontend that answers the backend's Closing while Connected by announcing Initialised again
// (as if to renegotiate) instead of closing: Connected -> Initialised is an edge Linux blkfront
// takes only after xenbus_dev_resume reset its cached state, never from a live Connected.
import { XenbusState } from '../../model/xenbus-state.ts';
import { xenbusSwitchState } from '../../impl/blkfront/xenbus.ts';
import { variantOf } from './variant.ts';

export const reannounceOnClose = variantOf('reannounce-on-close', {
  blkfront: {
    switchState: (current: number, next: number) =>
      current === XenbusState.Connected && next === XenbusState.Closed
        ? XenbusState.Initialised
        : xenbusSwitchState(current, next),
  },
});
