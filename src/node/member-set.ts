// What every group of member processes shares, on the simulator or on libp2p: member options, the chat
// log that delivery checks read, and views of the members' states.
import type { GroupParams } from "../group/params.ts";
import { SIMULATION_VOTE_POLICY, type VotePolicy } from "../group/vote-policy.ts";
import {
  commit,
  createGroup,
  createIdentity,
  generateKeyPackages,
  type Identity,
  joinFromWelcome,
  type KeyPackageBundle,
  type MlsGroup,
} from "../mls/index.ts";
import type { Clock, Rng, Transport } from "../net/transport.ts";
import type { KeyPackageService } from "../store/keypackage-service.ts";
import type { MemberStore } from "../store/sqlite.ts";
import type { SyncEffect } from "../sync/effects.ts";
import type { SyncParams } from "../sync/params.ts";
import { toHex, utf8 } from "../util/bytes.ts";
import { Member, type MemberOptions } from "./member.ts";

/** Chats as each member saw them: sender name + body text. */
export interface ChatLog {
  /** body → sender, time, and the members (in a group at that time) expected to receive it. */
  readonly sent: Map<string, { from: string; at: number; to: string[] }>;
  /** member name → chat bodies received, in order. */
  readonly received: Map<string, string[]>;
}

/** Options every member of a set shares. */
export interface MemberSetOptions {
  readonly conversation?: string;
  readonly groupParams?: GroupParams;
  readonly syncParams?: SyncParams;
  /**
   * How members vote, over `SIMULATION_VOTE_POLICY` (joiners and former members are added with no
   * application voting; removals still wait for `Member.vote`).
   */
  readonly votePolicy?: Partial<VotePolicy>;
  /** A storage service every member backs its KeyPackage store with. */
  readonly keyPackageService?: KeyPackageService;
  readonly onEvent?: (e: SyncEffect, m: Member) => void;
}

/**
 * The states of a group of `n` members (m0..m(n-1)) that m0 set up in one MLS commit, no votes: the start
 * of large groups for benchmarks (n join rounds, each voted by the whole group, would dominate a run that
 * is about recovery). Yields each member's identity, group state and spare KeyPackages, m0 first.
 */
export async function* oneCommitGroup(
  n: number,
  conversation = "demo",
): AsyncGenerator<{ name: string; identity: Identity; group: MlsGroup; keyPackages: KeyPackageBundle[] }> {
  // One after another: concurrent key generation would draw from the seeded randomness in the order the
  // thread pool finishes WebCrypto calls, and a simulated run would not replay.
  const ids: Identity[] = [];
  const kps: KeyPackageBundle[][] = [];
  for (let i = 0; i < n; i++) {
    ids.push(await createIdentity(`m${i}`));
    kps.push(await generateKeyPackages(ids[i]!, 1, { lastResort: true }));
  }
  const created = await createGroup(ids[0]!, utf8(`${conversation}/0`), kps[0]![0]!);
  const built = await commit(created, { adds: kps.slice(1).map((k) => k[0]!.publicBytes) });
  for (let i = 0; i < n; i++) {
    const group = i === 0 ? built.group : (await joinFromWelcome(ids[i]!, built.welcome!, kps[i]!)).group;
    yield { name: `m${i}`, identity: ids[i]!, group, keyPackages: kps[i]!.slice(1) };
  }
}

/** Members of one conversation, started and tracked together. */
export abstract class MemberSet {
  readonly members = new Map<string, Member>();
  readonly chats: ChatLog = { sent: new Map(), received: new Map() };
  /**
   * Every fault of a member, in order: a step of it threw (counted and reported by the member, which went
   * on). A run where no peer input can make a member throw keeps this empty.
   */
  readonly faults: { readonly member: string; readonly code: string; readonly detail: string }[] = [];
  protected readonly base: MemberSetOptions;

  constructor(base: MemberSetOptions) {
    this.base = base;
  }

  /** Current time of the set's clock. */
  abstract get now(): number;

