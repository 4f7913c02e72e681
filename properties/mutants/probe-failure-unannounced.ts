// A blkback whose failed probe never says so: xen_blkbk_probe's xenbus_dev_fatal writes the error
// node but leaves the state Initialising, so blkfront (waiting for InitWait) is never told the
// device will not come and never closes. Linux's xenbus_dev_fatal switches to Closing, which
// blkback_changed answers with blkfront_closing. Caught at quiescence by teardown-liveness.
import { XenbusState } from '../../model/xenbus-state.ts';
import { skippingSwitch, variantOf } from './variant.ts';

export const probeFailureUnannounced = variantOf('probe-failure-unannounced', {
  blkback: {
    switchState: skippingSwitch(XenbusState.Initialising, XenbusState.Closing),
  },
});
