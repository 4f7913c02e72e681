// The Debian 12 packages a capture boots, fetched with `apt-get download` into a cache and
// unpacked with `dpkg-deb -x` (never installed): Xen 4.17's hypervisor and toolstack, the
// libraries they link, Linux 6.1 (dom0 and guest kernel and modules), busybox, and the few real
// programs the block hotplug script needs (bash, util-linux flock, coreutils stat).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class PackageError extends Error {}

/** Everything but the kernel, whose package name follows linux-image-amd64. */
export const PACKAGES: readonly string[] = [
  'xen-hypervisor-4.17-amd64',
  'xen-utils-4.17',
  'xen-utils-common',
  'xenstore-utils',
  'libxencall1',
  'libxenevtchn1',
  'libxenforeignmemory1',
  'libxengnttab1',
  'libxenmisc4.17',
  'libxenstore4',
  'libxentoollog1',
  'libxentoolcore1',
  'libxendevicemodel1',
  'libxenhypfs1',
  'libyajl2',
  'libext2fs2',
  'libcom-err2',
  'liblzma5',
  'libuuid1',
  'libzstd1',
  'zlib1g',
  'libncurses6',
  'libtinfo6',
  'libc6',
  'libgcc-s1',
  'busybox-static',
  'bash',
  'util-linux',
  'coreutils',
  'libselinux1',
  'libacl1',
  'libattr1',
  'libgmp10',
  'libpcre2-8-0',
  'libcap2',
  'libblkid1',
  'libmount1',
  'libsmartcols1',
  'libudev1',
  'libsystemd0',
  'libcap-ng0',
  'libcrypt1',
];

export interface UnpackedPackages {
  /** The unpacked tree: usr/, lib/, boot/, etc/ as the packages lay them out. */
  readonly root: string;
  /** package -> version, as downloaded. */
  readonly versions: Readonly<Record<string, string>>;
  /** The kernel release of the packaged kernel, e.g. 6.1.0-57-amd64. */
  readonly kernelRelease: string;
}

function run(command: string, args: readonly string[], cwd?: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.error !== undefined) {
    throw new PackageError(`${command} could not run: ${result.error.message}`);
  }
  if (result.status !== 0) {
    const last = (result.stderr || result.stdout).trim().split('\n').slice(-1)[0] ?? '';
    throw new PackageError(`${command} ${args.slice(0, 3).join(' ')} failed: ${last}`);
  }
  return result.stdout;
}

/** linux-image-amd64's current kernel package, e.g. linux-image-6.1.0-57-amd64. */
export function kernelPackage(): string {
  const out = run('apt-cache', ['depends', 'linux-image-amd64']);
  const match = /Depends: (linux-image-[0-9][^\s]*-amd64)/.exec(out);
  if (match === null) {
    throw new PackageError('apt-cache knows no linux-image-amd64 (run apt-get update first)');
  }
  return match[1]!;
}

/** `name_version_arch.deb` -> [name, version], the epoch's `%3a` decoded. */
function debName(file: string): [string, string] | undefined {
  const match = /^([^_]+)_([^_]+)_[^_]+\.deb$/.exec(file);
  return match === null ? undefined : [match[1]!, decodeURIComponent(match[2]!)];
}

function cached(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  if (!existsSync(dir)) return found;
  for (const file of readdirSync(dir)) {
    const parsed = debName(file);
    if (parsed !== undefined) found.set(parsed[0], file);
  }
  return found;
}

/** Downloads what the cache lacks, unpacks everything once into <cache>/root. */
export function fetchPackages(cacheDir: string, say: (line: string) => void): UnpackedPackages {
  const debs = join(cacheDir, 'debs');
  const root = join(cacheDir, 'root');
  mkdirSync(debs, { recursive: true });
  const wanted = [...PACKAGES, kernelPackage()];
  const missing = wanted.filter((name) => !cached(debs).has(name));
  if (missing.length > 0) {
    say(`downloading ${missing.length} Debian packages into ${debs}`);
    // As root, apt's sandbox user cannot write here; the download is the same.
    run('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', ...missing], debs);
  }
  const files = cached(debs);
  const versions: Record<string, string> = {};
  const marker = join(root, '.unpacked');
  const fresh = !existsSync(marker) || missing.length > 0;
  if (fresh) say(`unpacking ${wanted.length} packages into ${root}`);
  mkdirSync(root, { recursive: true });
  for (const name of wanted) {
    const file = files.get(name);
    if (file === undefined) throw new PackageError(`apt-get download gave no ${name}`);
    versions[name] = debName(file)![1];
    if (fresh) run('dpkg-deb', ['-x', join(debs, file), root]);
  }
  writeFileSync(marker, `${JSON.stringify(versions, null, 2)}\n`);
  const kernelRelease = wanted[wanted.length - 1]!.replace(/^linux-image-/, '');
  return { root, versions, kernelRelease };
}
