// Seeded, virtual-time network simulator. One event queue ordered by (time, seq); every random choice
// comes from one seeded PRNG in event order, so a seed replays a run exactly (`traceHash` proves it).
// What it can do to the network: latency and jitter, loss, partitions, one-way cuts, duplication and
// reordering beyond the jitter (link-faults.ts), crashes at a time or between two inputs of a node, and
// restarts (a node never restarted is dead for good).
import { armCrash, countInput, crashNode } from "./crash.ts";
import { type HandleHost, nodeHandles } from "./handles.ts";
import { type LinkHost, latency, transmit } from "./link.ts";
import { checkLinkFaults, type LinkFaults } from "./link-faults.ts";
import { joinMesh, newMeshState, relay, retryGaps } from "./mesh.ts";
import { OneWayCuts } from "./one-way.ts";
import { SeededRng } from "./prng.ts";
import { EventQueue } from "./queue.ts";
import { SeenCache } from "./seen-cache.ts";
import { TraceHash } from "./trace.ts";
import { zeroCounters } from "./traffic.ts";
import {
  type Counters,
  DEFAULT_SIM_OPTIONS,
  type Drops,
  type Injected,
  type LinkModel,
  type NodeRec,
  type SimMessage,
  type SimNode,
  type SimOptions,
} from "./types.ts";

export type { FaultDraw, LinkFaults } from "./link-faults.ts";
export { NO_LINK_FAULTS } from "./link-faults.ts";
export type { Counters, DeliveryModel, Drops, Injected, LinkModel, SimNode, SimOptions } from "./types.ts";
export { DEFAULT_SIM_OPTIONS } from "./types.ts";

/**
 * How long a node remembers a message id to drop duplicates, as gossipsub's seen cache (2 min). A copy
 * arrives within the gossip window plus a few latencies, far inside it.
 */
const SEEN_TTL_MS = 120_000;

/** A simulated network of named nodes. */
export class Simulator {
  readonly options: SimOptions;
  readonly rng: SeededRng;
  readonly drops: Drops = { loss: 0, partition: 0, down: 0, duplicate: 0, handlerErrors: 0 };
  /** What the link faults did (`setLinkFaults`). */
  readonly injected: Injected = { duplicated: 0, delayed: 0 };
  readonly topics = new Map<string, Counters>();
  #now = 0;
  readonly #queue = new EventQueue();
  #nodes = new Map<string, NodeRec>();
  #mesh = newMeshState();
  readonly #oneWay = new OneWayCuts();
  #nextMsg = 0;
  #nextTimer = 1;
  #events = 0;
  #trace = new TraceHash();
  #heartbeat = false;
  /** What links use of the simulator (link.ts). */
  readonly #link: LinkHost;

