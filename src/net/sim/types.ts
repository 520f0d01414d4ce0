// The simulator's types: link and delivery models, options, counters, a node's handles, and the records
// it keeps per node and per message.
import type { Clock, Handler, Rng, TimerId, Transport } from "../transport.ts";
import { type LinkFaults, NO_LINK_FAULTS } from "./link-faults.ts";
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
  /** Duplication and reordering beyond the jitter, on every link (none by default). */
  faults: LinkFaults;
}

export const DEFAULT_SIM_OPTIONS: SimOptions = {
  seed: 1,
  delivery: "broadcast",
  link: { latencyMs: 40, jitterMs: 20, loss: 0 },
  meshDegree: 6,
  heartbeatMs: 1000,
  gossipWindow: 3,
  faults: NO_LINK_FAULTS,
};

/** What the link faults did: extra copies delivered, transmissions held back beyond the jitter. */
export interface Injected {
  duplicated: number;
  delayed: number;
}

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
  /** Blocked by a partition or a one-way cut. */
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
  /** Inputs handed to the node so far: messages to its handlers and timers fired, over every incarnation. */
  inputs: number;
  /** A crash armed by `Simulator.crashAfterInputs`: once input number `input` has run, `fire` crashes it. */
  crashAfter: { readonly input: number; readonly fire: () => void } | undefined;
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
