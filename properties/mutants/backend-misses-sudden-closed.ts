// A blkback whose frontend_changed acts on the frontend's Closed only after its Closing: a
// frontend that goes away before the backend connected (the guest unbound blkfront, and
// xenbus_dev_remove wrote Closed over Initialising or Initialised) leaves blkback in InitWait
// for good. Linux's frontend_changed disconnects and closes on Closed whatever came before it.
// Caught at quiescence by teardown-liveness.
import { XenbusState } from '../../model/xenbus-state.ts';
import { skippingSwitch, variantOf } from './variant.ts';

export const backendMissesSuddenClosed = variantOf('backend-misses-sudden-closed', {
  blkback: {
    switchState: skippingSwitch(XenbusState.InitWait, XenbusState.Closed),
  },
});