  /** Options for a member on `transport`; records its chats. */
  protected memberOptions(
    name: string,
    net: { transport: Transport; clock: Clock; rng: Rng },
    store?: MemberStore,
  ): MemberOptions {
    const b = this.base;
    return {
      name,
      conversation: b.conversation ?? "demo",
      ...net,
      ...(b.groupParams ? { groupParams: b.groupParams } : {}),
      ...(b.syncParams ? { syncParams: b.syncParams } : {}),
      votePolicy: { ...SIMULATION_VOTE_POLICY, ...b.votePolicy },
      ...(store ? { store } : {}),
      ...(b.keyPackageService ? { keyPackageService: b.keyPackageService } : {}),
      onEvent: (e: SyncEffect, m: Member) => {
        this.watchDetection(e, m.name);
        if (e.type === "chat") {
          const list = this.chats.received.get(m.name) ?? [];
          list.push(new TextDecoder().decode(e.body));
          this.chats.received.set(m.name, list);
        }
        if (e.type === "fault") this.faults.push({ member: m.name, code: e.code, detail: e.detail });
        b.onEvent?.(e, m);
      },
    };
  }

  /** Since the last {@link markHealed}: members out of sync then that have not shown they know it yet. */
  private healWatch: { at: number; unaware: Set<string>; detectedMs: number } | undefined;

  /**
   * Call when a partition heals. Every member outside the majority state (every member, when no state has
   * more than half) is out of sync; {@link detectionMs} then tells when the last of them knew.
   */
  markHealed(): void {
    const states = [...this.distinctStates().values()].sort((a, b) => b.length - a.length);
    const total = states.reduce((a, s) => a + s.length, 0);
    // A majority member a lost commit left one epoch behind is out of sync; the rest of the majority is not.
    const outOfSync = (states[0]?.length ?? 0) * 2 > total ? states.slice(1).flat() : states.flat();
    this.healWatch = { at: this.now, unaware: new Set(outOfSync), detectedMs: 0 };
  }

  /**
   * Heal → every out-of-sync member knows its status (docs/benchmarks.md): a member knows once it takes a
   * verdict other than UNKNOWN, or once it moves to another epoch (it caught up on commits before its
   * classification ran). Null while one of them does not know yet.
   */
  detectionMs(): number | null {
    const h = this.healWatch;
    return h === undefined || h.unaware.size > 0 ? null : h.detectedMs;
  }

  private watchDetection(e: SyncEffect, name: string): void {
    const h = this.healWatch;
    const knows = (e.type === "status" && e.status !== "UNKNOWN") || e.type === "epoch";
    if (h === undefined || !knows || !h.unaware.delete(name)) return;
    h.detectedMs = Math.max(h.detectedMs, this.now - h.at);
  }

  /** Creates and starts a member. */
  protected async start(opts: MemberOptions, role: "creator" | "joiner"): Promise<Member> {
    const m = await Member.create({ ...opts, role });
    this.members.set(opts.name, m);
    m.start();
    return m;
  }

  /** Sends a chat and records it for the delivery check. */
  async chat(name: string, text: string): Promise<string> {
    // Its audience is its sender's roster at the time (MLS: nobody else can read it), of members in a group.
    const roster = new Set(this.members.get(name)!.roster());
    const to = [...this.members.values()]
      .filter((m) => m.name !== name && m.group.group && roster.has(m.name))
      .map((m) => m.name);
    const at = this.now;
    const id = await this.members.get(name)!.sendChat(text);
    this.chats.sent.set(text, { from: name, at, to });
    return id;
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

  /** One state, every member IN_SYNC, every chat delivered: what a recovered group looks like. */
  settled(): boolean {
    return (
      this.distinctStates().size === 1 &&
      [...this.members.values()].every((m) => m.sync.state.status === "IN_SYNC") &&
      this.missingChats().size === 0
    );
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

  /** `summary()` as JSON (bigints as strings), for error messages. */
  protected describe(): string {
    return JSON.stringify(this.summary(), (_, v) => (typeof v === "bigint" ? `${v}` : v));
  }
}
