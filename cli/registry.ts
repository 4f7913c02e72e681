// What the commands look names up in: the property list, the canary, and the driver variants
// (honest, known-bad and candidates).
// Tests pass their own (a small property and test-only mutants) through runCli's third argument.
import type { Drivers } from '../impl/world/drivers.ts';
import type { PropertyDef } from '../properties/catalog.ts';
import { MUTANTS } from '../properties/mutants/index.ts';
import { VARIANT_NAMES, variantByName } from '../properties/variants.ts';
import { CANARY, PROPERTIES } from '../properties/properties.ts';

export interface Registry {
  /** What `blkif check` runs when no --property is given, in report order. */
  readonly properties: readonly PropertyDef[];
  /** Selectable by name only (the canary, which must always fail). */
  readonly extraProperties: readonly PropertyDef[];
  readonly drivers: (name: string) => Drivers | undefined;
  readonly driverNames: readonly string[];
  /** What `blkif list` says of each variant (absent: listed by name only). */
  readonly variantInfo?: ReadonlyMap<string, VariantInfo>;
  /**
   * The module and export that hold this registry, so `check --jobs` worker threads can load the
   * same one (absent: the campaign runs in one job).
   */
  readonly source?: { readonly module: string; readonly name: string };
}

export interface VariantInfo {
  /** known-bad: must be caught (the teeth); candidate: an alternative expected to pass. */
  readonly kind: 'known-bad' | 'candidate';
  readonly summary: string;
  /** The violation a known-bad variant must cause. */
  readonly caughtBy?: string;
}

export const DEFAULT_REGISTRY: Registry = {
  properties: PROPERTIES,
  extraProperties: [CANARY],
  drivers: variantByName,
  driverNames: VARIANT_NAMES,
  variantInfo: new Map(
    [...MUTANTS].map(([name, m]) => [
      name,
      { kind: 'known-bad', summary: m.summary, caughtBy: m.caughtBy } as const,
    ]),
  ),
  source: { module: import.meta.url, name: 'DEFAULT_REGISTRY' },
};

export function propertyNamed(registry: Registry, name: string): PropertyDef | undefined {
  return [...registry.properties, ...registry.extraProperties].find((p) => p.name === name);
}
