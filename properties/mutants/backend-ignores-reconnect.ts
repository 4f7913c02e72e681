// A blkback whose frontend_changed ignores Initialising while Closed: Linux's "prepare for
// reconnect" (xenbus_switch_state to InitWait) is what a kexec'd kernel's xenbus_reset_frontend
// waits for before its new blkfront probes; without it the reset waits for good, the frontend
// reading Initialising over a Closed backend. Caught at quiescence by teardown-liveness.
import { XenbusState } from '../../model/xenbus-state.ts';
import { skippingSwitch, variantOf } from './variant.ts';

export const backendIgnoresReconnect = variantOf('backend-ignores-reconnect', {
  blkback: {
    switchState: skippingSwitch(XenbusState.Closed, XenbusState.InitWait),
  },
});
