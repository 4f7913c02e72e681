// The two places blkfront's control plane touches xenstore through a driver routine rather than
// the machine: reading the backend's limits (talk_to_blkback / negotiate_mq) and
// xenbus_switch_state. They sit in the Drivers table so a known-bad variant can replace them.
import { BE, readUnsigned } from '../../model/xenstore-keys.ts';
import { assert } from '../assert.ts';

export interface BackendLimits {
  /** multi-queue-max-queues; undefined when absent or unparsable (negotiate_mq then uses 1). */
  readonly queueCountMax: number | undefined;
  /** max-ring-page-order; undefined when absent (single-page rings). */
  readonly ringPageOrderMax: number | undefined;
}

/** xenbus_read_unsigned of the two limits, with absent meaning "not advertised". */
export function readBackendLimits(read: (key: string) => string | undefined): BackendLimits {
  const limits = {
    queueCountMax: readUnsigned(read(BE.multiQueueMaxQueues)),
    ringPageOrderMax: readUnsigned(read(BE.maxRingPageOrder)),
  };
  // The backend wrote the text; readUnsigned's contract is what makes either value safe to use.
  assert(limits.queueCountMax === undefined || Number.isInteger(limits.queueCountMax), 'u32');
  assert(limits.ringPageOrderMax === undefined || Number.isInteger(limits.ringPageOrderMax), 'u32');
  return limits;
}

/** xenbus_switch_state: the value to write to the own state node, undefined to skip (unchanged). */
export function xenbusSwitchState(current: number, next: number): number | undefined {
  assert(Number.isInteger(next) && next >= 0 && next <= 8, 'XenbusState %s', next);
  return next === current ? undefined : next;
}
