// Just enough of ELF64 (little-endian, x86_64) to build an initramfs from Debian packages without
// the host's tools: the shared libraries a program needs (DT_NEEDED) and a kernel module's
// dependencies (the `depends=` entry of its .modinfo section).

const PT_DYNAMIC = 2;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const PT_LOAD = 1;

function isElf64(bytes: Uint8Array): boolean {
  return (
    bytes.length > 64 &&
    bytes[0] === 0x7f &&
    bytes[1] === 0x45 &&
    bytes[2] === 0x4c &&
    bytes[3] === 0x46 &&
    bytes[4] === 2 &&
    bytes[5] === 1
  );
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function cString(bytes: Uint8Array, at: number): string {
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(at, end));
}

interface Segment {
  readonly type: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
}

function segments(bytes: Uint8Array): Segment[] {
  const dv = view(bytes);
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  const out: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    out.push({
      type: dv.getUint32(at, true),
      offset: Number(dv.getBigUint64(at + 8, true)),
      vaddr: Number(dv.getBigUint64(at + 16, true)),
      filesz: Number(dv.getBigUint64(at + 32, true)),
    });
  }
  return out;
}

/** The file offset of a virtual address, through the PT_LOAD segment that maps it. */
function fileOffset(all: readonly Segment[], vaddr: number): number | undefined {
  for (const s of all) {
    if (s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) {
      return vaddr - s.vaddr + s.offset;
    }
  }
  return undefined;
}

/** The DT_NEEDED names of a dynamically linked ELF64; [] for a static one or a non-ELF file. */
export function elfNeeded(bytes: Uint8Array): string[] {
  if (!isElf64(bytes)) return [];
  const dv = view(bytes);
  const all = segments(bytes);
  const dynamic = all.find((s) => s.type === PT_DYNAMIC);
  if (dynamic === undefined) return [];
  const needed: number[] = [];
  let strtab: number | undefined;
  for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.filesz; at += 16) {
    const tag = Number(dv.getBigInt64(at, true));
    const value = Number(dv.getBigUint64(at + 8, true));
    if (tag === 0) break;
    if (tag === DT_NEEDED) needed.push(value);
    if (tag === DT_STRTAB) strtab = fileOffset(all, value);
  }
  if (strtab === undefined) return [];
  const base = strtab;
  return needed.map((offset) => cString(bytes, base + offset));
}

/** The bytes of a named section (a kernel module keeps its metadata in `.modinfo`). */
function section(bytes: Uint8Array, name: string): Uint8Array | undefined {
  const dv = view(bytes);
  const shoff = Number(dv.getBigUint64(40, true));
  const shentsize = dv.getUint16(58, true);
  const shnum = dv.getUint16(60, true);
  const shstrndx = dv.getUint16(62, true);
  const header = (i: number) => shoff + i * shentsize;
  const names = Number(dv.getBigUint64(header(shstrndx) + 24, true));
  for (let i = 0; i < shnum; i++) {
    const at = header(i);
    if (cString(bytes, names + dv.getUint32(at, true)) !== name) continue;
    const offset = Number(dv.getBigUint64(at + 24, true));
    const size = Number(dv.getBigUint64(at + 32, true));
    return bytes.subarray(offset, offset + size);
  }
  return undefined;
}

/** A kernel module's `depends=` list (module names, '-' and '_' as modinfo writes them). */
export function moduleDepends(bytes: Uint8Array): string[] {
  if (!isElf64(bytes)) return [];
  const info = section(bytes, '.modinfo');
  if (info === undefined) return [];
  for (const entry of new TextDecoder().decode(info).split('\0')) {
    if (entry.startsWith('depends=')) {
      return entry
        .slice('depends='.length)
        .split(',')
        .filter((name) => name !== '');
    }
  }
  return [];
}
