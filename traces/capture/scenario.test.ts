import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deviceIdOf, parseScenario, ScenarioError } from './scenario.ts';

const SCENARIOS = resolve(import.meta.dirname, '../../capture/scenarios');

function parse(json: unknown) {
  return parseScenario(JSON.stringify(json), 't');
}

function error(json: unknown): string {
  try {
    parse(json);
  } catch (e) {
    if (e instanceof ScenarioError) return e.message;
    throw e;
  }
  throw new Error('parsed');
}

describe('capture scenarios', () => {
  it('every committed scenario file parses, with at least one step that creates a guest', () => {
    const files = readdirSync(SCENARIOS).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const file of files) {
      const scenario = parseScenario(readFileSync(join(SCENARIOS, file), 'utf8'), file);
      expect(scenario.description, file).not.toBe('');
      expect(
        scenario.steps.some((s) => s.do === 'create'),
        file,
      ).toBe(true);
    }
  });

  it('defaults: a PV guest with 2 vCPUs, one 16 MiB boot disk xvda, per-step limits', () => {
    const s = parse({ steps: ['create', 'wait-connected', 'destroy'] });
    expect(s.guest).toEqual({ type: 'pv', vcpus: 2, memoryMb: 192, blkfront: {}, io: 'none' });
    expect(s.disks).toEqual([{ vdev: 'xvda', sizeMb: 16, attach: 'boot' }]);
    expect(s.steps).toEqual([
      { do: 'create', paused: false, timeout: 180 },
      { do: 'wait-connected', vdev: 'xvda', timeout: 360 },
      { do: 'destroy', timeout: 60 },
    ]);
  });

  it('module parameters become strings; booleans 1/0', () => {
    const s = parse({
      guest: { blkfront: { max_queues: 4, feature_persistent: false } },
      dom0: { blkback: { max_ring_page_order: 2 } },
      steps: ['create'],
    });
    expect(s.guest.blkfront).toEqual({ max_queues: '4', feature_persistent: '0' });
    expect(s.dom0.blkback).toEqual({ max_ring_page_order: '2' });
  });

  it('xvda is device 51712, xvdb 51728 (major 202, 16 minors each)', () => {
    expect(deviceIdOf('xvda')).toBe(51712);
    expect(deviceIdOf('xvdb')).toBe(51728);
  });

  it.each([
    ['not JSON', '{', /^t: not JSON/],
    ['an unknown field', { steps: ['create'], gust: {} }, /unknown field "gust"/],
    ['an unknown step', { steps: ['reboot'] }, /^steps\[0\]: "do" must be one of create, /],
    [
      'an unknown blkfront parameter',
      { guest: { blkfront: { queues: 2 } }, steps: ['create'] },
      /^guest\.blkfront: unknown field "queues"/,
    ],
    [
      'vCPUs out of range',
      { guest: { vcpus: 0 }, steps: ['create'] },
      /^guest\.vcpus: must be an integer 1\.\.8, got 0/,
    ],
    [
      'a disk name that is no xvd',
      { disks: [{ vdev: 'sda' }], steps: ['create'] },
      /^disks\[0\]\.vdev: must be xvda\.\.xvdz/,
    ],
    [
      'a step on an unknown disk',
      { steps: ['create', { do: 'detach', vdev: 'xvdc' }] },
      /^steps\[1\]\.vdev: names no disk/,
    ],
    ['destroy before create', { steps: ['destroy'] }, /^steps\[0\] \(destroy\): needs a guest/],
    ['restore without save', { steps: ['create', 'restore'] }, /needs a saved guest/],
    [
      'attaching a boot disk',
      { disks: [{ vdev: 'xvda' }], steps: ['create', { do: 'attach', vdev: 'xvda' }] },
      /xvda is already attached/,
    ],
    [
      'unpause of a running guest',
      { steps: ['create', 'unpause'] },
      /needs a guest created with "paused": true/,
    ],
    [
      'a xenstore path outside the device',
      { steps: ['create', { do: 'xenstore-write', path: 'x', value: '1' }] },
      /^steps\[1\]\.path: must be \{backend\}/,
    ],
    [
      'a set-blkback of a parameter blkback lacks',
      { steps: [{ do: 'set-blkback', param: 'max_cpus', value: 1 }] },
      /blkback has no parameter max_cpus/,
    ],
    [
      'a zero timeout',
      { steps: [{ do: 'create', timeout: 0 }] },
      /^steps\[0\]\.timeout: must be an integer 1\.\.3600/,
    ],
  ])('rejects %s in one line naming the field', (_name, json, message) => {
    const text = typeof json === 'string' ? json : JSON.stringify(json);
    let got = '';
    try {
      parseScenario(text, 't');
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      got = e.message;
    }
    expect(got).toMatch(message);
    expect(got).not.toContain('\n');
  });

  it('the error helper sees a valid scenario as valid (teeth of the table above)', () => {
    expect(() => error({ steps: ['create'] })).toThrow('parsed');
  });
});
