// A frontend that announces Connected as soon as its ring keys are committed, skipping
// Initialised: Initialising -> Connected is an edge Linux blkfront never takes (the backend
// reads the keys when it sees Initialised; Connected means the device is ready).
import { XenbusState } from '../../model/xenbus-state.ts';
import { xenbusSwitchState } from '../../impl/blkfront/xenbus.ts';
import { variantOf } from './variant.ts';

export const connectedBeforeBackend = variantOf('connected-before-backend', {
  blkfront: {
    switchState: (current: number, next: number) =>
      xenbusSwitchState(current, next === XenbusState.Initialised ? XenbusState.Connected : next),
  },
});
