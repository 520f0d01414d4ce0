// A group of members on the seeded simulator: what the scenario runner, the tests and the benchmarks
// build on. Members join through the real protocol (KeyPackage, add proposal, votes, steward commit).
import { seedMlsRandomness, shareStateAcrossMembers } from "../mls/index.ts";
import { type LinkModel, Simulator } from "../net/sim/simulator.ts";
import { SqliteMemberStore } from "../store/sqlite.ts";
import { Member } from "./member.ts";
import { MemberSet, type MemberSetOptions, oneCommitGroup } from "./member-set.ts";
import { filteredTransport, type OutgoingFilter } from "./outgoing.ts";

export type { ChatLog } from "./member-set.ts";

export interface ClusterOptions extends MemberSetOptions {
  readonly seed: number;
  readonly link?: Partial<LinkModel>;
  /**
   * Persist members in in-memory sqlite stores (needed for crash/restart): all of them, or those the
   * function names.
   */
  readonly persist?: boolean | ((name: string) => boolean);
}

export class Cluster extends MemberSet {
  readonly sim: Simulator;
  readonly stores = new Map<string, SqliteMemberStore>();
  /** Members crashed for good ({@link kill}, or {@link crashAfterInputs} with no restart). */
  readonly dead = new Set<string>();
  /**
   * What becomes of the messages a member publishes itself, by member name (absent: sent as is). Every
   * member's transport looks it up at each publish, so a test can take over any member's traffic at any
   * time, across restarts (`demls/testing`'s `Insider` sets it).
   */
  readonly outgoing = new Map<string, OutgoingFilter>();
  private readonly opts: ClusterOptions;

  constructor(opts: ClusterOptions) {
    super(opts);
    this.opts = opts;
    this.sim = new Simulator({
      seed: opts.seed,
      link: { latencyMs: 40, jitterMs: 30, loss: 0, ...opts.link },
    });
    // MLS key material from the seed too: the run replays byte for byte, not only in event order.
    seedMlsRandomness(`demls simulation ${opts.seed}`);
    // All members live in this process: equal tree nodes and each epoch's secret tree are held once, not
    // n times (docs/decisions.md has the memory it saves).
    shareStateAcrossMembers(true);
  }

  get now(): number {
    return this.sim.now;
  }

  private optionsOf(name: string) {
    const node = this.sim.node(name);
    const transport = filteredTransport(
      node.transport,
      this.base.conversation ?? "demo",
      () => this.outgoing.get(name),
      (topic, data, to) => this.sim.publishTo(name, topic, data, to),
    );
    return this.memberOptions(name, { ...node, transport }, this.stores.get(name));
  }

  private addStore(name: string): void {
    const p = this.opts.persist;
    if (p === true || (typeof p === "function" && p(name))) this.stores.set(name, new SqliteMemberStore());
  }

  /** Adds a member node; the first one creates the group. */
  async add(name: string, role: "creator" | "joiner"): Promise<Member> {
    this.sim.addNode(name);
    this.addStore(name);
    return this.start(this.optionsOf(name), role);
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
    throw new Error(`group of ${n} did not form: ${this.describe()}`);
  }

  /**
   * Sets up a group of `n` members in one MLS commit by m0 (no votes, no join rounds): the setup of large
   * groups for benchmarks. Everything after it runs the real protocol.
   */
  async bootstrap(n: number): Promise<void> {
    for await (const { name, identity, group, keyPackages } of oneCommitGroup(n, this.base.conversation)) {
      this.sim.addNode(name);
      this.addStore(name);
      const m = await Member.inGroup(this.optionsOf(name), identity, group, keyPackages);
      this.members.set(name, m);
      m.start();
    }
  }

  /**
   * Saves a member, stops it and starts it again from its store at once, on the same node (no message is
   * lost in between): what a restart does to a member, without the network seeing a crash.
   */
  async reload(name: string): Promise<void> {
    const store = this.stores.get(name);
    if (store === undefined) throw new Error(`member ${name} has no store (ClusterOptions.persist)`);
    await this.members.get(name)!.close();
    const m = await Member.restore({ ...this.optionsOf(name), store });
    this.members.set(name, m);
    m.start();
  }

  /** Crashes a member (its store survives), and restarts it from the store at `restartAt`. */
  crash(name: string, at: number, restartAt: number): void {
    this.sim.at(at, () => {
      this.members.get(name)!.stop();
      this.sim.crash(name);
    });
    this.sim.restart(name, restartAt);
    this.restoreAt(name, restartAt);
  }

  /**
   * Crashes a member between two of its inputs: right after the `inputs`-th message or timer its node is
   * handed from now on (`Simulator.crashAfterInputs`); then restarts it from its store `downMs` later, or
   * never (`downMs` undefined: dead for good, as {@link kill}). `onCrash` runs when it crashes.
   * @throws {Error} when it is to restart and has no store (ClusterOptions.persist).
   */
  crashAfterInputs(name: string, inputs: number, downMs?: number, onCrash?: () => void): void {
    if (downMs !== undefined && !this.stores.has(name))
      throw new Error(`member ${name} has no store (ClusterOptions.persist)`);
    this.sim.crashAfterInputs(name, inputs, () => {
      onCrash?.();
      if (downMs === undefined) {
        this.bury(name);
        return;
      }
      this.members.get(name)?.stop();
      const restartAt = this.sim.now + downMs;
      this.sim.restart(name, restartAt);
      this.restoreAt(name, restartAt);
    });
  }

  /**
   * Crashes a member for good at `at`: its node never comes back. It leaves {@link members} (so
   * `settled()` and the chat checks are about the live members; its received chats stay logged) and
   * joins {@link dead}. Nobody removes it from the group's roster: that takes a vote of the members.
   */
  kill(name: string, at: number): void {
    this.sim.at(at, () => {
      this.bury(name);
      this.sim.crash(name);
    });
  }

  private bury(name: string): void {
    this.retire(name);
    this.dead.add(name);
  }

  /** Starts a member again from its store one millisecond after its node restarts at `restartAt`. */
  private restoreAt(name: string, restartAt: number): void {
    // One millisecond later, so the node is up again and hands out the new incarnation's transport.
    this.sim.at(restartAt + 1, async () => {
      const m = await Member.restore({ ...this.optionsOf(name), store: this.stores.get(name)! });
      this.members.set(name, m);
      m.start();
    });
  }
}
