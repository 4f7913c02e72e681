// The two places blkfront's control plane touches xenstore through a driver routine rather than
// the machine: reading the backend's limits (talk_to_blkback / negotiate_mq) and
// xenbus_switch_state. They sit in the Drivers table so a known-bad variant can replace them.
import { BE, readUnsigned } from '../../model/xenstore-keys.ts';

export interface BackendLimits {
  /** multi-queue-max-queues; undefined when absent or unparsable (negotiate_mq then uses 1). */
  readonly queueCountMax: number | undefined;
  /** max-ring-page-order; undefined when absent (single-page rings). */
  readonly ringPageOrderMax: number | undefined;
}

/** xenbus_read_unsigned of the two limits, with absent meaning "not advertised". */
export function readBackendLimits(read: (key: string) => string | undefined): BackendLimits {
  return {
    queueCountMax: readUnsigned(read(BE.multiQueueMaxQueues)),
    ringPageOrderMax: readUnsigned(read(BE.maxRingPageOrder)),
  };
}

/** xenbus_switch_state: the value to write to the own state node, undefined to skip (unchanged). */
export function xenbusSwitchState(current: number, next: number): number | undefined {
  return next === current ? undefined : next;
}
