// A group of members on the seeded simulator: what the scenario runner, the tests and the benchmarks
// build on. Members join through the real protocol (KeyPackage, add proposal, votes, steward commit).
import type { GroupParams } from "../group/params.ts";
import { type LinkModel, Simulator } from "../net/sim/simulator.ts";
import { SqliteMemberStore } from "../store/sqlite.ts";
import type { SyncEffect, SyncParams } from "../sync/core.ts";
import { toHex } from "../util/bytes.ts";
import { Member } from "./member.ts";

export interface ClusterOptions {
  readonly seed: number;
  readonly conversation?: string;
  readonly link?: Partial<LinkModel>;
  readonly groupParams?: GroupParams;
  readonly syncParams?: SyncParams;
  /** Persist every member in an in-memory sqlite store (needed for crash/restart). */
  readonly persist?: boolean;
  readonly onEvent?: (e: SyncEffect, m: Member) => void;
}

/** Chats as each member saw them: sender name + body text. */
export interface ChatLog {
  /** body → sender, time, and the members (in a group at that time) expected to receive it. */
  readonly sent: Map<string, { from: string; at: number; to: string[] }>;
  /** member name → chat bodies received, in order. */
  readonly received: Map<string, string[]>;
}

export class Cluster {
  readonly sim: Simulator;
  readonly members = new Map<string, Member>();
  readonly stores = new Map<string, SqliteMemberStore>();
  readonly chats: ChatLog = { sent: new Map(), received: new Map() };
  private readonly opts: ClusterOptions;
  private readonly conversation: string;

  constructor(opts: ClusterOptions) {
    this.opts = opts;
    this.conversation = opts.conversation ?? "demo";
    this.sim = new Simulator({
      seed: opts.seed,
      link: { latencyMs: 40, jitterMs: 30, loss: 0, ...opts.link },
    });
  }

  private memberOptions(name: string) {
    const node = this.sim.node(name);
    const store = this.opts.persist ? this.stores.get(name) : undefined;
    return {
      name,
      conversation: this.conversation,
      transport: node.transport,
      clock: node.clock,
      rng: node.rng,
      ...(this.opts.groupParams ? { groupParams: this.opts.groupParams } : {}),
      ...(this.opts.syncParams ? { syncParams: this.opts.syncParams } : {}),
      ...(store ? { store } : {}),
      onEvent: (e: SyncEffect, m: Member) => {
        if (e.type === "chat") {
          const list = this.chats.received.get(m.name) ?? [];
          list.push(new TextDecoder().decode(e.body));
          this.chats.received.set(m.name, list);
        }
        this.opts.onEvent?.(e, m);
      },
    };
  }

  /** Adds a member node; the first one creates the group. */
  async add(name: string, role: "creator" | "joiner"): Promise<Member> {
    this.sim.addNode(name);
    if (this.opts.persist) this.stores.set(name, new SqliteMemberStore());
    const m = await Member.create({ ...this.memberOptions(name), role });
    this.members.set(name, m);
    m.start();
    return m;
  }

  /**
   * Creates a group of `n` members (m0 creates, the rest join one by one through votes) and runs until
   * all are in one state, or throws after `timeoutMs` of virtual time.
   */
  async form(n: number, timeoutMs = 60_000 + n * 5_000): Promise<void> {
    await this.add("m0", "creator");
    for (let i = 1; i < n; i++) await this.add(`m${i}`, "joiner");
    const deadline = this.sim.now + timeoutMs;
    while (this.sim.now < deadline) {
      await this.sim.runFor(500);
      if (this.converged() && this.distinctStates().size === 1) return;
    }
    throw new Error(
      `group of ${n} did not form: ${JSON.stringify(this.summary(), (_, v) => (typeof v === "bigint" ? `${v}` : v))}`,
    );
  }

  /** Sends a chat and records it for the delivery check. */
  async chat(name: string, text: string): Promise<void> {
    const to = [...this.members.values()].filter((m) => m.name !== name && m.group.group).map((m) => m.name);
    this.chats.sent.set(text, { from: name, at: this.sim.now, to });
    await this.members.get(name)!.sendChat(text);
  }

  /** Crashes a member (its store survives), and restarts it from the store at `restartAt`. */
  crash(name: string, at: number, restartAt: number): void {
    this.sim.at(at, () => {
      this.members.get(name)!.stop();
      this.sim.crash(name);
    });
    this.sim.restart(name, restartAt);
    // One millisecond later, so the node is up again and hands out the new incarnation's transport.
    this.sim.at(restartAt + 1, async () => {
      const m = await Member.restore({ ...this.memberOptions(name), store: this.stores.get(name)! });
      this.members.set(name, m);
      m.start();
    });
  }

  /** Stops a member that left or was removed, and stops tracking it (its received chats stay logged). */
  retire(name: string): void {
    this.members.get(name)?.stop();
    this.members.delete(name);
  }

  epochOf(name: string): bigint {
    return this.members.get(name)?.group.epoch ?? -1n;
  }

  /** Every member has a group and its sync key. */
  converged(): boolean {
    return [...this.members.values()].every(
      (m) => m.group.group !== undefined && m.group.state.syncKey !== undefined,
    );
  }

  /** Distinct (group, epoch, fingerprint) states → member names. */
  distinctStates(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const m of this.members.values()) {
      const g = m.group.group;
      const k = g ? `${toHex(g.groupId).slice(0, 8)}/${g.epoch}:${toHex(g.fingerprint).slice(0, 8)}` : "none";
      out.set(k, [...(out.get(k) ?? []), m.name]);
    }
    return out;
  }

  summary(): ReturnType<Member["summary"]>[] {
    return [...this.members.values()].map((m) => m.summary());
  }

  /** Chats each member is missing (sent by others, not received). */
  missingChats(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [name] of this.members) {
      const got = new Set(this.chats.received.get(name) ?? []);
      const miss = [...this.chats.sent]
        .filter(([t, s]) => s.to.includes(name) && !got.has(t))
        .map(([t]) => t);
      if (miss.length) out.set(name, miss);
    }
    return out;
  }

  /** Chats some member received more than once. */
  duplicateChats(): number {
    let d = 0;
    for (const list of this.chats.received.values()) d += list.length - new Set(list).size;
    return d;
  }
}
