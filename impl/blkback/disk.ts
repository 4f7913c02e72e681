// The backing disk: an in-memory array of 512-byte sectors, as the vbd blkback opened. Flushes
// have nothing to write back; discard leaves the range's content unspecified (zeroed here).
export class Disk {
  readonly bytes: Uint8Array;
  readonly sectorCount: number;
  readonly readOnly: boolean;

  constructor(sectorCount: number, readOnly: boolean) {
    this.sectorCount = sectorCount;
    this.readOnly = readOnly;
    this.bytes = new Uint8Array(sectorCount * 512);
  }

  /** True when [sector, sector + count) lies on the disk (vbd_translate's range check). */
  inRange(sector: number, count: number): boolean {
    return Number.isInteger(sector) && sector >= 0 && count >= 0 && sector + count <= this.sectorCount;
  }

  write(sector: number, from: Uint8Array): void {
    this.bytes.set(from, sector * 512);
  }

  read(sector: number, into: Uint8Array): void {
    into.set(this.bytes.subarray(sector * 512, sector * 512 + into.length));
  }

  discard(sector: number, count: number): void {
    this.bytes.fill(0, sector * 512, (sector + count) * 512);
  }
}
