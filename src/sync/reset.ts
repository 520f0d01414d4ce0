// Hard reset (DESIGN section 7): with no majority state, the members vote a reset on the sync channel, a
// deterministically chosen operator recreates the group from the voters' KeyPackages and the KeyPackage
// store, and everyone joins the new group, whose id is derived from the old one. Part of the sync core.
//
// Every reset of one group makes the same group id, and its sync key is chained from the old group's
// (docs/decisions.md, "Reset lineage"): groups that competing operators build, in one attempt or in
// several, can read each other and merge like any fork, and a member left in the old group can read the
// new one and follow it.
import { sha256 } from "@noble/hashes/sha2.js";
import { decide } from "../group/consensus.ts";
import type { GroupEffect } from "../group/effects.ts";
import type { GroupMember } from "../group/member.ts";
import { chainSyncKey } from "../group/sync-key.ts";
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
import { bytesEqual, compareBytes, concatBytes, fromHex, toHex, u64be, utf8 } from "../util/bytes.ts";
import { DemlsError } from "../util/errors.ts";
import type { Verdict } from "./classify.ts";
import type { SyncEffect, SyncParams, SyncState } from "./core.ts";
import { type ResetProposal, type ResetVote, resetBody, resetVoteBody, type SyncPayload } from "./wire.ts";

/** One reset proposal as a member tracks it (part of `SyncState`, persisted with it). */
export interface ResetRound {
  readonly proposal: ResetProposal;
  /** The vote's id: SHA-256(old group id ‖ attempt). */
  readonly id: Uint8Array;
  /** The group the reset makes ({@link resetGroupId}); every attempt and operator makes this id. */
  readonly groupId: Uint8Array;
  /** The old group's sync key when the round began: the new group's key is chained from it. */
  readonly parentKey: Uint8Array;
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
   * `repeatsLeft` more times, and whenever a roster member is heard in another group; the next is due at
   * `repeatAt`.
   */
  repeat?: {
    welcome: Uint8Array;
    key: Uint8Array;
    repeatsLeft: number;
    repeatAt: number | undefined;
    lastAt: number;
    /** A roster member was heard in another group since the last repeat: repeat beyond the budget. */
    asked: boolean;
  };
}

/**
 * Repeats of a reset Welcome an operator sends on its own timer. The Welcome goes once over a lossy
 * channel; without repeats a member that lost it stays in the old group until its own fail-over turn and
 * then builds a group of its own that nobody joins (20% loss: 2 of 10 members left alone in 3 of 3 seeds).
 * Beyond these, a repeat goes only to a member heard in another group.
 */
export const RESET_WELCOME_REPEATS = 6;

/** KeyPackages of our votes kept over the attempts of one reset (any attempt's operator may use its own). */
const RESET_KEY_PACKAGES_KEPT = 8;

/** Lineage levels below our group whose keys a member derives, to read members that moved on. */
export const LINEAGE_DEPTH = 3;

/** The id of the group a reset of `oldGroupId` makes: SHA-256("demls/reset" ‖ old id)[0..16]. */
export function resetGroupId(oldGroupId: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8("demls/reset"), oldGroupId)).subarray(0, 16);
}

/** The id of a reset vote: SHA-256(old group id ‖ attempt). */
export function resetProposalId(oldGroupId: Uint8Array, attempt: bigint): Uint8Array {
  return sha256(concatBytes(oldGroupId, u64be(attempt)));
}

/** One group a chain of resets below ours makes, with its sync key and the key that one is chained from. */
export interface LineageGroup {
  readonly groupId: Uint8Array;
  readonly key: Uint8Array;
  readonly parentKey: Uint8Array;
}

