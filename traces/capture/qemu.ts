// Boots Xen under QEMU's software emulation (TCG) with its multiboot loader — dom0's kernel and
// command line as the first module, dom0's initramfs as the second, no GRUB — and follows the
// serial console: `@@blkif` markers from dom0's /init tell the phases and steps apart, each with
// its own time limit. The results come back as a tar written raw onto a virtio disk.

import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { MARK } from './scripts.ts';

export const QEMU = 'qemu-system-x86_64';

/** Xen's command line. Without smap=0 smep=0, TCG's `-cpu max` offers SMAP/SMEP and dom0 dies at
 *  its first bounce frame. */
export const XEN_CMDLINE =
  'console=com1 com1=115200,8n1 dom0_mem=1280M,max:1280M dom0_max_vcpus=2 loglvl=all ' +
  'guest_loglvl=all noreboot smap=0 smep=0';

export const DOM0_CMDLINE = 'console=hvc0 earlyprintk=xen';

export interface BootImages {
  readonly xen: string;
  readonly dom0Kernel: string;
  readonly dom0Initrd: string;
  readonly resultsDisk: string;
}

export function qemuArgs(images: BootImages): string[] {
  for (const path of [images.dom0Kernel, images.dom0Initrd]) {
    // The multiboot module list is comma-separated: a comma in a path would split it.
    if (path.includes(',')) throw new Error(`${path}: a path with a comma cannot be a module`);
  }
  return [
    '-accel',
    'tcg',
    '-machine',
    'pc',
    '-cpu',
    'max',
    '-smp',
    '2',
    '-m',
    '3072',
    '-display',
    'none',
    '-monitor',
    'none',
    '-serial',
    'stdio',
    '-no-reboot',
    '-kernel',
    images.xen,
    '-append',
    XEN_CMDLINE,
    '-initrd',
    `${images.dom0Kernel} ${DOM0_CMDLINE},${images.dom0Initrd}`,
    '-drive',
    `file=${images.resultsDisk},format=raw,if=virtio`,
  ];
}

/** Whether QEMU is installed, and its version line. */
export function qemuVersion(): string | undefined {
  const result = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return result.stdout.split('\n')[0]?.trim();
}

/** What dom0's /init says, one marker at a time. */
export type Marker =
  | { readonly kind: 'phase'; readonly name: string }
  | { readonly kind: 'step-start'; readonly index: number; readonly what: string }
  | { readonly kind: 'step-ok'; readonly index: number; readonly ms: number }
  | { readonly kind: 'fail'; readonly message: string }
  | { readonly kind: 'done'; readonly failed: boolean };

export function parseMarker(line: string): Marker | undefined {
  const at = line.indexOf(`${MARK} `);
  if (at < 0) return undefined;
  const words = line.slice(at + MARK.length + 1).trim();
  let m = /^phase (\S+)$/.exec(words);
  if (m !== null) return { kind: 'phase', name: m[1]! };
  m = /^step (\d+) start (.*)$/.exec(words);
  if (m !== null) return { kind: 'step-start', index: Number(m[1]), what: m[2]! };
  m = /^step (\d+) ok (-?\d+)$/.exec(words);
  if (m !== null) return { kind: 'step-ok', index: Number(m[1]), ms: Number(m[2]) };
  m = /^fail (.*)$/.exec(words);
  if (m !== null) return { kind: 'fail', message: m[1]! };
  m = /^done (\d)$/.exec(words);
  if (m !== null) return { kind: 'done', failed: m[1] !== '0' };
  return undefined;
}

export interface BootWatch {
  /** Called with each marker; returns the seconds the next stretch may take. */
  readonly onMarker: (marker: Marker) => number | undefined;
  /** Seconds from QEMU's start to the first marker. */
  readonly firstLimit: number;
}

export interface BootOutcome {
  readonly finished: boolean;
  /** Why QEMU was stopped early: a time limit, or QEMU's own exit. */
  readonly stopped: string | undefined;
  readonly seconds: number;
}

/** Runs QEMU until dom0 says done (then stops it) or a limit passes; the console goes to `log`. */
export function boot(images: BootImages, log: string, watch: BootWatch): Promise<BootOutcome> {
  const started = Date.now();
  const out = createWriteStream(log);
  const child = spawn(QEMU, qemuArgs(images), { stdio: ['ignore', 'pipe', 'pipe'] });
  let limit = watch.firstLimit;
  let deadline = started + limit * 1000;
  let pending = '';
  return new Promise((resolve) => {
    let settled: BootOutcome | undefined;
    const finish = (finished: boolean, stopped: string | undefined) => {
      if (settled !== undefined) return;
      settled = { finished, stopped, seconds: (Date.now() - started) / 1000 };
      clearInterval(timer);
      child.kill('SIGKILL');
    };
    const timer = setInterval(() => {
      if (Date.now() > deadline) finish(false, `no progress within ${limit} s`);
    }, 250);
    const onLine = (line: string) => {
      const marker = parseMarker(line.replace(/\r/g, ''));
      if (marker === undefined) return;
      if (marker.kind === 'done') return finish(true, undefined);
      const next = watch.onMarker(marker);
      if (next !== undefined) {
        limit = next;
        deadline = Date.now() + next * 1000;
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      out.write(chunk);
      pending += chunk.toString('latin1');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    child.stderr.on('data', (chunk: Buffer) => out.write(chunk));
    child.on('error', (error) => finish(false, `${QEMU} could not start: ${error.message}`));
    child.on('exit', (code, signal) => {
      finish(false, `${QEMU} exited (${signal ?? `status ${code}`}) before dom0 was done`);
      out.end(() => resolve(settled!));
    });
  });
}
