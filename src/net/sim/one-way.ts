// One-way link cuts: A's transmissions to B are dropped while B's to A go through, what a NAT, a firewall
// rule or a broken route does (a partition cuts both directions). Cuts overlap: a link is open again
// once every cut that closed it was lifted.

/** Directed cuts between node indices. */
export class OneWayCuts {
  /** (from, to) → how many cuts close it. */
  readonly #cuts = new Map<number, number>();

  /** Number of directed links closed now. */
  get size(): number {
    return this.#cuts.size;
  }

  /** Closes the link from `from` to `to` (once more). */
  cut(from: number, to: number): void {
    const k = key(from, to);
    this.#cuts.set(k, (this.#cuts.get(k) ?? 0) + 1);
  }

  /** Lifts one cut of the link from `from` to `to`; the link opens when no cut is left. */
  restore(from: number, to: number): void {
    const k = key(from, to);
    const n = this.#cuts.get(k) ?? 0;
    if (n <= 1) this.#cuts.delete(k);
    else this.#cuts.set(k, n - 1);
  }

  /** Whether transmissions from `from` to `to` are dropped. */
  blocks(from: number, to: number): boolean {
    return this.#cuts.size > 0 && this.#cuts.has(key(from, to));
  }
}

/** Node indices are creation counts, far below 2^26. */
const key = (from: number, to: number) => from * 2 ** 26 + to;
