// Builds dom0's and the guest's initramfs from unpacked Debian packages: the named programs,
// every shared library they need (followed through DT_NEEDED and symlinks), the kernel modules
// with their dependencies in load order, and the generated /init. No host tool is used: the
// archive is written by cpio.ts and compressed with node's zlib.

import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type CpioEntry, cpioArchive } from './cpio.ts';
import { elfNeeded, moduleDepends } from './elf.ts';

export class BuildError extends Error {}

/** Where Debian's multiarch loader finds libraries. */
const LIBRARY_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64', 'lib'];

/** A file set being assembled: image path -> entry, parents implied. */
export class ImageTree {
  private readonly entries = new Map<string, CpioEntry>();

  constructor(private readonly root: string) {}

  has(path: string): boolean {
    return this.entries.has(path);
  }

  addData(path: string, data: Uint8Array | string, mode = 0o755): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.entries.set(path, { kind: 'file', path, data: bytes, mode });
  }

  addSymlink(path: string, target: string): void {
    this.entries.set(path, { kind: 'symlink', path, target });
  }

  /** Copies `path` of the unpacked tree, following a symlink to its target (also copied). */
  addFromRoot(path: string, depth = 0): void {
    if (this.entries.has(path)) return;
    if (depth > 16) throw new BuildError(`${path}: symlink loop`);
    const source = join(this.root, path);
    if (!existsSync(source) && !isLink(source)) {
      throw new BuildError(`${path} is not in the unpacked packages (${this.root})`);
    }
    const stat = lstatSync(source);
    if (stat.isSymbolicLink()) {
      const target = readlinkSync(source);
      this.addSymlink(path, target);
      const resolved = target.startsWith('/')
        ? target.slice(1)
        : posix.normalize(posix.join(posix.dirname(path), target));
      this.addFromRoot(resolved, depth + 1);
    } else if (stat.isDirectory()) {
      for (const name of readdirSync(source)) this.addFromRoot(posix.join(path, name), depth);
    } else {
      this.addData(path, readFileSync(source), stat.mode & 0o777);
      this.addLibrariesOf(path);
    }
  }

  /** Every DT_NEEDED library of an ELF file in the tree, recursively. */
  private addLibrariesOf(path: string): void {
    const entry = this.entries.get(path);
    if (entry?.kind !== 'file') return;
    for (const name of elfNeeded(entry.data)) {
      const found = LIBRARY_DIRS.map((dir) => posix.join(dir, name)).find(
        (candidate) => this.entries.has(candidate) || existsOrLink(join(this.root, candidate)),
      );
      if (found === undefined) throw new BuildError(`${path} needs ${name}, which no package gave`);
      this.addFromRoot(found);
    }
  }

  /** Adds a file from outside the tree (a user's kernel or module). */
  addHostFile(path: string, source: string, mode = 0o644): void {
    if (!existsSync(source)) throw new BuildError(`${source}: no such file`);
    this.addData(path, readFileSync(source), mode);
  }

  /** The gzip-compressed newc archive, directories first. */
  archive(): Uint8Array {
    const dirs = new Set<string>();
    for (const path of this.entries.keys()) {
      for (let dir = posix.dirname(path); dir !== '.' && dir !== '/'; dir = posix.dirname(dir)) {
        dirs.add(dir);
      }
    }
    const ordered: CpioEntry[] = [...dirs]
      .filter((dir) => !this.entries.has(dir))
      .sort()
      .map((path) => ({ kind: 'dir', path }));
    const files = [...this.entries.values()].sort((a, b) => a.path.localeCompare(b.path));
    return gzipSync(cpioArchive([...ordered, ...files]), { level: 6 });
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function existsOrLink(path: string): boolean {
  return existsSync(path) || isLink(path);
}

function normal(name: string): string {
  return name.replace(/-/g, '_');
}

/** The index's mark for a module built into the kernel (named by modules.builtin): nothing to load. */
export const BUILT_IN = '';

/**
 * Every `<name>.ko` under a directory, by module name ('-' and '_' alike), and every module a
 * `modules.builtin` there names (`make modules_install` writes it): a kernel of one's own may
 * build xen-blkback or loop in.
 */
export function moduleIndex(dir: string): Map<string, string> {
  const index = new Map<string, string>();
  const builtIn: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ko')) index.set(normal(entry.name.slice(0, -3)), path);
      else if (entry.name === 'modules.builtin') builtIn.push(path);
    }
  };
  if (!existsSync(dir)) throw new BuildError(`${dir}: no such module directory`);
  walk(dir);
  for (const list of builtIn) {
    for (const line of readFileSync(list, 'utf8').split('\n')) {
      const name = /([^/]+)\.ko$/.exec(line.trim())?.[1];
      if (name !== undefined && !index.has(normal(name))) index.set(normal(name), BUILT_IN);
    }
  }
  return index;
}

/** The modules and their dependencies, each after what it depends on. */
export function moduleLoadOrder(wanted: readonly string[], index: Map<string, string>): string[] {
  const order: string[] = [];
  const visit = (name: string, chain: readonly string[]) => {
    const key = normal(name);
    if (order.includes(key)) return;
    if (chain.includes(key)) throw new BuildError(`module dependency loop: ${chain.join(' -> ')}`);
    const path = index.get(key);
    if (path === BUILT_IN) return;
    if (path === undefined) {
      const file = [...index.values()].find((p) => p !== BUILT_IN);
      const dir = file === undefined ? '' : dirname(file);
      throw new BuildError(
        `kernel module ${name}.ko not found${dir ? ` (looked under ${dir})` : ''}`,
      );
    }
    for (const dep of moduleDepends(readFileSync(path))) visit(dep, [...chain, key]);
    order.push(key);
  };
  for (const name of wanted) visit(name, []);
  return order;
}

/** Adds modules as /lib/modules/<name>.ko; returns the names in load order. */
export function addModules(
  tree: ImageTree,
  wanted: readonly string[],
  index: Map<string, string>,
): string[] {
  const order = moduleLoadOrder(wanted, index);
  for (const name of order) tree.addHostFile(`lib/modules/${name}.ko`, index.get(name)!);
  return order;
}
