// talk_to_blkback numbering its per-queue directories from 1 (queue-1 .. queue-N) instead of
// queue-0 .. queue-(N-1): the backend finds no queue-0/ring-ref. Only multi-queue layouts change.
import { type KeyTemplate, keyLayout } from '../../model/xenstore-keys.ts';
import { variantOf } from './variant.ts';

const QUEUE_DIR = /^queue-(\d+)\//;

function shifted(template: KeyTemplate): KeyTemplate {
  const path = template.path.replace(QUEUE_DIR, (_all, n: string) => `queue-${Number(n) + 1}/`);
  return { ...template, path };
}

export const queueDirsFromOne = variantOf('queue-dirs-from-one', {
  blkfront: {
    keyLayout: (queueCount: number, ringPageOrder: number) =>
      keyLayout(queueCount, ringPageOrder).map(shifted),
  },
});
