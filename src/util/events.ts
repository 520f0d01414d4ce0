// A small typed event emitter for the application-facing API.

/** Handlers by event name; `on` returns the function that removes the handler. */
export class Emitter<E extends object> {
  readonly #handlers = new Map<keyof E, Set<(e: never) => void>>();

  /** Calls `fn` with every `event` from now on; returns the function that stops it. */
  on<K extends keyof E>(event: K, fn: (e: E[K]) => void): () => void {
    const set = this.#handlers.get(event) ?? new Set();
    this.#handlers.set(event, set);
    set.add(fn as (e: never) => void);
    return () => set.delete(fn as (e: never) => void);
  }

  /** Calls `fn` with the next `event` only; returns the function that cancels it. */
  once<K extends keyof E>(event: K, fn: (e: E[K]) => void): () => void {
    const off = this.on(event, (e) => {
      off();
      fn(e);
    });
    return off;
  }

  /** Stops calling `fn` for `event`. */
  off<K extends keyof E>(event: K, fn: (e: E[K]) => void): void {
    this.#handlers.get(event)?.delete(fn as (e: never) => void);
  }

  /** Whether anyone listens to `event` (so that building its payload can be skipped). */
  has(event: keyof E): boolean {
    return (this.#handlers.get(event)?.size ?? 0) > 0;
  }

  /**
   * Calls every handler of `event`. A handler that throws does not stop the others, nor the protocol
   * step that emitted the event: its error is rethrown on its own, as an uncaught exception.
   */
  emit<K extends keyof E>(event: K, e: E[K]): void {
    for (const fn of this.#handlers.get(event) ?? []) {
      try {
        (fn as (e: E[K]) => void)(e);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
