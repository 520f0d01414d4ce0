// Hard reset (DESIGN section 7): with no majority state, the members vote a reset on the sync channel, a
// deterministically chosen operator recreates the group from the voters' KeyPackages and the KeyPackage
// store, and everyone joins the new group, whose id is derived from the old one. Part of the sync core.
import { sha256 } from "@noble/hashes/sha2.js";
import { decide } from "../group/consensus.ts";
import type { GroupEffect, GroupMember } from "../group/member.ts";
import {
  createGroup,
  generateKeyPackages,
  joinFromWelcome,
  type KeyPackageBundle,
  commit as mlsCommit,
  readKeyPackage,
  rosterMember,
  sign,
  verify,
} from "../mls/index.ts";
import type { Rng } from "../net/transport.ts";
import { bytesEqual, compareBytes, concatBytes, fromHex, toHex, u64be } from "../util/bytes.ts";
import { DemlsError } from "../util/errors.ts";
import type { Verdict } from "./classify.ts";
import type { SyncEffect, SyncParams, SyncState } from "./core.ts";
import { type ResetProposal, type ResetVote, resetBody, resetVoteBody, type SyncPayload } from "./wire.ts";

/** One reset proposal as a member tracks it (part of `SyncState`, persisted with it). */
export interface ResetRound {
  readonly proposal: ResetProposal;
  readonly id: Uint8Array;
  readonly startedAt: number;
  readonly votes: Map<string, { yes: boolean; keyPackage?: Uint8Array }>;
  myKeyPackages: KeyPackageBundle[];
  decidedAt?: number;
  done: boolean;
  /** Operator (hex id) of the new group we are in; a better-ranked operator's Welcome replaces it. */
  joinedVia?: string;
  /**
   * As operator: our Welcome and the old group's sync key it goes under, repeated while a member of the
   * new roster has not been heard in the new group (its Welcome may have been lost), at most
   * `repeatsLeft` more times; the next is due at `repeatAt`.
   */
  repeat?: { welcome: Uint8Array; key: Uint8Array; repeatsLeft: number; repeatAt: number | undefined };
}

/**
 * Repeats of a reset Welcome an operator may send. The Welcome goes once over a lossy channel; without
 * repeats a member that lost it stays in the old group until its own fail-over turn and then builds a
 * group of its own that nobody joins (20% loss: 2 of 10 members left alone in 3 of 3 seeds).
 */
export const RESET_WELCOME_REPEATS = 6;

/** The id of the group a reset creates: SHA-256(old group id ‖ counter). Members check it on join. */
export function resetGroupId(oldGroupId: Uint8Array, counter: bigint): Uint8Array {
  return sha256(concatBytes(oldGroupId, u64be(counter))).subarray(0, 16);
}

/** What the reset logic needs of the sync core it belongs to. */
export interface ResetHost {
  readonly member: GroupMember;
  readonly state: SyncState;
  readonly params: SyncParams;
  /** Seals a payload for the sync channel, under the current sync key or `key`. */
  publish(payload: SyncPayload, key?: Uint8Array): SyncEffect;
  /** Counts a rejected input. */
  count(code: string): void;
  /** Announces the new state (gossip) after joining the new group. */
  onGroupEffects(effects: readonly GroupEffect[], now: number): Promise<SyncEffect[]>;
}

/** The reset rounds of one member. */
export class HardReset {
  private readonly host: ResetHost;
  private readonly rng: Rng;

  constructor(host: ResetHost, rng: Rng) {
    this.host = host;
    this.rng = rng;
  }

  private get member(): GroupMember {
    return this.host.member;
  }

  private get state(): SyncState {
    return this.host.state;
  }

  private get params(): SyncParams {
    return this.host.params;
  }

  private publish(payload: SyncPayload, key?: Uint8Array): SyncEffect {
    return this.host.publish(payload, key);
  }

  private drop(code: string): SyncEffect[] {
    this.host.count(code);
    return [];
  }

  /** When the running round next has something to do (vote close, an operator's turn). */
  nextWake(): number {
    const r = this.state.reset;
    if (!r) return Number.POSITIVE_INFINITY;
    if (r.done) return r.repeat?.repeatAt ?? Number.POSITIVE_INFINITY;
    const closes = r.startedAt + this.params.resetVoteTimeoutMs;
    const turns =
      r.decidedAt === undefined
        ? 0
        : Math.max(0, Math.floor((r.decidedAt - closes) / this.params.resetOperatorTimeoutMs) + 1);
    return closes + turns * this.params.resetOperatorTimeoutMs;
  }

