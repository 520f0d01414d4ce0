// The gossip delivery model (`delivery: "gossip"`): each topic's mesh of peers, relaying along it, and
// IHAVE/IWANT retries, within the gossip window, of transmissions a partition or loss blocked. Plain
// functions over the mesh state; the simulator owns the clock, the links and the heartbeat.
import type { SeededRng } from "./prng.ts";
import type { Gap, NodeRec, SimMessage } from "./types.ts";

/** Every topic's mesh (each node's peers) and the transmissions still to retry. */
export interface MeshState {
  readonly topics: Map<string, Map<NodeRec, Set<NodeRec>>>;
  gaps: Gap[];
}

export const newMeshState = (): MeshState => ({ topics: new Map(), gaps: [] });

/** Joins `rec` to `topic`'s mesh: up to `degree` random earlier subscribers, each taking up to 2 × degree. */
export function joinMesh(m: MeshState, rec: NodeRec, topic: string, degree: number, rng: SeededRng): void {
  let mesh = m.topics.get(topic);
  if (mesh === undefined) {
    mesh = new Map();
    m.topics.set(topic, mesh);
  }
  const peers = new Set<NodeRec>();
  const others = [...mesh.keys()];
  for (let tries = 0; peers.size < degree && tries < 4 * degree && others.length; tries++) {
    const p = others[rng.int(others.length)] as NodeRec;
    const back = mesh.get(p) as Set<NodeRec>;
    if (peers.has(p) || back.size >= 2 * degree) continue;
    peers.add(p);
    back.add(rec);
  }
  mesh.set(rec, peers);
}

/**
 * Relays `msg` from `from` to its mesh peers but `source` and those that have it (`transmit` sends one
 * copy and says whether the link let it through); a blocked one is kept as a gap from `now`.
 */
export function relay(
  m: MeshState,
  from: NodeRec,
  msg: SimMessage,
  source: NodeRec | undefined,
  now: number,
  transmit: (to: NodeRec) => boolean,
): void {
  const peers = m.topics.get(msg.topic)?.get(from);
  if (peers === undefined) return;
  for (const p of peers) {
    if (p === source || p.seen.has(msg.id)) continue;
    if (!transmit(p)) m.gaps.push({ from, to: p, msg, since: now });
  }
}

/**
 * A heartbeat's IHAVE/IWANT: each gap still inside the window whose sender is up is retried when its
 * link is `reachable` (unreachable peers get no IHAVE at all) and `fetch` gets it through (one extra
 * round trip); the rest are kept, those out of the window or already delivered dropped.
 */
export function retryGaps(
  m: MeshState,
  now: number,
  windowMs: number,
  reachable: (g: Gap) => boolean,
  fetch: (g: Gap) => boolean,
): void {
  const keep: Gap[] = [];
  for (const g of m.gaps) {
    if (g.to.seen.has(g.msg.id) || now - g.since > windowMs || !g.from.up) continue;
    if (!reachable(g) || !fetch(g)) keep.push(g);
  }
  m.gaps = keep;
}
