import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareImages } from './capture.ts';
import { BuildError, BUILT_IN, moduleIndex, moduleLoadOrder } from './initramfs.ts';
import { parseScenario } from './scenario.ts';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A module tree as `make modules_install` lays it out (the .ko files need not be ELF here). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'blkif-modules-'));
  made.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('the module index of a kernel of ones own (--guest-modules, --backend-modules)', () => {
  it('finds .ko files anywhere below the folder, - and _ alike', () => {
    const dir = tree({
      'kernel/drivers/block/xen-blkfront.ko': 'x',
      'kernel/drivers/block/loop.ko': 'x',
    });
    const index = moduleIndex(dir);
    expect(index.get('xen_blkfront')).toBe(join(dir, 'kernel/drivers/block/xen-blkfront.ko'));
    expect(moduleLoadOrder(['xen-blkfront', 'loop'], index)).toEqual(['xen_blkfront', 'loop']);
  });

  it('a module built into the kernel (modules.builtin) is not loaded, and not missing', () => {
    const dir = tree({
      'kernel/drivers/block/loop.ko': 'x',
      'modules.builtin': 'kernel/drivers/block/xen-blkback/xen-blkback.ko\nkernel/fs/xenfs.ko\n',
    });
    const index = moduleIndex(dir);
    expect(index.get('xen_blkback')).toBe(BUILT_IN);
    expect(moduleLoadOrder(['xenfs', 'loop', 'xen-blkback'], index)).toEqual(['loop']);
  });

  it('a module neither there nor built in is a build error naming it and the folder', () => {
    const dir = tree({
      'kernel/drivers/block/loop.ko': 'x',
      'modules.builtin': 'kernel/fs/xenfs.ko\n',
    });
    expect(() => moduleLoadOrder(['xen-blkfront'], moduleIndex(dir))).toThrow(
      new BuildError(
        `kernel module xen-blkfront.ko not found (looked under ${join(dir, 'kernel/drivers/block')})`,
      ),
    );
    expect(() => moduleIndex(join(dir, 'nope'))).toThrow(/no such module directory/);
  });
});

describe('a driver under test built into ones own kernel is refused before anything boots', () => {
  it.each([
    ['xen-blkfront', 'guestModules', '--guest-kernel'],
    ['xen-blkback', 'backendModules', '--backend-kernel'],
  ] as const)('%s built in (%s)', (module, option, flag) => {
    const root = tree({ 'bin/busybox': 'not an ELF file' });
    const modules = tree({
      'kernel/drivers/block/loop.ko': 'x',
      'modules.builtin': `kernel/drivers/block/${module}.ko\n`,
    });
    const pkgs = { root, versions: {}, kernelRelease: '6.1.0-test' };
    const scenario = parseScenario('{"steps":["create"]}', 'test');
    const options = {
      scenario,
      outDir: join(root, 'out'),
      cacheDir: root,
      guestKernel: join(root, 'bin/busybox'),
      backendKernel: join(root, 'bin/busybox'),
      guestModules: option === 'guestModules' ? modules : tree({ 'xen-blkfront.ko': 'x' }),
      backendModules: option === 'backendModules' ? modules : tree({ 'xen-blkback.ko': 'x' }),
      phaseTimeout: 10,
      say: () => undefined,
    };
    expect(() => prepareImages(options, pkgs, root)).toThrow(
      new BuildError(
        `${module} is built into the ${flag} kernel: capture needs it as a module (${module}.ko), to load it with the scenario's parameters`,
      ),
    );
  });
});
