// The one interface protocol cores see of the network, plus the injected clock and randomness.

/** A message as a subscriber receives it. */
export interface Delivery {
  readonly topic: string;
  readonly data: Uint8Array;
  /**
   * The node the transport received it from, when it can tell: the link-level sender (the simulator's
   * transmitting node; on libp2p the peer of the direct stream, or the gossipsub peer that forwarded the
   * message, both authenticated by the connection's Noise handshake). It names the last hop, not the
   * author: in a mesh that is often a relay (relay messages name no author), and a liar may stand there.
   */
  readonly from?: string;
}

/**
 * Called for every message on a subscribed topic. A throw or rejection is caught and counted, never
 * propagated. The simulator awaits a returned promise before it runs the next event, so asynchronous
 * processing stays deterministic.
 */
export type Handler = (delivery: Delivery) => void | Promise<void>;

/**
 * Topic-based publish/subscribe between nodes. A node does not receive its own publications.
 * Implementations: the seeded simulator (`sim/`) and js-libp2p gossipsub (`libp2p.ts`).
 */
export interface Transport {
  /** This node's id on the network (a libp2p peer id, or the simulator's node name). */
  readonly nodeId: string;
  /** Sends `data` to every other subscriber of `topic` that the network reaches. Best effort. */
  publish(topic: string, data: Uint8Array): Promise<void>;
  /**
   * Sends `data` on `topic` to the node `nodeId` only, best effort: its handlers of `topic` get it as
   * they get a publication, and it is not relayed further. A node the transport does not know or cannot
   * open a link to gets it by {@link publish} instead (so does everyone else then). Optional: a caller without it
   * publishes.
   */
  sendDirect?(nodeId: string, topic: string, data: Uint8Array): Promise<void>;
  /** Starts receiving `topic`; returns the function that stops it. */
  subscribe(topic: string, handler: Handler): () => void;
  /** Leaves the network; later calls are no-ops. */
  close(): Promise<void>;
}

/** Opaque handle of a scheduled callback. */
export type TimerId = number;

/** Time source and timers: virtual in the simulator, wall-clock in real runs. Milliseconds. */
export interface Clock {
  now(): number;
  /** Runs `fn` after `ms`; like handlers, a returned promise is awaited by the simulator. */
  setTimeout(fn: () => void | Promise<void>, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/** Randomness source: seeded in the simulator, crypto-random in real runs. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

/** The wall clock, for real runs. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerId,
  clearTimeout: (id) => clearTimeout(id as unknown as NodeJS.Timeout),
};

/** Crypto-random numbers, for real runs. */
export const cryptoRng: Rng = {
  next: () => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32,
  int: (n) => Math.floor(cryptoRng.next() * n),
};

/**
 * Hands `delivery` to every handler. A throw or rejection is reported through `onError` and never stops
 * the other handlers. Returns a promise that settles when every asynchronous handler has, or `undefined`
 * if all of them were synchronous (the simulator awaits it; real transports need not).
 */
export function dispatch(
  handlers: Iterable<Handler>,
  delivery: Delivery,
  onError: () => void,
): Promise<void> | undefined {
  const pending: Promise<void>[] = [];
  for (const h of handlers) {
    try {
      const r = h(delivery);
      if (r !== undefined) pending.push(r.catch(onError));
    } catch {
      onError();
    }
  }
  return pending.length ? Promise.all(pending).then(() => undefined) : undefined;
}
