import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpioArchive } from './cpio.ts';
import { elfNeeded, moduleDepends } from './elf.ts';

/** Reads a newc archive back: what the kernel's initramfs unpacker sees. */
function readNewc(bytes: Uint8Array) {
  const text = new TextDecoder('latin1');
  const out: { name: string; mode: number; data: string }[] = [];
  let at = 0;
  for (;;) {
    const head = text.decode(bytes.subarray(at, at + 110));
    expect(head.slice(0, 6)).toBe('070701');
    const field = (i: number) => Number.parseInt(head.slice(6 + i * 8, 14 + i * 8), 16);
    const [mode, size, nameSize] = [field(1), field(6), field(11)];
    const name = text.decode(bytes.subarray(at + 110, at + 110 + nameSize - 1));
    at += 110 + nameSize;
    at += (4 - (at % 4)) % 4;
    if (name === 'TRAILER!!!') return out;
    out.push({ name, mode, data: text.decode(bytes.subarray(at, at + size)) });
    at += size;
    at += (4 - (at % 4)) % 4;
  }
}

describe('initramfs archive (newc cpio)', () => {
  it('reads back as written: directories, files with their modes, symlinks, padding', () => {
    const archive = cpioArchive([
      { kind: 'dir', path: 'bin' },
      { kind: 'file', path: 'bin/busybox', data: new TextEncoder().encode('#!abc'), mode: 0o755 },
      { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
      { kind: 'file', path: '/init', data: new TextEncoder().encode('x'), mode: 0o700 },
    ]);
    expect(archive.length % 4).toBe(0);
    expect(readNewc(archive)).toEqual([
      { name: 'bin', mode: 0o040755, data: '' },
      { name: 'bin/busybox', mode: 0o100755, data: '#!abc' },
      { name: 'bin/sh', mode: 0o120777, data: 'busybox' },
      { name: 'init', mode: 0o100700, data: 'x' },
    ]);
  });
});

/** A minimal ELF64 object with a .modinfo section, as a kernel module carries one. */
function moduleElf(modinfo: string): Uint8Array {
  const info = new TextEncoder().encode(modinfo);
  const names = new TextEncoder().encode('\0.modinfo\0.shstrtab\0');
  const infoAt = 64;
  const namesAt = infoAt + info.length;
  const shoff = Math.ceil((namesAt + names.length) / 8) * 8;
  const bytes = new Uint8Array(shoff + 3 * 64);
  const dv = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  dv.setBigUint64(40, BigInt(shoff), true);
  dv.setUint16(58, 64, true);
  dv.setUint16(60, 3, true);
  dv.setUint16(62, 2, true);
  bytes.set(info, infoAt);
  bytes.set(names, namesAt);
  const section = (index: number, name: number, offset: number, size: number) => {
    const at = shoff + index * 64;
    dv.setUint32(at, name, true);
    dv.setBigUint64(at + 24, BigInt(offset), true);
    dv.setBigUint64(at + 32, BigInt(size), true);
  };
  section(1, 1, infoAt, info.length);
  section(2, 10, namesAt, names.length);
  return bytes;
}

describe('ELF: libraries and module dependencies, without host tools', () => {
  it("a module's depends= list, empty when it has none", () => {
    const elf = moduleElf('license=GPL\0depends=virtio,virtio_ring\0name=virtio_blk\0');
    expect(moduleDepends(elf)).toEqual(['virtio', 'virtio_ring']);
    expect(moduleDepends(moduleElf('depends=\0name=loop\0'))).toEqual([]);
    expect(
      moduleDepends(new TextEncoder().encode('not an ELF file at all, just some text......')),
    ).toEqual([]);
  });

  it("node's own binary needs the C library (DT_NEEDED read through PT_DYNAMIC)", () => {
    const needed = elfNeeded(readFileSync(process.execPath));
    expect(needed).toContain('libc.so.6');
    expect(elfNeeded(moduleElf('depends=\0'))).toEqual([]);
  });
});