  /** HARD persisted for `W_hard`: propose a reset of the group (and vote on it ourselves). */
  async propose(v: Verdict, now: number): Promise<SyncEffect[]> {
    const g = this.member.group!;
    const counter = this.state.resetCounter + 1n;
    const proposal: ResetProposal = {
      oldGroupId: g.groupId,
      counter,
      proposer: this.member.memberId,
      roster: [...new Set(v.states.flatMap((s) => s.members))].sort().map(fromHex),
    };
    const signed = { ...proposal, signature: await sign(this.member.identity, "reset", resetBody(proposal)) };
    const out: SyncEffect[] = [this.publish({ reset: signed })];
    out.push(...(await this.onProposal(signed, now)));
    return out;
  }

  /** A reset proposal: vote YES unless we are in sync with a majority; our vote carries a fresh KeyPackage. */
  async onProposal(p: ResetProposal, now: number): Promise<SyncEffect[]> {
    const g = this.member.group;
    if (!g || !p.oldGroupId || !p.proposer || !p.signature || p.counter === undefined)
      return this.drop("MALFORMED");
    if (!bytesEqual(p.oldGroupId, g.groupId)) return [];
    const key = this.state.directory.get(toHex(p.proposer));
    if (key === undefined) return this.drop("UNKNOWN_MEMBER");
    if (!(await verify(key, "reset", resetBody(p), p.signature))) return this.drop("INVALID_SIGNATURE");
    const id = resetGroupId(p.oldGroupId, p.counter);
    if (this.state.reset && bytesEqual(this.state.reset.id, id)) return [];
    if (this.state.reset && !this.state.reset.done) return [];
    // Vote YES unless we are in sync with a majority ourselves; attach a fresh KeyPackage for the group.
    const yes = this.state.status !== "IN_SYNC";
    const kps = await generateKeyPackages(this.member.identity, 1);
    this.state.reset = { proposal: p, id, startedAt: now, votes: new Map(), myKeyPackages: kps, done: false };
    const vote: ResetVote = {
      proposalId: id,
      voter: this.member.memberId,
      yes,
      keyPackage: kps[0]!.publicBytes,
    };
    const signed = {
      ...vote,
      signature: await sign(this.member.identity, "reset-vote", resetVoteBody(vote)),
    };
    this.state.reset.votes.set(toHex(this.member.memberId), { yes, keyPackage: kps[0]!.publicBytes });
    return [this.publish({ resetVote: signed })];
  }

  async onVote(v: ResetVote, now: number): Promise<SyncEffect[]> {
    const r = this.state.reset;
    if (!v.proposalId || !v.voter || !v.signature) return this.drop("MALFORMED");
    if (!r || !bytesEqual(r.id, v.proposalId)) return [];
    const who = toHex(v.voter);
    const key = this.state.directory.get(who);
    if (key === undefined) return this.drop("UNKNOWN_MEMBER");
    if (!(await verify(key, "reset-vote", resetVoteBody(v), v.signature)))
      return this.drop("INVALID_SIGNATURE");
    if (r.votes.has(who)) return this.drop("DOUBLE_VOTE");
    if (v.keyPackage) {
      const kp = await readKeyPackage(v.keyPackage).catch(() => undefined);
      if (!kp || !bytesEqual(kp.memberId, v.voter)) return this.drop("BAD_KEY_PACKAGE");
    }
    r.votes.set(who, { yes: v.yes ?? false, ...(v.keyPackage ? { keyPackage: v.keyPackage } : {}) });
    return this.tick(now);
  }

  /**
   * YES voters ordered by SHA-256(member id ‖ proposal id): the first is the operator, then fail-over.
   * Asked on every tick after the vote closes; recomputed only when a vote arrived since (derived, not
   * state). Hashing inside the sort comparator cost 20,000 hashes per tick at 1000 voters, on every member.
   */
  private operators(r: ResetRound): string[] {
    const c = this.operatorsCache;
    if (c !== undefined && c.round === r && c.votes === r.votes.size) return c.ops;
    const ops = [...r.votes]
      .filter(([, v]) => v.yes)
      .map(([w]) => ({ w, rank: this.rank(w, r) }))
      .sort((a, b) => compareBytes(a.rank, b.rank))
      .map((x) => x.w);
    this.operatorsCache = { round: r, votes: r.votes.size, ops };
    return ops;
  }

