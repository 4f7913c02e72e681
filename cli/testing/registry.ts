// The registry cli tests run against: the fixture property (fast) and test-only driver variants.
import { CANARY } from '../../properties/properties.ts';
import {
  CORRUPTING_DRIVERS,
  DEAF_DRIVERS,
  FIXTURE_PROPERTY,
  fixtureDrivers,
} from '../../traces/testing/fixtures.ts';
import type { Registry } from '../registry.ts';

export const TEST_REGISTRY: Registry = {
  properties: [FIXTURE_PROPERTY],
  extraProperties: [CANARY],
  drivers: fixtureDrivers,
  driverNames: ['honest', CORRUPTING_DRIVERS.name, DEAF_DRIVERS.name],
};
