import type { Rng } from "../transport.ts";

/**
 * Seeded PRNG (xoshiro128**, seeded through splitmix32): fast, 2^128 period, same sequence on every
 * platform for the same seed. Not for cryptography.
 */
export class SeededRng implements Rng {
  #s: Uint32Array;

  constructor(seed: number) {
    let x = seed >>> 0;
    const split = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#s = new Uint32Array([split(), split(), split(), split()]);
  }

  /** Next raw 32-bit value. */
  u32(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return r;
  }

  next(): number {
    return this.u32() / 2 ** 32;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An independent generator derived from this one (e.g. one per node). */
  fork(): SeededRng {
    return new SeededRng(this.u32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