  private operatorsCache: { round: ResetRound; votes: number; ops: string[] } | undefined;

  private rank(who: string, r: ResetRound): Uint8Array {
    return sha256(concatBytes(fromHex(who), r.id));
  }

  /** The decision and, once the vote window closed, the operator's turn (with fail-over). */
  async tick(now: number): Promise<SyncEffect[]> {
    const r = this.state.reset;
    if (!r) return [];
    if (r.done) return this.repeatWelcome(r, now);
    if (r.decidedAt === undefined) {
      const n = r.proposal.roster.length;
      const yes = [...r.votes.values()].filter((v) => v.yes).length;
      const d = decide(
        n,
        yes,
        r.votes.size - yes,
        now >= r.startedAt + this.params.resetVoteTimeoutMs,
        false,
      );
      if (d === "PENDING") return [];
      if (d === "NO") {
        r.done = true;
        return [];
      }
      r.decidedAt = now;
    }
    // The operator acts once the vote window has closed, so every member ranks the same YES set.
    const closesAt = r.startedAt + this.params.resetVoteTimeoutMs;
    if (now < closesAt) return [];
    const ops = this.operators(r);
    const turn = Math.floor((now - closesAt) / this.params.resetOperatorTimeoutMs);
    const me = toHex(this.member.memberId);
    if (ops[turn % Math.max(1, ops.length)] !== me || r.done) return [];
    return this.operate(r, now);
  }

  /**
   * As operator: a new group with every voter, from the KeyPackages their votes carry, and every other
   * member of the last common roster from the KeyPackage store (its last-resort KeyPackage: competing
   * operators may both use it).
   */
  private async operate(r: ResetRound, now: number): Promise<SyncEffect[]> {
    const old = this.member.group!;
    const me = toHex(this.member.memberId);
    const [mine] = await generateKeyPackages(this.member.identity, 1);
    let group = await createGroup(this.member.identity, r.id, mine!);
    // Everyone who voted comes along (a NO voter is bound by the decision too): no member is orphaned.
    const adds = [...r.votes].filter(([w, v]) => w !== me && v.keyPackage).map(([, v]) => v.keyPackage!);
    for (const id of r.proposal.roster.map(toHex)) {
      if (id === me || r.votes.get(id)?.keyPackage) continue;
      const stored = this.member.keyPackageSet(id);
      if (stored) adds.push(stored.lastResort);
    }
    const built = await mlsCommit(group, { adds });
    group = built.group;
    r.done = true;
    r.joinedVia = me;
    this.state.resetCounter = r.proposal.counter!;
    const out: SyncEffect[] = [];
    const key = this.member.state.syncKey?.key;
    if (built.welcome && key) {
      out.push(this.publish(this.welcomePayload(r, built.welcome), key));
      r.repeat = {
        welcome: built.welcome,
        key,
        repeatsLeft: RESET_WELCOME_REPEATS,
        repeatAt: now + this.repeatIntervalMs(),
      };
    }
    out.push(...(await this.afterReset(group, old.groupId, now)));
    return out;
  }

  private welcomePayload(r: ResetRound, welcome: Uint8Array): SyncPayload {
    return { resetWelcome: { proposalId: r.id, operator: this.member.memberId, welcome } };
  }

  private repeatIntervalMs(): number {
    return this.params.resetOperatorTimeoutMs / 3;
  }

  /**
   * As operator of the group we are in: our Welcome again, while some member of its roster has not been
   * heard in it (members that joined gossip at once), within the repeat budget.
   */
  private repeatWelcome(r: ResetRound, now: number): SyncEffect[] {
    const rep = r.repeat;
    if (rep?.repeatAt === undefined || now < rep.repeatAt) return [];
    // Left out of a better-ranked operator's group, we became its joiner: ours is abandoned.
    const g = this.member.group;
    if (g === undefined) {
      r.repeat = undefined;
      return [];
    }
    const gid = toHex(g.groupId);
    const me = toHex(this.member.memberId);
    const unheard = this.member
      .rosterIds()
      .map(toHex)
      .some((id) => id !== me && this.state.views.get(id)?.groupId !== gid);
    if (!unheard || rep.repeatsLeft <= 0) {
      rep.repeatAt = undefined;
      return [];
    }
    rep.repeatsLeft--;
    rep.repeatAt = rep.repeatsLeft > 0 ? now + this.repeatIntervalMs() : undefined;
    this.host.count("RESET_WELCOME_REPEATED");
    return [this.publish(this.welcomePayload(r, rep.welcome), rep.key)];
  }

