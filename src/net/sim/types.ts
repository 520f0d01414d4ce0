// The simulator's types: link and delivery models, options, counters, a node's handles, and the records
// it keeps per node and per message.
import type { Clock, Handler, Rng, TimerId, Transport } from "../transport.ts";
import type { SeededRng } from "./prng.ts";
import type { SimEvent } from "./queue.ts";
import type { SeenCache } from "./seen-cache.ts";

/** Per-link behaviour. */
export interface LinkModel {
  /** One-way base latency, ms. */
  latencyMs: number;
  /** Uniform extra latency in [0, jitterMs). */
  jitterMs: number;
  /** Probability that one transmission is lost. */
  loss: number;
}

/** How a publication reaches subscribers. */
export type DeliveryModel =
  /** Straight to every subscriber: fast, no relaying. */
  | "broadcast"
  /**
   * gossipsub-like: a mesh of degree ~`meshDegree` per topic, relayed hop by hop; a transmission
   * blocked by a partition, a crash or loss is retried from the relaying node's message cache for
   * `gossipWindow` heartbeats (IHAVE/IWANT), so a short outage heals by itself and a long one does not.
   */
  | "gossip";

export interface SimOptions {
  seed: number;
  delivery: DeliveryModel;
  link: LinkModel;
  meshDegree: number;
  heartbeatMs: number;
  gossipWindow: number;
}

export const DEFAULT_SIM_OPTIONS: SimOptions = {
  seed: 1,
  delivery: "broadcast",
  link: { latencyMs: 40, jitterMs: 20, loss: 0 },
  meshDegree: 6,
  heartbeatMs: 1000,
  gossipWindow: 3,
};

/** Traffic counters. A relayed message counts once per transmission. */
export interface Counters {
  msgsOut: number;
  bytesOut: number;
  msgsIn: number;
  bytesIn: number;
}

/** Why a transmission did not arrive. */
export interface Drops {
  loss: number;
  partition: number;
  down: number;
  duplicate: number;
  handlerErrors: number;
}

export interface NodeRec {
  readonly index: number;
  readonly id: string;
  up: boolean;
  /** Bumped on every crash: handles of an earlier incarnation go inert. */
  incarnation: number;
  group: number;
  readonly timers: Map<TimerId, SimEvent>;
  readonly subs: Map<string, Set<Handler>>;
  readonly seen: SeenCache;
  readonly counters: Counters;
  readonly rng: SeededRng;
}

export interface Gap {
  from: NodeRec;
  to: NodeRec;
  msg: SimMessage;
  since: number;
}

export interface SimMessage {
  readonly id: number;
  readonly topic: string;
  readonly data: Uint8Array;
  /** Sent to chosen nodes only (`Simulator.publishTo`): they do not relay it. */
  readonly direct?: boolean;
}

/** A node's handles: what a protocol core running on it is given. */
export interface SimNode {
  readonly id: string;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly rng: Rng;
}
