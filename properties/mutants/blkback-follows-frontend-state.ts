// frontend_changed without its default case: a frontend state it has no case for (InitWait,
// Reconfiguring, Reconfigured, anything above) is followed as if the frontend were closing, so
// blkback switches to Closing without xenbus_dev_fatal "saw state N at frontend": a guest that
// flaps its own state node walks the backend through its states with no error recorded.
import { parseStateNode, XenbusState } from '../../model/xenbus-state.ts';
import { variantOf } from './variant.ts';

/** The states frontend_changed has a case for. */
const HANDLED: ReadonlySet<number> = new Set([
  XenbusState.Unknown,
  XenbusState.Initialising,
  XenbusState.Initialised,
  XenbusState.Connected,
  XenbusState.Closing,
  XenbusState.Closed,
]);

export const blkbackFollowsFrontendState = variantOf('blkback-follows-frontend-state', {
  blkback: {
    frontendChangedState: (text: string | undefined) => {
      const state = parseStateNode(text);
      return HANDLED.has(state) ? state : XenbusState.Closing;
    },
  },
});
