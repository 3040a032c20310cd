/** Most-significant-bit-first bit packing for the compressed model file. */
import { DataError } from '../core/errors.js';

export class BitWriter {
  private bytes = new Uint8Array(1024);
  private bitLength = 0;

  /** Appends the low `count` bits of `value` (count up to 32). */
  write(value: number, count: number): void {
    for (let b = count - 1; b >= 0; b--) {
      const byte = this.bitLength >>> 3;
      if (byte >= this.bytes.length) {
        const grown = new Uint8Array(this.bytes.length * 2);
        grown.set(this.bytes);
        this.bytes = grown;
      }
      if ((value >>> b) & 1) this.bytes[byte] |= 0x80 >>> (this.bitLength & 7);
      this.bitLength++;
    }
  }

  get length(): number {
    return this.bitLength;
  }

  /** The bits, padded with zeros to a whole byte. */
  finish(): Uint8Array {
    return this.bytes.slice(0, Math.ceil(this.bitLength / 8));
  }
}

export class BitReader {
  private position = 0;
  private readonly bytes: Uint8Array;
  private readonly what: string;

  constructor(bytes: Uint8Array, what = 'bit stream') {
    this.bytes = bytes;
    this.what = what;
  }

  readBit(): number {
    const byte = this.position >>> 3;
    if (byte >= this.bytes.length) throw new DataError(`${this.what} ends early (truncated file)`);
    const bit = (this.bytes[byte] >>> (7 - (this.position & 7))) & 1;
    this.position++;
    return bit;
  }

  read(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 2 + this.readBit();
    return value;
  }
}
