// The message ids a simulated node has received, for gossip-mode de-duplication. Like gossipsub's seen
// cache it forgets after a time-to-live: a set that kept every id grew by every message of a run (at 1000
// members, gigabytes, and much of the garbage collector's time).

/** Remembers ids for at least `ttlMs` and at most twice that (two generations, the older one dropped). */
export class SeenCache {
  readonly ttlMs: number;
  #current = new Set<number>();
  #previous = new Set<number>();
  #rotatedAt = 0;

  constructor(ttlMs: number) {
    this.ttlMs = ttlMs;
  }

  has(id: number): boolean {
    return this.#current.has(id) || this.#previous.has(id);
  }

  add(id: number, now: number): void {
    if (now - this.#rotatedAt >= this.ttlMs) {
      // An id added at t stays until the rotation after the next one, which comes at t + ttl or later.
      this.#previous = this.#current;
      this.#current = new Set();
      this.#rotatedAt = now;
    }
    this.#current.add(id);
  }

  /** Ids held (for tests and memory figures). */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }
}
