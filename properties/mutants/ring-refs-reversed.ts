// talk_to_blkback writing a multi-page ring's grant references in reverse (ring-ref0 names the
// last page): blkback maps the pages into its contiguous view in the wrong order, so its ring is
// not the frontend's. One-page rings are unchanged. Caught by queue-layout's ring-ref check.
import { type KeyTemplate, keyLayout } from '../../model/xenstore-keys.ts';
import { variantOf } from './variant.ts';

function reversed(template: KeyTemplate, pages: number): KeyTemplate {
  const value = template.value;
  if (value.kind !== 'ringRef' || pages === 1) return template;
  return { ...template, value: { ...value, page: pages - 1 - value.page } };
}

export const ringRefsReversed = variantOf('ring-refs-reversed', {
  blkfront: {
    keyLayout: (queueCount: number, ringPageOrder: number) =>
      keyLayout(queueCount, ringPageOrder).map((t) => reversed(t, 2 ** ringPageOrder)),
  },
});
