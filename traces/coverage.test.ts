// Every step of a run is explained by a chain of declared edges (docs/guide.md promises
// `unattributed` is 0), migrations included: the old host's backend tears down while the new
// host's starts, both inside one step.
import { describe, expect, it } from 'vitest';
import { HONEST_DRIVERS } from '../impl/world/drivers.ts';
import { PROPERTIES } from '../properties/properties.ts';
import { EdgeCounter } from './coverage.ts';

describe('edge coverage attribution', () => {
  it('attributes every step of migrating runs (queue-layout and xenbus-transitions)', () => {
    const counter = new EdgeCounter();
    for (const def of PROPERTIES.filter((p) =>
      ['queue-layout', 'xenbus-transitions'].includes(p.name),
    ))
      counter.addProperty(def, 3, 30, HONEST_DRIVERS);
    expect(counter.steps).toBeGreaterThan(1000);
    expect(counter.unattributed).toBe(0);
  });
});
