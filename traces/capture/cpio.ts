// The initramfs format: a "newc" cpio archive (the kernel's usr/gen_init_cpio writes the same),
// gzip-compressed by the caller. Written here so that building an image needs no host tool.

export type CpioEntry =
  | { readonly kind: 'dir'; readonly path: string }
  | {
      readonly kind: 'file';
      readonly path: string;
      readonly data: Uint8Array;
      readonly mode: number;
    }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}

function pad4(length: number): number {
  return (4 - (length % 4)) % 4;
}

function header(ino: number, mode: number, size: number, nameSize: number): string {
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
  // rdevminor, namesize, check. mtime 0 keeps the image byte-for-byte reproducible.
  const fields = [ino, mode, 0, 0, mode & S_IFDIR ? 2 : 1, 0, size, 0, 0, 0, 0, nameSize, 0];
  return `070701${fields.map(hex8).join('')}`;
}

/** Entries in the order given (parents before children); paths without a leading '/'. */
export function cpioArchive(entries: readonly CpioEntry[]): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const push = (ino: number, mode: number, name: string, data: Uint8Array) => {
    const nameBytes = encoder.encode(`${name}\0`);
    const head = encoder.encode(header(ino, mode, data.length, nameBytes.length));
    parts.push(head, nameBytes, new Uint8Array(pad4(head.length + nameBytes.length)));
    parts.push(data, new Uint8Array(pad4(data.length)));
  };
  entries.forEach((entry, index) => {
    const name = entry.path.replace(/^\/+/, '');
    if (entry.kind === 'dir') push(index + 1, S_IFDIR | 0o755, name, new Uint8Array(0));
    else if (entry.kind === 'file')
      push(index + 1, S_IFREG | (entry.mode & 0o7777), name, entry.data);
    else push(index + 1, S_IFLNK | 0o777, name, encoder.encode(entry.target));
  });
  push(0, 0, 'TRAILER!!!', new Uint8Array(0));
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