/** The next `depth` groups of the reset lineage below `groupId`, whose sync key is `key`. */
export function lineage(groupId: Uint8Array, key: Uint8Array, depth = LINEAGE_DEPTH): LineageGroup[] {
  const out: LineageGroup[] = [];
  for (let i = 0, id = groupId, k = key; i < depth; i++) {
    const child = resetGroupId(id);
    const childKey = chainSyncKey(k, child);
    out.push({ groupId: child, key: childKey, parentKey: k });
    id = child;
    k = childKey;
  }
  return out;
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
  /**
   * `groupId` is a group of our lineage that our roster has moved to (we were left behind): the key its
   * key is chained from. Undefined otherwise.
   */
  leftBehindFor(groupId: Uint8Array): LineageGroup | undefined;
  /** Leaves our group and asks the group `groupId` to add us. */
  rejoin(now: number, groupId: Uint8Array): Promise<SyncEffect[]>;
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

  /** When the running round next has something to do (vote close, an operator's turn, a repeat). */
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

  /**
   * Whether a lasting HARD may start a round: none about our group yet, or the last one is over (decided
   * NO, or decided YES and never delivered) and we are still in that group.
   */
  mayPropose(): boolean {
    const r = this.state.reset;
    const g = this.member.group;
    return g !== undefined && (r === undefined || r.done || !bytesEqual(r.proposal.oldGroupId!, g.groupId));
  }

  /** HARD persisted for `W_hard`: propose a reset of the group (and vote on it ourselves). */
  async propose(v: Verdict, now: number): Promise<SyncEffect[]> {
    const g = this.member.group!;
    const r = this.state.reset;
    const attempt = r && bytesEqual(r.proposal.oldGroupId!, g.groupId) ? r.proposal.attempt! + 1n : 0n;
    const proposal: ResetProposal = {
      oldGroupId: g.groupId,
      attempt,
      proposer: this.member.memberId,
      roster: [...new Set(v.states.flatMap((s) => s.members))].sort().map(fromHex),
    };
    const signed = { ...proposal, signature: await sign(this.member.identity, "reset", resetBody(proposal)) };
    const out: SyncEffect[] = [this.publish({ reset: signed })];
    out.push(...(await this.onProposal(signed, now)));
    return out;
  }

  /**
   * A reset proposal for our group: vote YES unless we are in sync with a majority; our vote carries a
   * fresh KeyPackage. A later attempt replaces an earlier one.
   */
  async onProposal(p: ResetProposal, now: number): Promise<SyncEffect[]> {
    const g = this.member.group;
    if (!g) return [];
    if (!p.oldGroupId || !p.proposer || !p.signature || p.attempt === undefined)
      return this.drop("MALFORMED");
    if (!bytesEqual(p.oldGroupId, g.groupId)) return [];
    const key = this.state.directory.get(toHex(p.proposer));
    if (key === undefined) return this.drop("UNKNOWN_MEMBER");
    if (!(await verify(key, "reset", resetBody(p), p.signature))) return this.drop("INVALID_SIGNATURE");
    // The roster sets how many votes decide: only known members, and more than half of our group's
    // (a member proposing a reset among itself alone would decide it with its own vote).
    const members = new Set(this.member.rosterIds().map(toHex));
    const roster = new Set(p.roster.map(toHex));
    if (roster.size * 2 <= members.size || [...roster].some((m) => !this.state.directory.has(m)))
      return this.drop("RESET_BAD_ROSTER");
    const r = this.state.reset;
    if (r && bytesEqual(r.proposal.oldGroupId!, g.groupId) && p.attempt <= r.proposal.attempt!) return [];
    const parentKey = this.member.state.syncKey?.key;
    if (parentKey === undefined) return this.drop("NO_SYNC_KEY");
    const id = resetProposalId(p.oldGroupId, p.attempt);
    const yes = this.state.status !== "IN_SYNC";
    const kps = await generateKeyPackages(this.member.identity, 1);
    // An earlier attempt's operator may have built its group from our vote there: keep those KeyPackages.
    const earlier = r && bytesEqual(r.proposal.oldGroupId!, g.groupId) ? r.myKeyPackages : [];
    this.state.reset = {
      proposal: p,
      id,
      groupId: resetGroupId(p.oldGroupId),
      parentKey,
      startedAt: now,
      votes: new Map(),
      myKeyPackages: [...kps, ...earlier].slice(0, RESET_KEY_PACKAGES_KEPT),
      done: false,
    };
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
   * YES voters ordered by SHA-256(member id ‖ new group id): the first is the operator, then fail-over.
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

  /** An operator's rank: the same in every attempt, so competing groups of one id settle on one. */
  private rank(who: string, r: ResetRound): Uint8Array {
    return sha256(concatBytes(fromHex(who), r.groupId));
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
    // Every operator's turn passed and no Welcome reached us: the round failed here, and a lasting HARD
    // may try again (the groups it makes have the same id as any that did get built).
    if (turn > ops.length) {
      r.done = true;
      this.host.count("RESET_UNDELIVERED");
      return [];
    }
    const me = toHex(this.member.memberId);
    // Not in a group any more (we asked to be added to one): there is nothing of ours to reset.
    if (ops[turn % Math.max(1, ops.length)] !== me || this.member.group === undefined) return [];
    return this.operate(r, now);
  }

  /**
   * As operator: a new group with every voter, from the KeyPackages their votes carry, and every other
   * member of the proposal's roster and of our group from the KeyPackage store (its last-resort
   * KeyPackage: competing operators may both use it).
   */
  private async operate(r: ResetRound, now: number): Promise<SyncEffect[]> {
    const old = this.member.group!;
    const me = toHex(this.member.memberId);
    const [mine] = await generateKeyPackages(this.member.identity, 1);
    let group = await createGroup(this.member.identity, r.groupId, mine!);
    // Everyone who voted comes along (a NO voter is bound by the decision too): no member is orphaned.
    const adds = [...r.votes].filter(([w, v]) => w !== me && v.keyPackage).map(([, v]) => v.keyPackage!);
    const others = new Set([...r.proposal.roster.map(toHex), ...this.member.rosterIds().map(toHex)]);
    for (const id of others) {
      if (id === me || r.votes.get(id)?.keyPackage) continue;
      const stored = this.member.keyPackageSet(id);
      if (stored) adds.push(stored.lastResort);
    }
    const built = await mlsCommit(group, { adds });
    group = built.group;
    r.done = true;
    r.joinedVia = me;
    const out: SyncEffect[] = [];
    const key = this.member.state.syncKey?.key ?? r.parentKey;
    if (built.welcome) {
      out.push(this.publish(this.welcomePayload(r, built.welcome), key));
      r.repeat = {
        welcome: built.welcome,
        key,
        repeatsLeft: RESET_WELCOME_REPEATS,
        repeatAt: now + this.repeatIntervalMs(),
        lastAt: now,
        asked: false,
      };
    }
    out.push(...(await this.afterReset(group, old.groupId, r.parentKey, now)));
    return out;
  }

  private welcomePayload(r: ResetRound, welcome: Uint8Array): SyncPayload {
    return {
      resetWelcome: { proposalId: r.id, operator: this.member.memberId, welcome, groupId: r.groupId },
    };
  }

  private repeatIntervalMs(): number {
    return this.params.resetOperatorTimeoutMs / 3;
  }

  /**
   * A roster member is heard in another group than ours: as the operator of ours, repeat our Welcome to
   * it soon, beyond the timer's budget (at most once per repeat interval; views are signed and fresh, so
   * only a member really elsewhere asks).
   */
  onForeignView(who: string, now: number): void {
    const r = this.state.reset;
    const rep = r?.repeat;
    const g = this.member.group;
    if (!r || !rep || !g || !bytesEqual(g.groupId, r.groupId)) return;
    if (!this.member.rosterIds().some((id) => toHex(id) === who)) return;
    rep.asked = true;
    const at = Math.max(
      now + this.params.responseDelayMs * this.rng.next(),
      rep.lastAt + this.repeatIntervalMs(),
    );
    rep.repeatAt = Math.min(rep.repeatAt ?? Number.POSITIVE_INFINITY, at);
  }

  /**
   * As operator of the group we are in: our Welcome again, while some member of its roster has not been
   * heard in it (members that joined gossip at once), within the repeat budget, or when one was heard
   * elsewhere.
   */
  private repeatWelcome(r: ResetRound, now: number): SyncEffect[] {
    const rep = r.repeat;
    if (rep?.repeatAt === undefined || now < rep.repeatAt) return [];
    // Left out of a better-ranked operator's group, we became its joiner: ours is abandoned.
    const g = this.member.group;
    if (g === undefined || !bytesEqual(g.groupId, r.groupId)) {
      r.repeat = undefined;
      return [];
    }
    const gid = toHex(g.groupId);
    const me = toHex(this.member.memberId);
    const unheard = this.member
      .rosterIds()
      .map(toHex)
      .some((id) => id !== me && this.state.views.get(id)?.groupId !== gid);
    if (!unheard || (rep.repeatsLeft <= 0 && !rep.asked)) {
      rep.repeatAt = undefined;
      return [];
    }
    if (!rep.asked) rep.repeatsLeft--;
    rep.asked = false;
    rep.lastAt = now;
    rep.repeatAt = rep.repeatsLeft > 0 ? now + this.repeatIntervalMs() : undefined;
    this.host.count("RESET_WELCOME_REPEATED");
    return [this.publish(this.welcomePayload(r, rep.welcome), rep.key)];
  }

  async onWelcome(
    w: { proposalId?: Uint8Array; welcome?: Uint8Array; operator?: Uint8Array; groupId?: Uint8Array },
    now: number,
  ): Promise<SyncEffect[]> {
    const old = this.member.group;
    if (!w.welcome || !w.operator || !w.groupId || old === undefined) return [];
    const op = toHex(w.operator);
    let r = this.state.reset;
    // Already in that group: only a better operator's group, while ours is still at its first epoch,
    // replaces the one a Welcome brought us to. Once it moved on (or we came in as a joiner), any other
    // group of the id is a fork like any other (an old Welcome took a member that had just been added
    // back to the group's first epoch: chaos seed 2198).
    if (bytesEqual(old.groupId, w.groupId) && (r?.joinedVia === undefined || old.epoch > 1n)) return [];
    // A Welcome of our round's group (any attempt's operator), or of a group our roster moved to while we
    // were away (we may have seen no round at all).
    const ours = r !== undefined && bytesEqual(w.groupId, r.groupId);
    const behind = ours ? undefined : this.host.leftBehindFor(w.groupId);
    if (!ours && behind === undefined) return [];
    const known = ours
      ? r!.proposal.roster.some((m) => toHex(m) === op) ||
        this.member.rosterIds().some((m) => toHex(m) === op)
      : this.state.directory.has(op);
    if (!known) return this.drop("RESET_UNKNOWN_OPERATOR");
    if (!ours) {
      r = {
        proposal: { oldGroupId: old.groupId, attempt: 0n, proposer: w.operator, roster: [] },
        id: resetProposalId(old.groupId, 0n),
        groupId: w.groupId,
        parentKey: behind!.parentKey,
        startedAt: now,
        votes: new Map(),
        myKeyPackages: [],
        done: false,
      };
    }
    const round = r!;
    // Two operators that ranked different YES sets both built a group: everyone settles on the one whose
    // operator ranks first. A member that tallied NO (it saw other votes than the operator did) joins too:
    // the group exists, and staying behind would leave it alone in the old one.
    if (
      round.joinedVia !== undefined &&
      compareBytes(this.rank(op, round), this.rank(round.joinedVia, round)) >= 0
    ) {
      // A worse-ranked operator built a group: it missed ours. As our group's operator, repeat our Welcome
      // soon (within the budget: the operator field is not signed, so forged ones can at most spend it).
      const rep = round.repeat;
      if (rep && rep.repeatsLeft > 0 && op !== round.joinedVia)
        rep.repeatAt = Math.min(
          rep.repeatAt ?? Number.POSITIVE_INFINITY,
          now + this.params.responseDelayMs * this.rng.next(),
        );
      return [];
    }
    let joined: Awaited<ReturnType<typeof joinFromWelcome>>;
    try {
      // Our vote's KeyPackage, or (when the operator used the store) one of our published sets.
      joined = await joinFromWelcome(this.member.identity, w.welcome, [
        ...round.myKeyPackages,
        ...this.member.keyPackages,
      ]);
    } catch (e) {
      if (!(e instanceof DemlsError)) throw e;
      this.host.count(`RESET_${e.code}`);
      if (e.code !== "NO_MATCHING_KEY_PACKAGE" || !ours || round.joinedVia !== undefined) return [];
      // The operator had no KeyPackage of ours that we hold: ask the new group to add us (it removes the
      // leaf it made for us, if any, then adds us as a joiner).
      round.done = true;
      return this.host.rejoin(now, round.groupId);
    }
    // The link to the old group: the new group id must be the one the reset of our group derives.
    if (!bytesEqual(joined.group.groupId, round.groupId)) return this.drop("RESET_LINK_MISMATCH");
    // The operator is who created it (leaf 0): a member cannot pass its own group off as a better one.
    if (rosterMember(joined.group, w.operator)?.leafIndex !== 0) return this.drop("RESET_NOT_OPERATOR");
    round.done = true;
    round.joinedVia = op;
    round.repeat = undefined;
    this.state.reset = round;
    if (!ours) this.host.count("RESET_FOLLOWED");
    return this.afterReset(joined.group, old.groupId, round.parentKey, now);
  }

  private async afterReset(
    group: MlsGroupLike,
    oldGroupId: Uint8Array,
    parentKey: Uint8Array,
    now: number,
  ): Promise<SyncEffect[]> {
    const out: SyncEffect[] = [];
    out.push(...(await this.member.startGroup(group, now, parentKey)));
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
