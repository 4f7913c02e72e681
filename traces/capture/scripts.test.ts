import { describe, expect, it } from 'vitest';
import { parseScenario } from './scenario.ts';
import { dom0Init, guestConfig, guestInit } from './scripts.ts';

const scenario = parseScenario(
  JSON.stringify({
    guest: { type: 'pvh', vcpus: 4, blkfront: { max_queues: 4 }, io: 'loop' },
    dom0: { blkback: { max_queues: 1 } },
    disks: [
      { vdev: 'xvda', size_mb: 8 },
      { vdev: 'xvdb', attach: 'later' },
    ],
    steps: [
      { do: 'create', paused: true },
      { do: 'xenstore-write', path: '{backend}/max-ring-page-order', value: '4' },
      'unpause',
      'wait-connected',
      { do: 'attach', vdev: 'xvdb' },
      { do: 'set-blkback', param: 'max_queues', value: 2 },
      'save',
      'restore',
      'destroy',
    ],
  }),
  'example',
);

describe('capture scripts', () => {
  it("xl's guest config: type, vCPUs, the boot disk only, native TSC for PVH", () => {
    const cfg = guestConfig(scenario);
    expect(cfg).toContain('type = "pvh"\n');
    expect(cfg).toContain('vcpus = 4\n');
    expect(cfg).toContain("disk = [ 'phy:/dev/loop0,xvda,w' ]\n");
    expect(cfg).toContain('tsc_mode = "native"\n');
    expect(cfg).toContain('extra = "console=hvc0 blkif_io=loop"');
    const pv = guestConfig(parseScenario('{"steps":["create"]}', 'pv'));
    expect(pv).not.toContain('tsc_mode');
  });

  it("dom0's /init: blkback's parameters on its insmod, one marked block per step, in order", () => {
    const init = dom0Init(scenario, ['loop', 'xen_blkback']);
    expect(init.startsWith('#!/bin/busybox sh\n')).toBe(true);
    expect(init).toContain('insmod /lib/modules/xen_blkback.ko max_queues=1 ||');
    expect(init).toContain('insmod /lib/modules/loop.ko ||');
    expect(init).toContain('xenstored -T /var/log/xen/xs-trace.log');
    const commands = [
      'run 180 xl create -p /etc/blkif/guest.cfg',
      `timeout -s KILL 30 xenstore-write "$(expand '{backend}/max-ring-page-order' 51712)" '4'`,
      'run 30 xl unpause guest',
      'wait_state 360 51712 backend 4 && wait_state 360 51712 frontend 4',
      'run 60 xl block-attach guest phy:/dev/loop1,xvdb,w',
      'echo 2 > /sys/module/xen_blkback/parameters/max_queues',
      'run 180 xl save guest /var/lib/xen/guest.save',
      'run 180 xl restore /var/lib/xen/guest.save',
      'run 60 xl destroy guest',
    ];
    let from = 0;
    commands.forEach((command, index) => {
      const at = init.indexOf(`  if ${command}`, from);
      expect(at, command).toBeGreaterThan(from);
      expect(init.lastIndexOf(`mark step ${index} start`, at)).toBeGreaterThan(from);
      from = at;
    });
    expect(init).toContain('losetup /dev/loop1 /tmp/xvdb.img');
    expect(init.indexOf('tar -cf /dev/vda')).toBeGreaterThan(from);
    expect(init.trimEnd().endsWith('poweroff -f')).toBe(true);
  });

  it("the guest's /init loads blkfront with its parameters and reads its I/O mode", () => {
    const init = guestInit(scenario);
    expect(init).toContain('insmod /lib/modules/xen_blkfront.ko max_queues=4\n');
    expect(init).toContain(`blkif_io=*) io=\${arg#blkif_io=}`);
  });
});
