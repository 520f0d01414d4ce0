// Which transport node a peer of a protocol above is reached at (an SDS sender id → a node id), learned
// from what arrives, and sending a message to some peers directly with it. A route is a hint, never an
// identity: a wrong one sends a message to the wrong node, which costs the intended peer that copy (it
// asks again, and is then answered by broadcast), never a wrong delivery, since a receiver takes a direct
// message exactly as a publication.
import type { Transport } from "./transport.ts";

/** Routes learned, at most this many peers by default (the least recently seen go first). */
export const DEFAULT_ROUTE_LIMIT = 4096;

/** A persisted route: peer id, node id, messages in a row from that node. */
export type SavedRoute = readonly [peer: string, node: string, streak: number];

interface Route {
  readonly node: string;
  /** Messages of the peer that came from `node` in a row. */
  streak: number;
}

/**
 * Routes from peer ids to node ids. Feed it only messages that the peer named sends itself and nobody
 * forwards on its behalf (SDS sync and ephemeral messages, not content, which others repair or relay),
 * with the node the transport received each from (`Delivery.from`). A route is used once two such
 * messages in a row came from the same node, and dropped when one comes from another node: in a gossip
 * mesh, where the last hop is a relay as often as not, a peer keeps no route and is sent to by publishing,
 * and a liar who claims a peer's id can at most make it lose its route.
 */
export class PeerRoutes {
  readonly #routes = new Map<string, Route>();
  readonly #limit: number;

  /** `saved`: what {@link save} returned (a restarted member keeps what it learned). */
  constructor(saved: readonly SavedRoute[] = [], limit = DEFAULT_ROUTE_LIMIT) {
    this.#limit = Math.max(1, limit);
    for (const [peer, node, streak] of saved.slice(-this.#limit)) this.#routes.set(peer, { node, streak });
  }

  /** Every route and candidate, least recently seen first: plain data to persist. */
  save(): SavedRoute[] {
    return [...this.#routes].map(([peer, r]) => [peer, r.node, r.streak]);
  }

  /** A message of `peer` (its own, see the class) arrived from node `node`. */
  observe(peer: string, node: string): void {
    const r = this.#routes.get(peer);
    this.#routes.delete(peer); // re-inserted last: the map stays in least-recently-seen order
    this.#routes.set(peer, r?.node === node ? { node, streak: r.streak + 1 } : { node, streak: 1 });
    if (this.#routes.size > this.#limit) this.#routes.delete(this.#routes.keys().next().value!);
  }

  /** The node `peer` is reached at, or undefined while that is not settled. */
  nodeOf(peer: string): string | undefined {
    const r = this.#routes.get(peer);
    return r !== undefined && r.streak >= 2 ? r.node : undefined;
  }

  /** Peers with a route or a candidate one. */
  get size(): number {
    return this.#routes.size;
  }
}

/**
 * Sends `data` on `topic` to each of `peers` directly, where the transport sends directly and `routes`
 * knows its node; if any of them has no route (or `peers` is undefined: everyone), publishes it once
 * instead. Returns how it went out: `direct` transmissions, or `published`. Best effort, as the transport.
 */
export function sendAddressed(
  transport: Transport,
  routes: PeerRoutes,
  topic: string,
  data: Uint8Array,
  peers: readonly string[] | undefined,
): { readonly sent: Promise<void>; readonly direct: number } {
  const nodes = peers?.map((p) => routes.nodeOf(p));
  if (transport.sendDirect === undefined || nodes === undefined || nodes.some((n) => n === undefined))
    return { sent: transport.publish(topic, data), direct: 0 };
  const unique = [...new Set(nodes as string[])];
  const send = transport.sendDirect.bind(transport);
  return { sent: Promise.all(unique.map((n) => send(n, topic, data))).then(() => {}), direct: unique.length };
}
