// Real network: js-libp2p with gossipsub, configured as Waku relay. Every Transport topic is a Waku content
// topic; all of them travel on one relay pubsub topic inside WakuMessage envelopes. A direct send to one
// peer is one WakuMessage on a stream of its own protocol (DIRECT_PROTOCOL), over a connection that is
// already up, as Waku's request-response protocols use streams beside relay.
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import { type GossipSub, gossipsub, StrictNoSign } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { PeerId, Stream } from "@libp2p/interface";
import { memory } from "@libp2p/memory";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { sha256 } from "@noble/hashes/sha2.js";
import { createLibp2p, type Libp2p } from "libp2p";
import { DemlsError } from "../util/errors.ts";
import { dispatch, type Handler, type Transport } from "./transport.ts";
import { DEFAULT_PUBSUB_TOPIC, decodeWakuMessage, encodeWakuMessage, WAKU_RELAY_PROTOCOL } from "./waku.ts";

/**
 * Codes of the errors a {@link Libp2pTransport} throws: `BAD_IDENTITY` (an identity seed that is not 32
 * bytes), `BAD_ADDRESS` (not a multiaddr), `DIAL_FAILED` (no connection to that address).
 */
export type NetErrorCode = "BAD_IDENTITY" | "BAD_ADDRESS" | "DIAL_FAILED";

export interface Libp2pOptions {
  /** `tcp` on loopback for real runs; `memory` for in-process tests. */
  transport: "tcp" | "memory";
  /** Listen addresses; default `/ip4/127.0.0.1/tcp/0` or a fresh `/memory/<n>`. */
  listen?: string[];
  /** Relay pubsub topic; default {@link DEFAULT_PUBSUB_TOPIC}. */
  pubsubTopic?: string;
  /**
   * The node's identity: a 32-byte Ed25519 seed. The same seed gives the same peer id, so a restarted
   * node keeps the address other nodes dialled (they redial it by themselves). Default: a fresh one.
   */
  identity?: Uint8Array;
}

/** Counters of what arrived from the network. */
export interface Libp2pStats {
  received: number;
  /** Frames that were not a WakuMessage: dropped. */
  malformed: number;
  handlerErrors: number;
  /** Messages that arrived on a direct stream (counted in `received` too). */
  directIn: number;
  /** Direct sends that went out on a stream. */
  directOut: number;
  /** Direct sends published instead: no connection to the peer, or the stream failed. */
  directFallbacks: number;
}

/** The libp2p protocol of direct sends: one WakuMessage per stream, then the stream is closed. */
export const DIRECT_PROTOCOL = "/demls/direct/1.0.0";
/** The largest frame read from a direct stream (as gossipsub's default message size); longer ones are dropped. */
const DIRECT_MAX_BYTES = 1 << 20;
/** A direct stream not opened and written within this is given up, and the message published. */
const DIRECT_TIMEOUT_MS = 5_000;

let memoryCounter = 0;

/** A {@link Transport} on a libp2p node, with the controls a test or the CLI needs to cut and heal links. */
export class Libp2pTransport implements Transport {
  readonly stats: Libp2pStats = {
    received: 0,
    malformed: 0,
    handlerErrors: 0,
    directIn: 0,
    directOut: 0,
    directFallbacks: 0,
  };
  readonly #node: Libp2p<{ pubsub: GossipSub; identify: unknown }>;
  readonly #pubsubTopic: string;
  readonly #handlers = new Map<string, Set<Handler>>();
  readonly #blocked: Set<string>;
  /** Peers we dialled (peer id → address): links we keep up, redialling when they drop. */
  readonly #links = new Map<string, string>();
  readonly #redials = new Map<string, ReturnType<typeof setTimeout>>();
  #closed = false;