  async onWelcome(
    w: { proposalId?: Uint8Array; welcome?: Uint8Array; operator?: Uint8Array },
    now: number,
  ): Promise<SyncEffect[]> {
    const r = this.state.reset;
    if (!r || !w.proposalId || !w.welcome || !w.operator || !bytesEqual(w.proposalId, r.id)) return [];

    const op = toHex(w.operator);
    if (!r.proposal.roster.some((m) => toHex(m) === op)) return this.drop("RESET_UNKNOWN_OPERATOR");
    // Two operators that ranked different YES sets both built a group: everyone settles on the one whose
    // operator ranks first. A member that tallied NO (it saw other votes than the operator did) joins too:
    // the group exists, and staying behind would leave it alone in the old one.
    if (r.joinedVia !== undefined && compareBytes(this.rank(op, r), this.rank(r.joinedVia, r)) >= 0) {
      // A worse-ranked operator built a group: it missed ours. As our group's operator, repeat our Welcome
      // soon (within the budget: the operator field is not signed, so forged ones can at most spend it).
      const rep = r.repeat;
      if (rep && rep.repeatsLeft > 0 && op !== r.joinedVia)
        rep.repeatAt = Math.min(
          rep.repeatAt ?? Number.POSITIVE_INFINITY,
          now + this.params.responseDelayMs * this.rng.next(),
        );
      return [];
    }
    // Not included by a reset we saw decided, we became a joiner of the new group: that path adds us.
    const old = this.member.group;
    if (old === undefined) return [];
    let joined: Awaited<ReturnType<typeof joinFromWelcome>>;
    try {
      // Our vote's KeyPackage, or (when the operator used the store) one of our published sets.
      joined = await joinFromWelcome(this.member.identity, w.welcome, [
        ...r.myKeyPackages,
        ...this.member.keyPackages,
      ]);
    } catch (e) {
      if (!(e instanceof DemlsError)) throw e;
      if (e.code === "NO_MATCHING_KEY_PACKAGE") {
        // The operator did not have our vote: join the new group the ordinary way.
        r.done = true;
        this.state.resetCounter = r.proposal.counter!;
        this.member.becomeJoiner(
          await generateKeyPackages(this.member.identity, 2, { lastResort: true }),
          now,
        );
        this.state.views.clear();
        this.state.lastSeq.clear();
      }
      return this.drop(`RESET_${e.code}`);
    }
    // The link to the old group: the new group id must be the one the voted proposal derives.
    if (!bytesEqual(joined.group.groupId, resetGroupId(r.proposal.oldGroupId!, r.proposal.counter!)))
      return this.drop("RESET_LINK_MISMATCH");
    // The operator is who created it (leaf 0): a member cannot pass its own group off as a better one.
    if (rosterMember(joined.group, w.operator)?.leafIndex !== 0) return this.drop("RESET_NOT_OPERATOR");
    r.done = true;
    r.joinedVia = op;
    r.repeat = undefined;
    this.state.resetCounter = r.proposal.counter!;
    return this.afterReset(joined.group, old.groupId, now);
  }

  private async afterReset(group: MlsGroupLike, oldGroupId: Uint8Array, now: number): Promise<SyncEffect[]> {
    const out: SyncEffect[] = [];
    out.push(...(await this.member.startGroup(group, now)));
    this.state.views.clear();
    this.state.lastSeq.clear();
    out.push({ type: "reset", groupId: group.groupId, operator: oldGroupId });
    out.push({ type: "recovered", how: "reset", epochs: 0 });
    out.push(...(await this.member.resendAbandoned(now, true)));
    out.push(...(await this.host.onGroupEffects([{ type: "joined", epoch: group.epoch }], now)));
    return out;
  }
}

type MlsGroupLike = NonNullable<GroupMember["group"]>;
