// The simulator's trace digest: a 64-bit hash of everything that happened (deliveries, drops,
// partitions, crashes) in order, with the virtual time of each; equal digests mean a run replayed exactly.

export class TraceHash {
  #h1 = 0x811c9dc5;
  #h2 = 0x01000193;

  /** Mixes one event: four integers that name it, and the virtual time `now` (ms). */
  mix(a: number, b: number, c: number, d: number, now: number): void {
    for (const x of [a, b, c, d, Math.floor(now * 1000)]) {
      this.#h1 = Math.imul(this.#h1 ^ x, 0x01000193);
      this.#h2 = Math.imul(this.#h2 ^ (x + 0x9e3779b9), 0x85ebca6b) ^ (this.#h2 >>> 13);
    }
  }

  hex(): string {
    return (this.#h1 >>> 0).toString(16).padStart(8, "0") + (this.#h2 >>> 0).toString(16).padStart(8, "0");
  }
}
