// `blkif capture`'s library: record the real drivers' xenstore traffic for a scenario file.
// Fetch and unpack the Debian packages (debian.ts), build the guest's and dom0's initramfs
// (initramfs.ts, scripts.ts), boot Xen under QEMU TCG (qemu.ts), bring the xenstored trace and
// the logs back into a folder, and write capture.json (what ran, with which versions, how long
// each step took). Checking the trace against the model is the caller's (cli/commands/capture.ts).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fetchPackages, type UnpackedPackages } from './debian.ts';
import { addModules, BUILT_IN, BuildError, ImageTree, moduleIndex } from './initramfs.ts';
import {
  boot,
  DOM0_CMDLINE,
  type Marker,
  QEMU,
  qemuArgs,
  qemuVersion,
  XEN_CMDLINE,
} from './qemu.ts';
import type { Scenario } from './scenario.ts';
import {
  DOM0_MODULES,
  dom0Init,
  GUEST_MODULES,
  guestConfig,
  guestInit,
  XEN_BIN,
} from './scripts.ts';

export class CaptureError extends Error {}

export interface CaptureOptions {
  readonly scenario: Scenario;
  /** Where the trace and logs go (created; must not hold a capture already). */
  readonly outDir: string;
  /** Downloaded and unpacked packages, kept between captures. */
  readonly cacheDir: string;
  readonly guestKernel?: string;
  /** A folder holding xen-blkfront.ko (searched recursively) for --guest-kernel. */
  readonly guestModules?: string;
  readonly backendKernel?: string;
  /** A folder holding dom0's modules (xen-blkback.ko and the others) for --backend-kernel. */
  readonly backendModules?: string;
  /** Seconds for each boot phase before the steps (modules, toolstack). */
  readonly phaseTimeout: number;
  readonly say: (line: string) => void;
}

export interface StepTime {
  readonly index: number;
  readonly what: string;
  readonly ms: number | undefined;
}

export interface CaptureResult {
  readonly trace: string;
  readonly failed: string | undefined;
  readonly steps: readonly StepTime[];
  readonly seconds: number;
}

/** Programs dom0 runs (their libraries follow); the block hotplug script's needs included. */
const DOM0_PROGRAMS = [
  'bin/busybox',
  'bin/bash',
  'usr/bin/flock',
  'usr/bin/stat',
  'usr/bin/xenstore',
  'usr/bin/xenstore-read',
  'usr/bin/xenstore-write',
  'usr/bin/xenstore-rm',
  'usr/bin/xenstore-ls',
  'usr/bin/xenstore-list',
  'usr/bin/xenstore-exists',
  'usr/bin/xenstore-chmod',
  'usr/bin/xenstore-watch',
  `${XEN_BIN.slice(1)}/xl`,
  `${XEN_BIN.slice(1)}/xenstored`,
  `${XEN_BIN.slice(1)}/xenstore-control`,
  `${XEN_BIN.slice(1)}/xen-init-dom0`,
  `${XEN_BIN.slice(1)}/xenconsoled`,
  `${XEN_BIN.slice(1)}/xenconsole`,
  `${XEN_BIN.slice(1)}/libxl-save-helper`,
  'etc/xen',
  'lib/x86_64-linux-gnu/libgcc_s.so.1',
  'lib64/ld-linux-x86-64.so.2',
];

function packagedModules(pkgs: UnpackedPackages): string {
  return join(pkgs.root, 'lib/modules', pkgs.kernelRelease);
}

function packagedKernel(pkgs: UnpackedPackages): string {
  return join(pkgs.root, 'boot', `vmlinuz-${pkgs.kernelRelease}`);
}

/**
 * The driver under test is loaded by insmod with the scenario's parameters: built into the kernel
 * it would probe with its defaults (and xen_blkback's max_ring_page_order is read-only at run time).
 */
function requireLoadable(index: Map<string, string>, module: string, flag: string): void {
  if (index.get(module.replace(/-/g, '_')) === BUILT_IN) {
    throw new BuildError(
      `${module} is built into the ${flag} kernel: capture needs it as a module (${module}.ko), to load it with the scenario's parameters`,
    );
  }
}

function buildGuest(options: CaptureOptions, pkgs: UnpackedPackages): Uint8Array {
  const tree = new ImageTree(pkgs.root);
  tree.addFromRoot('bin/busybox');
  const index = moduleIndex(options.guestModules ?? packagedModules(pkgs));
  requireLoadable(index, 'xen-blkfront', '--guest-kernel');
  addModules(tree, GUEST_MODULES, index);
  tree.addData('init', guestInit(options.scenario));
  return tree.archive();
}

function buildDom0(options: CaptureOptions, pkgs: UnpackedPackages, guest: Uint8Array) {
  const index = moduleIndex(options.backendModules ?? packagedModules(pkgs));
  requireLoadable(index, 'xen-blkback', '--backend-kernel');
  const tree = new ImageTree(pkgs.root);
  for (const path of DOM0_PROGRAMS) tree.addFromRoot(path);
  const modules = addModules(tree, DOM0_MODULES, index);
  tree.addHostFile('boot/guest-vmlinuz', options.guestKernel ?? packagedKernel(pkgs));
  tree.addData('boot/guest-initrd.gz', guest, 0o644);
  tree.addData('etc/blkif/guest.cfg', guestConfig(options.scenario), 0o644);
  tree.addData('init', dom0Init(options.scenario, modules));
  return tree.archive();
}