  private constructor(
    node: Libp2p<{ pubsub: GossipSub; identify: unknown }>,
    pubsubTopic: string,
    blocked: Set<string>,
  ) {
    this.#node = node;
    this.#pubsubTopic = pubsubTopic;
    this.#blocked = blocked;
    // The peer that handed us the message is its link-level sender: the author when it is one hop away,
    // else a relay (StrictNoSign messages name no author).
    node.services.pubsub.addEventListener("gossipsub:message", (evt) => {
      const { msg, propagationSource } = evt.detail;
      if (msg.topic !== this.#pubsubTopic) return;
      this.#onFrame(msg.data, propagationSource.toString());
    });
    // A link can drop without anyone cutting it: a connection that timed out while the process was busy
    // (seen with 30 nodes in one process: after a 4 s stall, 17 nodes had no peer left, for good).
    node.addEventListener("peer:disconnect", (evt) => this.#keep(evt.detail.toString(), 0));
  }

  /** Starts a node listening per `options`. */
  static async create(options: Libp2pOptions): Promise<Libp2pTransport> {
    const blocked = new Set<string>();
    const isBlocked = (peer: PeerId) => blocked.has(peer.toString());
    const listen =
      options.listen ??
      (options.transport === "tcp"
        ? ["/ip4/127.0.0.1/tcp/0"]
        : [`/memory/demls-${process.pid}-${memoryCounter++}`]);
    if (options.identity !== undefined && options.identity.length !== 32)
      throw new DemlsError(
        "BAD_IDENTITY",
        `a libp2p identity is a 32-byte seed, not ${options.identity.length} bytes`,
      );
    const node = await createLibp2p({
      ...(options.identity ? { privateKey: await generateKeyPairFromSeed("Ed25519", options.identity) } : {}),
      start: false,
      addresses: { listen },
      transports: [options.transport === "tcp" ? tcp() : memory()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // Many peers share 127.0.0.1: the default of 5 inbound connections/s per host refuses dials at ~20 nodes.
      connectionManager: { inboundConnectionThreshold: 10_000, maxParallelDials: 50 },
      connectionGater: {
        denyDialMultiaddr: () => false,
        denyDialPeer: isBlocked,
        denyInboundEncryptedConnection: isBlocked,
        denyOutboundEncryptedConnection: isBlocked,
      },
      services: {
        identify: identify(),
        pubsub: gossipsub({
          globalSignaturePolicy: StrictNoSign,
          fallbackToFloodsub: false,
          allowPublishToZeroTopicPeers: true,
          ignoreDuplicatePublishError: true,
          msgIdFn: (msg) => sha256(msg.data),
          // Peers on one IP would otherwise be scored out of the mesh beyond ~10 nodes.
          scoreParams: { IPColocationFactorWeight: 0 },
        }),
      },
    });
    // gossipsub 17 ignores the `protocols` option: set the Waku relay protocol id before start.
    (node.services.pubsub as unknown as { protocols: string[] }).protocols = [WAKU_RELAY_PROTOCOL];
    await node.start();
    const pubsubTopic = options.pubsubTopic ?? DEFAULT_PUBSUB_TOPIC;
    node.services.pubsub.subscribe(pubsubTopic);
    const t = new Libp2pTransport(node, pubsubTopic, blocked);
    await node.handle(DIRECT_PROTOCOL, (stream, connection) =>
      t.#onDirect(stream, connection.remotePeer.toString()),
    );
    return t;
  }

  get nodeId(): string {
    return this.#node.peerId.toString();
  }

  /** Addresses other nodes can dial. */
  get addresses(): string[] {
    return this.#node.getMultiaddrs().map((a) => a.toString());
  }

  /** Peers currently in this node's relay topic. */
  get topicPeers(): number {
    return this.#node.services.pubsub.getSubscribers(this.#pubsubTopic).length;
  }

  /** The peer ids in this node's relay topic. */
  topicPeerIds(): string[] {
    return this.#node.services.pubsub.getSubscribers(this.#pubsubTopic).map((p) => p.toString());
  }

  /**
   * Connects to `address`, and keeps that link up: redialled whenever it drops, unless blocked.
   * @throws {DemlsError} `BAD_ADDRESS` (not a multiaddr), `DIAL_FAILED` (no connection: the reason follows).
   */
  async dial(address: string): Promise<void> {
    let target: ReturnType<typeof multiaddr>;
    try {
      target = multiaddr(address);
    } catch (e) {
      throw new DemlsError("BAD_ADDRESS", `'${address}' is not a multiaddr: ${(e as Error).message}`);
    }
    const connection = await this.#node.dial(target).catch((e: unknown) => {
      throw new DemlsError("DIAL_FAILED", `dialling ${address}: ${(e as Error).message}`, { cause: e });
    });
    this.#links.set(connection.remotePeer.toString(), address);
  }

  /** Redials a kept link that is down, after a delay that doubles per failed attempt (0.5 s to 10 s). */
  #keep(peer: string, attempt: number): void {
    const address = this.#links.get(peer);
    if (this.#closed || address === undefined || this.#blocked.has(peer) || this.#redials.has(peer)) return;
    const timer = setTimeout(
      () => {
        this.#redials.delete(peer);
        if (this.#closed || this.#blocked.has(peer)) return;
        if (this.#node.getConnections().some((c) => c.remotePeer.toString() === peer)) return;
        this.#node.dial(multiaddr(address)).then(
          () => {},
          () => this.#keep(peer, attempt + 1),
        );
      },
      Math.min(500 * 2 ** attempt, 10_000),
    );
    timer.unref?.();
    this.#redials.set(peer, timer);
  }

  /** Cuts this node off from `peerIds`: refuses connections both ways and hangs up existing ones. */
  async block(peerIds: Iterable<string>): Promise<void> {
    const hangUps: Promise<void>[] = [];
    for (const id of peerIds) {
      this.#blocked.add(id);
      for (const c of this.#node.getConnections())
        if (c.remotePeer.toString() === id) hangUps.push(c.close());
    }
    await Promise.allSettled(hangUps);
  }

  /** Lifts every block; the links this node dialled come back by themselves (or {@link dial} again). */
  unblock(): void {
    this.#blocked.clear();
    for (const peer of this.#links.keys()) this.#keep(peer, 0);
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    if (this.#closed) return;
    const frame = encodeWakuMessage({ payload: data, contentTopic: topic, timestamp: this.#timestamp() });
    await this.#node.services.pubsub.publish(this.#pubsubTopic, frame);
  }

  /**
   * Sends `data` to `nodeId` on a direct stream over a connection that is up; with none (or a blocked
   * peer, or a stream that fails) it publishes instead. A direct message is not relayed.
   */
  async sendDirect(nodeId: string, topic: string, data: Uint8Array): Promise<void> {
    if (this.#closed) return;
    const connection = this.#blocked.has(nodeId)
      ? undefined
      : this.#node.getConnections().find((c) => c.remotePeer.toString() === nodeId && c.status === "open");
    if (connection !== undefined) {
      try {
        const signal = AbortSignal.timeout(DIRECT_TIMEOUT_MS);
        const stream = await connection.newStream(DIRECT_PROTOCOL, { signal });
        stream.send(encodeWakuMessage({ payload: data, contentTopic: topic, timestamp: this.#timestamp() }));
        await stream.close({ signal });
        this.stats.directOut++;
        return;
      } catch {
        // The message goes by relay instead.
      }
    }
    this.stats.directFallbacks++;
    await this.publish(topic, data);
  }

  subscribe(topic: string, handler: Handler): () => void {
    let set = this.#handlers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(topic, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#redials.values()) clearTimeout(t);
    this.#redials.clear();
    this.#handlers.clear();
    await this.#node.stop();
  }

  /** Waku timestamps are nanoseconds. */
  #timestamp(): bigint {
    return BigInt(Date.now()) * 1_000_000n;
  }

  /** Reads one frame from a direct stream (at most `DIRECT_MAX_BYTES`) and hands it on as from `peer`. */
  async #onDirect(stream: Stream, peer: string): Promise<void> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for await (const chunk of stream) {
        size += chunk.byteLength;
        if (size > DIRECT_MAX_BYTES) {
          this.stats.malformed++;
          stream.abort(new Error("direct frame too long"));
          return;
        }
        chunks.push(chunk.subarray());
      }
    } catch {
      return; // the stream broke: nothing complete arrived
    }
    if (this.#closed || this.#blocked.has(peer)) return;
    const frame = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      frame.set(c, at);
      at += c.length;
    }
    this.stats.directIn++;
    this.#onFrame(frame, peer);
  }

  #onFrame(frame: Uint8Array, from?: string): void {
    let msg: ReturnType<typeof decodeWakuMessage>;
    try {
      msg = decodeWakuMessage(frame);
    } catch {
      this.stats.malformed++;
      return;
    }
    this.stats.received++;
    const handlers = this.#handlers.get(msg.contentTopic) ?? [];
    void dispatch(
      handlers,
      { topic: msg.contentTopic, data: msg.payload, ...(from !== undefined ? { from } : {}) },
      () => void this.stats.handlerErrors++,
    );
  }

  /** @internal Publishes raw bytes on the relay topic, bypassing the envelope (tests of bad frames). */
  async publishRaw(frame: Uint8Array): Promise<void> {
    await this.#node.services.pubsub.publish(this.#pubsubTopic, frame);
  }
}
