// A group of members on real libp2p nodes (gossipsub as Waku relay; TCP on loopback or in-process memory
// connections) with the wall clock: the same flows as the simulator's Cluster, over the real network stack.
import { Libp2pTransport } from "../net/libp2p.ts";
import { cryptoRng, systemClock } from "../net/transport.ts";
import { SqliteMemberStore } from "../store/sqlite.ts";
import { DemlsError } from "../util/errors.ts";
import { Member } from "./member.ts";
import { MemberSet, type MemberSetOptions, oneCommitGroup } from "./member-set.ts";

export interface LiveClusterOptions extends MemberSetOptions {
  readonly transport: "memory" | "tcp";
  /** Keep each member's state in `<dir>/<name>.sqlite`; in memory when absent. */
  readonly dataDir?: string;
}

export class LiveCluster extends MemberSet {
  readonly transports = new Map<string, Libp2pTransport>();
  readonly stores = new Map<string, SqliteMemberStore>();
  private readonly opts: LiveClusterOptions;
  /** Who dialled whom, to redial after a heal. */
  private readonly links: [string, string][] = [];

  constructor(opts: LiveClusterOptions) {
    super(opts);
    this.opts = opts;
  }

  get now(): number {
    return systemClock.now();
  }

  /**
   * Starts a libp2p node and a member on it. The node dials the first node and the one added before it,
   * so the mesh stays connected with 1-2 links per node.
   */
  async add(name: string, role: "creator" | "joiner"): Promise<Member> {
    const net = await this.addNode(name);
    return this.start(net, role);
  }

  /**
   * Sets up a group of `n` members in one MLS commit by m0 (no votes, no join rounds), each on its own
   * node: the start of large groups for benchmarks. Everything after it runs the real protocol.
   */
  async bootstrap(n: number): Promise<void> {
    for await (const { name, identity, group, keyPackages } of oneCommitGroup(n, this.base.conversation)) {
      const m = await Member.inGroup(await this.addNode(name), identity, group, keyPackages);
      this.members.set(name, m);
      m.start();
    }
  }

  /** A libp2p node linked into the mesh, and a store: the options of the member that runs on it. */
  private async addNode(name: string) {
    const t = await Libp2pTransport.create({ transport: this.opts.transport });
    const peers = [...this.transports.keys()];
    for (const p of new Set([peers[0], peers.at(-1)]))
      if (p !== undefined) {
        this.links.push([name, p]);
        await dialPatiently(t, this.transports.get(p)!.addresses[0]!);
      }
    this.transports.set(name, t);
    // No link came up (every dial failed under load): one more try through any node.
    if (peers.length > 0 && !(await this.waitFor(() => t.topicPeers > 0, 5_000)))
      for (const p of peers.slice(1, -1))
        if (await dialPatiently(t, this.transports.get(p)!.addresses[0]!)) break;
    const store = new SqliteMemberStore(
      this.opts.dataDir ? `${this.opts.dataDir}/${name}.sqlite` : ":memory:",
    );
    this.stores.set(name, store);
    return this.memberOptions(name, { transport: t, clock: systemClock, rng: cryptoRng }, store);
  }

  /**
   * m0 creates the group, m1..m(n-1) join through votes; resolves when all are in one state.
   * @param timeScale how much the members' timers are stretched: the wait for one state, 30 s + 3 s per
   *   member, is stretched as much.
   * @throws {DemlsError} `NOT_FORMED` after that wait (wall clock) without one state.
   */
  async form(n: number, timeScale = 1): Promise<void> {
    const timeoutMs = (30_000 + n * 3_000) * timeScale;
    await this.add("m0", "creator");
    for (let i = 1; i < n; i++) await this.add(`m${i}`, "joiner");
    if (!(await this.waitFor(() => this.converged() && this.distinctStates().size === 1, timeoutMs)))
      throw new DemlsError("NOT_FORMED", `a group of ${n} did not form in one state: ${this.describe()}`);
  }

  /** Polls `cond` every 50 ms for at most `ms`; returns its last value. */
  async waitFor(cond: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return cond();
  }

  /** Cuts the network into `sides` (member names): connections across sides are refused and closed. */
  async partition(sides: readonly (readonly string[])[]): Promise<void> {
    const sideOf = new Map<string, number>();
    sides.forEach((s, k) => {
      for (const n of s) sideOf.set(n, k);
    });
    const ids = [...this.transports].map(([n, t]) => ({ n, id: t.nodeId }));
    await Promise.all(
      [...this.transports].map(([n, t]) =>
        t.block(ids.filter((x) => sideOf.get(x.n) !== sideOf.get(n)).map((x) => x.id)),
      ),
    );
  }

  /** Lifts every cut and redials the original links; new links join the two sides where a cut ran. */
  async heal(): Promise<void> {
    for (const t of this.transports.values()) t.unblock();
    await Promise.all(
      this.links.map(([a, b]) =>
        dialPatiently(this.transports.get(a)!, this.transports.get(b)!.addresses[0]!),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.members.values()].map((m) => m.close()));
    await Promise.allSettled([...this.transports.values()].map((t) => t.close()));
    for (const s of this.stores.values()) s.close();
  }
}

/**
 * Dials with retries (a noise handshake can time out when dozens of nodes share one process and two
 * cores: an `EncryptionFailedError` ended a 30-member run). Resolves false when every attempt failed;
 * never rejects.
 */
export async function dialPatiently(t: Libp2pTransport, address: string, attempts = 4): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    try {
      await t.dial(address);
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 250 * 2 ** i));
    }
  }
  return false;
}