function checkHost(options: CaptureOptions): string {
  const version = qemuVersion();
  if (version === undefined) {
    throw new CaptureError(`${QEMU} is not installed (apt-get install qemu-system-x86)`);
  }
  for (const tool of ['apt-get', 'dpkg-deb', 'tar']) {
    if (spawnSync(tool, ['--version']).error !== undefined) {
      throw new CaptureError(`${tool} is not available: capture needs a Debian host`);
    }
  }
  for (const [flag, path] of [
    ['--guest-kernel', options.guestKernel],
    ['--guest-modules', options.guestModules],
    ['--backend-kernel', options.backendKernel],
    ['--backend-modules', options.backendModules],
  ] as const) {
    if (path !== undefined && !existsSync(path))
      throw new CaptureError(`${flag} ${path}: no such file`);
  }
  return version;
}

export function prepareImages(options: CaptureOptions, pkgs: UnpackedPackages, work: string) {
  const guest = buildGuest(options, pkgs);
  const dom0Initrd = join(work, 'dom0-initrd.gz');
  writeFileSync(dom0Initrd, buildDom0(options, pkgs, guest));
  const xen = join(work, 'xen-4.17');
  writeFileSync(xen, gunzipSync(readFileSync(join(pkgs.root, 'boot/xen-4.17-amd64.gz'))));
  const resultsDisk = join(work, 'results.img');
  writeFileSync(resultsDisk, new Uint8Array(0));
  // 64 MiB, sparse: room for a trace of several scenarios' worth of requests.
  spawnSync('truncate', ['-s', '64M', resultsDisk]);
  const dom0Kernel = resolve(options.backendKernel ?? packagedKernel(pkgs));
  return { xen, dom0Kernel, dom0Initrd, resultsDisk, guestInitrdBytes: guest.length };
}

interface Follow {
  steps: StepTime[];
  failed: string | undefined;
}

function follower(options: CaptureOptions, follow: Follow): (marker: Marker) => number | undefined {
  const steps = options.scenario.steps;
  return (marker) => {
    switch (marker.kind) {
      case 'phase':
        options.say(
          marker.name === 'steps' ? 'dom0 up: running the steps' : `dom0: ${marker.name}`,
        );
        return options.phaseTimeout;
      case 'step-start':
        options.say(`step ${marker.index + 1}/${steps.length}: ${marker.what}`);
        follow.steps.push({ index: marker.index, what: marker.what, ms: undefined });
        // dom0 enforces the step's limit itself and still sends the results back; the host waits
        // twice as long (a loaded host slows dom0's own clock checks) before it gives up.
        return 2 * (steps[marker.index]?.timeout ?? 120) + 60;
      case 'step-ok': {
        const step = follow.steps.find((s) => s.index === marker.index);
        if (step !== undefined)
          follow.steps[follow.steps.indexOf(step)] = { ...step, ms: marker.ms };
        options.say(`  ok in ${(marker.ms / 1000).toFixed(1)} s`);
        return options.phaseTimeout;
      }
      case 'fail':
        follow.failed ??= marker.message;
        options.say(`  FAILED: ${marker.message}`);
        return options.phaseTimeout;
      default:
        return undefined;
    }
  };
}

function unpackResults(disk: string, outDir: string): void {
  const result = spawnSync('tar', ['-xf', disk, '-C', outDir], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new CaptureError(`the results disk did not unpack: ${result.stderr.trim()}`);
  }
}

export async function capture(options: CaptureOptions): Promise<CaptureResult> {
  const qemu = checkHost(options);
  if (existsSync(join(options.outDir, 'xs-trace.log'))) {
    throw new CaptureError(`${options.outDir} already holds a capture (xs-trace.log)`);
  }
  options.say(`fetching packages (cache ${options.cacheDir})`);
  const pkgs = fetchPackages(options.cacheDir, options.say);
  const work = join(options.cacheDir, 'work');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  options.say('building the guest and dom0 initramfs');
  let images: ReturnType<typeof prepareImages>;
  try {
    images = prepareImages(options, pkgs, work);
  } catch (error) {
    if (error instanceof BuildError) throw new CaptureError(error.message);
    throw error;
  }
  mkdirSync(options.outDir, { recursive: true });
  options.say(`booting Xen 4.17 under ${qemu} (TCG)`);
  const follow: Follow = { steps: [], failed: undefined };
  const outcome = await boot(images, join(options.outDir, 'serial.log'), {
    firstLimit: options.phaseTimeout,
    onMarker: follower(options, follow),
  });
  const failed = outcome.stopped ?? follow.failed;
  if (outcome.finished) unpackResults(images.resultsDisk, options.outDir);
  writeRecord(options, pkgs, images, follow, failed, qemu);
  const trace = join(options.outDir, 'xs-trace.log');
  if (!existsSync(trace)) {
    throw new CaptureError(
      `no trace came back: ${failed ?? 'unknown'} (see ${options.outDir}/serial.log)`,
    );
  }
  return { trace, failed, steps: follow.steps, seconds: outcome.seconds };
}

function writeRecord(
  options: CaptureOptions,
  pkgs: UnpackedPackages,
  images: ReturnType<typeof prepareImages>,
  follow: Follow,
  failed: string | undefined,
  qemu: string,
): void {
  const record = {
    scenario: options.scenario,
    recorded: new Date().toISOString(),
    qemu,
    packages: pkgs.versions,
    guestKernel: options.guestKernel ?? `packaged (${pkgs.kernelRelease})`,
    backendKernel: options.backendKernel ?? `packaged (${pkgs.kernelRelease})`,
    qemuCommand: [QEMU, ...qemuArgs(images)].join(' '),
    xenCommandLine: XEN_CMDLINE,
    dom0CommandLine: DOM0_CMDLINE,
    steps: follow.steps,
    failed: failed ?? null,
  };
  writeFileSync(join(options.outDir, 'capture.json'), `${JSON.stringify(record, null, 2)}\n`);
}