  /** `faults` may name some fields only: the others are off. */
  constructor(options: Partial<Omit<SimOptions, "faults">> & { faults?: Partial<LinkFaults> } = {}) {
    this.options = {
      ...DEFAULT_SIM_OPTIONS,
      ...options,
      link: { ...DEFAULT_SIM_OPTIONS.link, ...options.link },
      faults: checkLinkFaults({ ...DEFAULT_SIM_OPTIONS.faults, ...options.faults }),
    };
    this.rng = new SeededRng(this.options.seed);
    this.#link = {
      now: () => this.#now,
      rng: this.rng,
      options: this.options,
      queue: this.#queue,
      oneWay: this.#oneWay,
      drops: this.drops,
      injected: this.injected,
      topics: this.topics,
      mix: (a, b, c, d) => this.#mix(a, b, c, d),
      relay: (to, msg, source) => this.#relay(to, msg, source),
    };
  }

  /** Virtual time, ms. */
  get now(): number {
    return this.#now;
  }

  /** Events run so far. */
  get events(): number {
    return this.#events;
  }

  /** Adds a node (up, in partition group 0) and returns its handles. */
  addNode(id: string): SimNode {
    if (this.#nodes.has(id)) throw new Error(`node ${id} exists`);
    const rec: NodeRec = {
      index: this.#nodes.size,
      id,
      up: true,
      incarnation: 0,
      group: 0,
      timers: new Map(),
      subs: new Map(),
      seen: new SeenCache(SEEN_TTL_MS),
      counters: zeroCounters(),
      rng: this.rng.fork(),
      inputs: 0,
      crashAfter: undefined,
    };
    this.#nodes.set(id, rec);
    return this.#handles(rec);
  }

  /** Current handles of a node (fresh ones after a restart). */
  node(id: string): SimNode {
    return this.#handles(this.#rec(id));
  }

  /** Node ids in creation order. */
  get nodeIds(): string[] {
    return [...this.#nodes.keys()];
  }

  /** Traffic counters of one node. */
  counters(id: string): Readonly<Counters> {
    return this.#rec(id).counters;
  }

  /** Message ids a node remembers for de-duplication (bounded by the seen cache's time-to-live). */
  seenSize(id: string): number {
    return this.#rec(id).seen.size;
  }

  isUp(id: string): boolean {
    return this.#rec(id).up;
  }

  /** Inputs handed to a node so far (messages to its handlers, timers fired), over all its incarnations. */
  inputs(id: string): number {
    return this.#rec(id).inputs;
  }

  /** Runs `fn` at virtual time `time` (now if in the past). */
  at(time: number, fn: () => void | Promise<void>): void {
    this.#queue.push(Math.max(time, this.#now), fn);
  }

  /**
   * Splits the network: each listed array is one side; nodes not listed form one more side together.
   * Takes effect at `at` (default now). Transmissions across sides are dropped.
   */
  partition(sides: readonly (readonly string[])[], at = this.#now): void {
    this.#atOrNow(at, () => {
      for (const n of this.#nodes.values()) n.group = 0;
      sides.forEach((side, i) => {
        for (const id of side) this.#rec(id).group = i + 1;
      });
      this.#mix(1, sides.length, 0, 0);
    });
  }

  /**
   * Runs `fn` at `time`; at once if that is now, so what the caller publishes next already sees the
   * change (a queued event would run only after those publications were sent).
   */
  #atOrNow(time: number, fn: () => void): void {
    if (time <= this.#now) fn();
    else this.at(time, fn);
  }

  /** Changes the loss rate of every link from now on. */
  setLoss(loss: number): void {
    (this.options as { link: LinkModel }).link = { ...this.options.link, loss };
  }

  /**
   * Changes duplication and reordering on every link from now on (the fields given; the rest stay).
   * @throws {DemlsError} `BAD_PARAMS` for a value out of range.
   */
  setLinkFaults(faults: Partial<LinkFaults>): void {
    (this.options as { faults: LinkFaults }).faults = checkLinkFaults({ ...this.options.faults, ...faults });
  }

  /**
   * Cuts every link from a node of `from` to a node of `to` in that direction only, at `at` (default
   * now): their transmissions are dropped while the other direction works. Partitions and heals leave
   * one-way cuts alone; {@link restoreOneWay} lifts one.
   */
  cutOneWay(from: readonly string[], to: readonly string[], at = this.#now): void {
    this.#atOrNow(at, () => this.#directed(from, to, (a, b) => this.#oneWay.cut(a, b), 5));
  }

  /** Lifts a cut made by {@link cutOneWay} with the same `from` and `to`, at `at` (default now). */
  restoreOneWay(from: readonly string[], to: readonly string[], at = this.#now): void {
    this.#atOrNow(at, () => this.#directed(from, to, (a, b) => this.#oneWay.restore(a, b), 6));
  }

  #directed(from: readonly string[], to: readonly string[], fn: (a: number, b: number) => void, tag: number) {
    for (const a of from)
      for (const b of to) {
        const x = this.#rec(a).index;
        const y = this.#rec(b).index;
        if (x !== y) fn(x, y);
        this.#mix(tag, x, y, 0);
      }
  }

  /**
   * Puts node `id` on the side of node `peer` at `at` (default now): a node added while the network is
   * split joins a side of the split (a new node is on the side of the nodes no partition listed).
   */
  joinSide(id: string, peer: string, at = this.#now): void {
    this.#atOrNow(at, () => {
      const n = this.#rec(id);
      const p = this.#rec(peer);
      n.group = p.group;
      this.#mix(7, n.index, p.index, 0);
    });
  }

  /** Joins all sides again at `at` (default now). */
  heal(at = this.#now): void {
    this.#atOrNow(at, () => {
      for (const n of this.#nodes.values()) n.group = 0;
      this.#mix(2, 0, 0, 0);
    });
  }

  /**
   * Crashes a node: it stops sending and receiving, its timers and subscriptions are gone. A node that is
   * never restarted is dead for good.
   */
  crash(id: string, at = this.#now): void {
    this.at(at, () => this.#crashNow(this.#rec(id)));
  }

  /**
   * Crashes a node between two of its inputs (messages to its handlers, timers fired): right after the
   * `inputs`-th input it is handed from now on has run, before anything else happens; with 0, at the
   * next event. What a crash at any step of a protocol does (right after joining, mid-commit, mid-reset),
   * where {@link crash} picks a time. `onCrash` runs first (to stop the process on the node). One armed
   * crash per node: a new one replaces it; a crash of the node by any means disarms it.
   */
  crashAfterInputs(id: string, inputs: number, onCrash?: () => void): void {
    const n = this.#rec(id);
    const now = armCrash(n, inputs, () => this.#crashNow(n), onCrash);
    if (now !== undefined) this.at(this.#now, now);
  }

  #crashNow(n: NodeRec): void {
    crashNode(n);
    this.#mix(3, n.index, 0, 0);
  }

  /** Brings a crashed node back (with no subscriptions); get its new handles with {@link node}. */
  restart(id: string, at = this.#now): void {
    this.at(at, () => {
      const n = this.#rec(id);
      n.up = true;
      this.#mix(4, n.index, 0, 0);
    });
  }

  /**
   * Publishes `data` on `topic` from node `from` to the nodes `to` only, one transmission each (subject
   * to partitions, loss and latency like any other), which do not relay it: what a peer that picks its
   * recipients can do. Nodes not subscribed to `topic` get nothing.
   */
  publishTo(from: string, topic: string, data: Uint8Array, to: readonly string[]): void {
    const rec = this.#rec(from);
    if (rec.up)
      this.#direct(
        rec,
        topic,
        data,
        to.map((id) => this.#rec(id)),
      );
  }

  #direct(from: NodeRec, topic: string, data: Uint8Array, to: readonly NodeRec[]): void {
    const msg: SimMessage = { id: this.#nextMsg++, topic, data, direct: true };
    for (const target of to)
      if (target !== from && target.subs.has(topic)) transmit(this.#link, from, target, msg, 0);
  }

  /** Runs every event up to and including virtual time `t`, then sets the clock to `t`. */
  async runUntil(t: number): Promise<void> {
    for (let ev = this.#queue.peek(); ev !== undefined && ev.time <= t; ev = this.#queue.peek()) {
      this.#queue.pop();
      if (ev.cancelled) continue;
      this.#now = ev.time;
      this.#events++;
      const r = ev.run();
      if (r !== undefined) await r;
    }
    this.#now = Math.max(this.#now, t);
  }

  /** Runs for `ms` of virtual time. */
  runFor(ms: number): Promise<void> {
    return this.runUntil(this.#now + ms);
  }

  /** 64-bit digest of everything that happened (deliveries, drops, partitions, crashes), as hex. */
  traceHash(): string {
    return this.#trace.hex();
  }

  #mix(a: number, b: number, c: number, d: number): void {
    this.#trace.mix(a, b, c, d, this.#now);
  }

  #rec(id: string): NodeRec {
    const n = this.#nodes.get(id);
    if (n === undefined) throw new Error(`unknown node ${id}`);
    return n;
  }

  #handles(rec: NodeRec): SimNode {
    return nodeHandles(rec, this.#host);
  }

  /** What node handles use of the simulator (handles.ts). */
  readonly #host: HandleHost = {
    now: () => this.#now,
    schedule: (at, run) => this.#queue.push(at, run),
    nextTimerId: () => this.#nextTimer++,
    input: countInput,
    publish: (rec, topic, data) => this.#publish(rec, topic, data),
    direct: (rec, topic, data, to) => this.#direct(rec, topic, data, to),
    node: (id) => this.#nodes.get(id),
    firstSubscription: (rec, topic) => {
      if (this.options.delivery !== "gossip") return;
      joinMesh(this.#mesh, rec, topic, this.options.meshDegree, this.rng);
      this.#startHeartbeat();
    },
  };

  #publish(from: NodeRec, topic: string, data: Uint8Array): void {
    const msg: SimMessage = { id: this.#nextMsg++, topic, data };
    // Broadcast sends one copy per subscriber: only relaying (gossip) can bring a message twice.
    if (this.options.delivery === "broadcast") {
      for (const to of this.#nodes.values()) {
        if (to !== from && to.subs.has(topic)) transmit(this.#link, from, to, msg, 0);
      }
    } else {
      from.seen.add(msg.id, this.#now);
      this.#relay(from, msg, undefined);
    }
  }

  // ---- gossip model (mesh.ts) ----

  #startHeartbeat(): void {
    if (this.#heartbeat) return;
    this.#heartbeat = true;
    this.#queue.push(this.#now + this.options.heartbeatMs, () => this.#onHeartbeat());
  }

  #relay(from: NodeRec, msg: SimMessage, source: NodeRec | undefined): void {
    relay(this.#mesh, from, msg, source, this.#now, (to) => transmit(this.#link, from, to, msg, 0));
  }

  /** IHAVE/IWANT: retry blocked transmissions still inside the gossip window. */
  #onHeartbeat(): void {
    retryGaps(
      this.#mesh,
      this.#now,
      this.options.gossipWindow * this.options.heartbeatMs,
      (g) => g.to.up && g.from.group === g.to.group && !this.#oneWay.blocks(g.from.index, g.to.index),
      (g) => transmit(this.#link, g.from, g.to, g.msg, latency(this.#link)),
    );
    this.#queue.push(this.#now + this.options.heartbeatMs, () => this.#onHeartbeat());
  }
}
