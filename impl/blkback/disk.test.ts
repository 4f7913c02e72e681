import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Disk } from './disk.ts';

type Op = { kind: 'write' | 'discard' | 'read'; sector: number; count: number; fill: number };
const op = fc.record({
  kind: fc.constantFrom('write' as const, 'discard' as const, 'read' as const),
  sector: fc.nat(60),
  count: fc.integer({ min: 1, max: 20 }),
  fill: fc.integer({ min: 1, max: 255 }),
});

/** The sparse disk must behave like one flat byte array. */
function agreesWithFlat(make: (sectors: number) => Pick<Disk, 'write' | 'read' | 'discard'>) {
  return fc.property(fc.array(op, { maxLength: 40 }), (ops: Op[]) => {
    const disk = make(80);
    const flat = new Uint8Array(80 * 512);
    for (const o of ops) {
      const bytes = o.count * 512;
      if (o.kind === 'write') {
        const data = new Uint8Array(bytes).map((_, i) => (o.fill + i) & 0xff);
        disk.write(o.sector, data);
        flat.set(data, o.sector * 512);
      } else if (o.kind === 'discard') {
        disk.discard(o.sector, o.count);
        flat.fill(0, o.sector * 512, o.sector * 512 + bytes);
      } else {
        const into = new Uint8Array(bytes).fill(0xee);
        disk.read(o.sector, into);
        if (!into.every((b, i) => b === flat[o.sector * 512 + i])) return false;
      }
    }
    return true;
  });
}

describe('Disk', () => {
  it('reads back across chunk boundaries and reads zeros where never written', () => {
    const disk = new Disk(64, false);
    disk.write(6, new Uint8Array(1024 * 3).fill(7)); // sectors 6..11 span two chunks
    expect(disk.snapshot(5, 1).every((b) => b === 0)).toBe(true);
    expect(disk.snapshot(6, 6).every((b) => b === 7)).toBe(true);
    disk.discard(8, 2);
    expect(disk.snapshot(8, 2).every((b) => b === 0)).toBe(true);
    expect(disk.snapshot(10, 2).every((b) => b === 7)).toBe(true);
    expect(disk.inRange(60, 4)).toBe(true);
    expect(disk.inRange(60, 5)).toBe(false);
    expect(disk.inRange(-1, 1)).toBe(false);
  });

  it('behaves like a flat array (property)', () => {
    fc.assert(
      agreesWithFlat((n) => new Disk(n, false)),
      { numRuns: 200 },
    );
  });

  it('the property catches a discard that drops partially covered chunks (teeth)', () => {
    class DropsPartialChunks extends Disk {
      override discard(sector: number, count: number): void {
        super.discard(sector - (sector % 8), Math.ceil(((sector % 8) + count) / 8) * 8);
      }
    }
    expect(
      fc.check(
        agreesWithFlat((n) => new DropsPartialChunks(n, false)),
        { numRuns: 200 },
      ).failed,
    ).toBe(true);
  });
});
