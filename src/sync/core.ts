// Fingerprint gossip, classification and recovery for one member (DESIGN sections 3-7). Drives the
// member's GroupMember: catch-up applies missed commits, re-alignment rewinds to the fork point, and a
// voted hard reset rebuilds the group. Sans-I/O like the cores below it.
import type { GroupEffect } from "../group/effects.ts";
import type { GroupMember } from "../group/member.ts";
import { topicsOf } from "../group/topics.ts";
import {
  ancestry,
  fingerprintAt,
  generateKeyPackages,
  isActive,
  MlsProtocolError,
  relation,
  retainedEpochs,
  rewind,
  roster,
  sign,
  verify,
} from "../mls/index.ts";
import type { Rng } from "../net/transport.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { DemlsError } from "../util/errors.ts";
import { agreedRoster, classify, type SyncStatus, type Verdict, type View } from "./classify.ts";
import { HardReset, type LineageGroup, lineage, type ResetRound } from "./reset.ts";
import { ranksAmongFirst } from "./responders.ts";
import { open, seal } from "./seal.ts";
import {
  type CatchUpRequest,
  type CatchUpResponse,
  decodeSyncPayload,
  encodeSyncPayload,
  infoBody,
  type SyncPayload,
  type SyncStateInfo,
} from "./wire.ts";

/** Tunables of the sync layer. Times in milliseconds. */
export interface SyncParams {
  /** Mean gossip interval (heartbeat); each send is jittered by ±25%. */
  readonly gossipIntervalMs: number;
  /** Views older than this are ignored (`W`). */
  readonly viewWindowMs: number;
  /**
   * Groups up to this size gossip every `gossipIntervalMs`; in larger ones the interval and the view window
   * grow by `n / gossipFullRateMembers`, so a member receives about this many SyncStateInfo per interval
   * whatever the group size (each costs it a signature check). Detection does not slow down with it: a
   * member answers a state behind or beside its own within `responseDelayMs`.
   */
  readonly gossipFullRateMembers: number;
  /** A member that sees a peer behind it or on another branch sends its own info within this (random). */
  readonly responseDelayMs: number;
  /** No verdict this long after an epoch change (commits still spreading). */
  readonly settleMs: number;
  /** A catch-up request not answered within this is repeated. */
  readonly catchUpRetryMs: number;
  /** Members that answer a catch-up request (lowest hashes among holders of the target). */
  readonly catchUpResponders: number;
  /**
   * A catch-up answer carries commits up to about this many bytes (at least one); the requester asks for
   * the rest as soon as it has applied them. Waku relay refuses messages over 150 KiB.
   */
  readonly catchUpMaxBytes: number;
  /** `W_hard`: HARD must persist this long before a reset is proposed. */
  readonly hardAfterMs: number;
  /** Reset vote closes after this (silent = YES). */
  readonly resetVoteTimeoutMs: number;
  /** A reset operator that has not delivered within this is replaced by the next. */
  readonly resetOperatorTimeoutMs: number;
}

/** Ancestry entries a SyncStateInfo may carry (ours: 16 dense, then powers of two within `H`). */
const MAX_ANCESTRY = 64;

/** Commits a catch-up answer may carry (a responder stops at `catchUpMaxBytes`). */
const MAX_BATCH = 1024;

/** Answers to other members' catch-up requests kept to try before asking (each at most `catchUpMaxBytes`). */
const HEARD_BATCHES = 4;

export const DEFAULT_SYNC_PARAMS: SyncParams = {
  gossipIntervalMs: 30_000,
  viewWindowMs: 120_000,
  gossipFullRateMembers: 20,
  responseDelayMs: 5_000,
  settleMs: 10_000,
  catchUpRetryMs: 20_000,
  catchUpResponders: 2,
  catchUpMaxBytes: 128 * 1024,
  hardAfterMs: 60_000,
  resetVoteTimeoutMs: 30_000,
  resetOperatorTimeoutMs: 30_000,
};

export const FAST_SYNC_PARAMS: SyncParams = {
  gossipIntervalMs: 1_000,
  viewWindowMs: 4_000,
  gossipFullRateMembers: 20,
  responseDelayMs: 250,
  settleMs: 1_000,
  catchUpRetryMs: 1_500,
  catchUpResponders: 2,
  catchUpMaxBytes: 128 * 1024,
  hardAfterMs: 2_000,
  resetVoteTimeoutMs: 2_000,
  resetOperatorTimeoutMs: 3_000,
};

/** The heartbeat interval and view window for a group of `members` (see `gossipFullRateMembers`). */
export function gossipTiming(p: SyncParams, members: number): { intervalMs: number; windowMs: number } {
  const f = Math.max(1, members / p.gossipFullRateMembers);
  return { intervalMs: p.gossipIntervalMs * f, windowMs: p.viewWindowMs * f };
}

/** A status change with its evidence, for the application. */
export interface StatusEvent {
  readonly type: "status";
  readonly status: SyncStatus;
  readonly previous: SyncStatus;
  readonly verdict: Verdict;
}

export type SyncEffect =
  | GroupEffect
  | StatusEvent
  | {
      readonly type: "recovered";
      readonly how: "catch-up" | "realign" | "reset" | "rejoin";
      readonly epochs: number;
    }
  | { readonly type: "reset"; readonly groupId: Uint8Array; readonly operator: Uint8Array };

export interface SyncState {
  seqnum: bigint;
  readonly lastSeq: Map<string, bigint>;
  readonly views: Map<string, View & { groupId: string }>;
  /** Signature keys of every member ever seen in a roster: forks and resets keep identities. */
  readonly directory: Map<string, Uint8Array>;
  /** Roster (hex member ids) of each of our recent states, by fingerprint: for the agreed roster. */
  readonly rosters: Map<string, string[]>;
  nextGossipAt: number;
  lastGossipAt: number;
  lastEpochChangeAt: number;
  status: SyncStatus;
  hardSince: number | undefined;
  /** Since when we are AHEAD of the majority on a state no other member holds. */
  aloneAheadSince?: number | undefined;
  catchUp: { nonce: Uint8Array; sentAt: number; epoch: bigint; fingerprint: Uint8Array } | undefined;
  reset: ResetRound | undefined;
  /** We asked to be re-added (forked beyond the retained epochs) and wait for the Welcome. */
  rejoining: boolean;
  readonly counters: Record<string, number>;
}

export function newSyncState(): SyncState {
  return {
    seqnum: 0n,
    lastSeq: new Map(),
    views: new Map(),
    directory: new Map(),
    rosters: new Map(),
    nextGossipAt: 0,
    lastGossipAt: Number.NEGATIVE_INFINITY,
    lastEpochChangeAt: 0,
    status: "UNKNOWN",
    hardSince: undefined,
    catchUp: undefined,
    reset: undefined,
    rejoining: false,
    counters: {},
  };
}

/** The sync core of one member. */
export class SyncCore {
  readonly member: GroupMember;
  readonly state: SyncState;
  readonly params: SyncParams;
  private readonly rng: Rng;
  private readonly topic: string;
  /** The topic's bytes: the associated data of every sealed sync message. */
  private readonly topicAad: Uint8Array;
  private verdict: Verdict | undefined;
  /** SyncStateInfo messages and bytes this core sent since it was created (for overhead figures). */
  gossipSent = 0;
  gossipBytes = 0;

  private readonly reset: HardReset;

  constructor(member: GroupMember, state: SyncState, rng: Rng, params: SyncParams) {
    this.member = member;
    this.state = state;
    this.rng = rng;
    this.params = params;
    this.topic = topicsOf(member.state.conversation).sync;
    this.topicAad = new TextEncoder().encode(this.topic);
    this.reset = new HardReset(this, rng);
  }

  /** The last verdict (undefined before the first). */
  get lastVerdict(): Verdict | undefined {
    return this.verdict;
  }

  /** Counts a rejected or notable input by code. */
  count(code: string): void {
    this.state.counters[code] = (this.state.counters[code] ?? 0) + 1;
  }

  /**
   * The majority's branch forked from ours before our retained epochs: we cannot rewind, so we leave the
   * branch and ask to be re-added (DESIGN section 6). Our chats of the abandoned branch go out again once
   * we are back.
   */
  private forkedBeyondRetained(now: number): Promise<SyncEffect[]> {
    this.count("FORK_BEYOND_RETAINED");
    return this.rejoin(now);
  }

  /**
   * Leaves the current state and asks to be re-added with a fresh KeyPackage: after a fork older than the
   * retained epochs, or through `Member.requestRejoin` when an application finds its state damaged.
   */
  async rejoin(now: number, groupId?: Uint8Array): Promise<SyncEffect[]> {
    await this.member.requestRejoin(
      await generateKeyPackages(this.member.identity, 1, { lastResort: true }),
      now,
      groupId,
    );
    this.state.rejoining = true;
    this.state.catchUp = undefined;
    this.state.views.clear();
    this.state.lastSeq.clear();
    return [];
  }

  /** Call with every group effect: epoch changes trigger an immediate gossip, state hints an early one. */
  async onGroupEffects(effects: readonly GroupEffect[], now: number): Promise<SyncEffect[]> {
    for (const e of effects) if (e.type === "stateHint") this.onStateHint(e.epoch, now);
    if (!effects.some((e) => e.type === "epoch" || e.type === "joined")) return [];
    const out: SyncEffect[] = [];
    if (this.state.rejoining && effects.some((e) => e.type === "joined")) {
      this.state.rejoining = false;
      out.push({ type: "recovered", how: "rejoin", epochs: 0 });
    }
    // One announcement of where we ended up, however many epochs the effects moved us.
    this.state.lastEpochChangeAt = now;
    // Not IN_SYNC before: judge the new state once it settles. Views of others' states may not ask for
    // it: after a catch-up everyone else may already hold ours.
    if (this.state.status !== "IN_SYNC")
      this.classifyAt = Math.min(this.classifyAt, now + this.params.settleMs);
    this.learnRoster();
    out.push(...(await this.gossip(now)));
    return out;
  }

  /** Our state (hex fingerprint) that a state hint last brought our gossip forward in. */
  private hinted: string | undefined;

  /**
   * A group frame from another epoch than ours, or unreadable at ours: someone is in another state. Our
   * state goes out early, so that the other side answers or classifies us, instead of both sides waiting
   * for a heartbeat: after a short partition every member last gossiped at its last epoch change, so all
   * heartbeats fall in one window (at 1000 members, 50 s apart with the scaled timers, 16 minutes with
   * the spec's). A later epoch may be a commit still spreading (our own epoch change then gossips first
   * and puts the heartbeat back), an earlier one a member still applying it: hence the settle time. Once
   * per state of ours, so that headers (not authenticated) cannot make us gossip more than our state
   * changes.
   */
  private onStateHint(epoch: bigint, now: number): void {
    const g = this.member.group;
    if (g === undefined) return;
    if (epoch < g.epoch && now - this.state.lastEpochChangeAt < this.params.settleMs) return;
    const state = toHex(g.fingerprint);
    if (this.hinted === state) return;
    this.hinted = state;
    const at = now + this.params.settleMs + this.params.responseDelayMs * this.rng.next();
    this.state.nextGossipAt = Math.min(this.state.nextGossipAt, at);
  }

  private learnRoster(): void {
    const g = this.member.group;
    if (g === undefined) return;
    const ids: string[] = [];
    for (const m of roster(g)) {
      this.state.directory.set(toHex(m.memberId), m.signaturePublicKey);
      ids.push(toHex(m.memberId));
    }
    ids.sort();
    // One array for equal rosters, so classification can skip epochs that changed no membership.
    const last = [...this.state.rosters.values()].at(-1);
    const same = last !== undefined && last.length === ids.length && last.every((id, i) => id === ids[i]);
    this.state.rosters.set(toHex(g.fingerprint), same ? last : ids);
    while (this.state.rosters.size > g.options.historySize)
      this.state.rosters.delete(this.state.rosters.keys().next().value!);
  }

  /** Keys we open with: the current one, the previous ones, and those of the reset lineage below us. */
  private keys(): Uint8Array[] {
    const s = this.member.state;
    return [
      ...(s.syncKey ? [s.syncKey.key] : []),
      ...s.previousSyncKeys,
      ...this.lineage().map((l) => l.key),
    ];
  }

  /** The groups resets below ours make (derived from our group id and sync key, remembered per pair). */
  private lineage(): readonly LineageGroup[] {
    const g = this.member.group;
    const key = this.member.state.syncKey?.key;
    if (g === undefined || key === undefined) return [];
    const c = this.lineageCache;
    if (c?.groupId !== g.groupId || c.key !== key)
      this.lineageCache = { groupId: g.groupId, key, groups: lineage(g.groupId, key) };
    return this.lineageCache!.groups;
  }

  private lineageCache: { groupId: Uint8Array; key: Uint8Array; groups: LineageGroup[] } | undefined;

  /**
   * `groupId` is in our reset lineage, and our roster has moved there (more than half of it heard in the
   * lineage; or two, while we see no majority in our own group): we were left behind by a reset we may
   * not even have seen, and may follow it.
   */
  leftBehindFor(groupId: Uint8Array): LineageGroup | undefined {
    const target = this.lineage().find((l) => bytesEqual(l.groupId, groupId));
    if (target === undefined || !this.leftBehind()) return undefined;
    return target;
  }

  /** Members of our roster heard (within the view window) in a group of the lineage below ours. */
  private movedOn(now: number): number {
    const ids = new Set(this.lineage().map((l) => toHex(l.groupId)));
    if (ids.size === 0) return 0;
    const windowMs = this.timing().windowMs;
    let n = 0;
    for (const id of this.rosterIds() ?? []) {
      const v = this.state.views.get(id);
      if (v && ids.has(v.groupId) && now - v.receivedAt <= windowMs) n++;
    }
    return n;
  }

  private leftBehind(now = this.lastTickAt): boolean {
    const moved = this.movedOn(now);
    const n = this.rosterIds()?.size ?? 0;
    const noMajority = this.state.status === "UNKNOWN" || this.state.status === "HARD";
    return moved * 2 > n || (moved >= 2 && noMajority);
  }

  private lastTickAt = 0;
  /** Since when our roster is seen to have moved on to a reset group without us (see `leftBehind`). */
  private leftBehindSince: number | undefined;

  /**
   * Seals a payload for the sync channel under the current sync key, or under `key`: the previous key a
   * peer that missed a rotation still uses (it cannot read the current one).
   */
  publish(
    payload: SyncPayload,
    key = this.member.state.syncKey?.key ?? this.member.state.previousSyncKeys[0],
  ): Extract<SyncEffect, { type: "publish" }> {
    // Between a rejoin's Welcome and its key share a member has only previous keys (or, before any
    // share, none: then nothing reaches it on this channel and its tick does not act).
    if (key === undefined) throw new DemlsError("NO_SYNC_KEY", "no sync key to seal under");
    return {
      type: "publish",
      topic: this.topic,
      bytes: seal(key, encodeSyncPayload(payload), this.rng, this.topicAad),
    };
  }

  /** Sends our SyncStateInfo now. */
  async gossip(now: number): Promise<SyncEffect[]> {
    const g = this.member.group;
    this.state.nextGossipAt = now + this.timing().intervalMs * (0.75 + 0.5 * this.rng.next());
    if (g === undefined || this.member.state.syncKey === undefined) return [];
    this.state.lastGossipAt = now;
    this.state.seqnum++;
    const info: SyncStateInfo = {
      groupId: g.groupId,
      memberId: this.member.memberId,
      epoch: g.epoch,
      fingerprint: g.fingerprint,
      seqnum: this.state.seqnum,
      ancestry: ancestry(g.history),
    };
    const signature = await sign(this.member.identity, "sync-state", infoBody(info));
    // Our info also goes out under each older key a peer behind us used since the last gossip, and under
    // all of them while we are out of sync ourselves (see `sealingKeys`).
    const keys = this.sealingKeys([...this.answerKeys.values()]);
    this.answerKeys.clear();
    const effects = keys.map((k) => this.publish({ info: { ...info, signature } }, k));
    this.gossipSent += effects.length;
    for (const e of effects) this.gossipBytes += e.bytes.length;
    return effects;
  }

  /** A message on the sync topic. Bad input is counted and dropped. */
  async receive(bytes: Uint8Array, now: number): Promise<SyncEffect[]> {
    let payload: SyncPayload;
    let key: Uint8Array;
    try {
      const opened = open(this.keys(), bytes, this.topicAad);
      key = opened.key;
      payload = decodeSyncPayload(opened.plaintext);
    } catch (e) {
      this.count(e instanceof DemlsError ? e.code : "MALFORMED");
      return [];
    }
    try {
      if (payload.info) return await this.onInfo(payload.info, now, key);
      if (payload.catchUp) return await this.onCatchUp(payload.catchUp, now, key);
      if (payload.commits) return await this.onCommits(payload.commits, now);
      if (payload.reset) return await this.reset.onProposal(payload.reset, now);
      if (payload.resetVote) return await this.reset.onVote(payload.resetVote, now);
      if (payload.resetWelcome) return await this.reset.onWelcome(payload.resetWelcome, now);
    } catch (e) {
      if (!(e instanceof DemlsError)) throw e;
      this.count(e.code);
    }
    return [];
  }

  private async onInfo(i: SyncStateInfo, now: number, key: Uint8Array): Promise<SyncEffect[]> {
    if (
      !i.memberId ||
      !i.groupId ||
      i.epoch === undefined ||
      !i.fingerprint ||
      i.seqnum === undefined ||
      !i.signature
    ) {
      this.count("MALFORMED");
      return [];
    }
    // Bounded before anything walks it: our ancestry is 16 dense epochs and a skip list within `H`.
    if (i.ancestry.length > MAX_ANCESTRY) return this.drop("OVERSIZED_ANCESTRY");
    const who = toHex(i.memberId);
    const signer = this.state.directory.get(who);
    if (signer === undefined) return this.drop("UNKNOWN_MEMBER");
    if (!(await verify(signer, "sync-state", infoBody(i), i.signature)))
      return this.drop("INVALID_SIGNATURE");
    const last = this.state.lastSeq.get(who);
    if (last !== undefined && i.seqnum <= last) return this.drop("REPLAY");
    this.state.lastSeq.set(who, i.seqnum);
    const view = {
      epoch: i.epoch,
      fingerprint: i.fingerprint,
      ancestry: i.ancestry.map((a) => ({
        epoch: a.epoch ?? 0n,
        fingerprint: a.fingerprint ?? new Uint8Array(),
      })),
      receivedAt: now,
      groupId: toHex(i.groupId),
    };
    this.state.views.set(who, view);
    this.answer(who, view, now, key);
    const g0 = this.member.group;
    if (g0 !== undefined && view.groupId !== toHex(g0.groupId)) this.reset.onForeignView(who, now);
    // A state other than ours: classify soon, not at whatever wakes us next (a quiet member of a large
    // group can sleep for a stretched SDS sync period). Within the response delay, so that the answers
    // this may draw are in too, and so one verdict covers a burst of infos.
    const g = this.member.group;
    if (g !== undefined && (i.epoch !== g.epoch || !bytesEqual(i.fingerprint, g.fingerprint)))
      this.classifyAt = Math.min(this.classifyAt, now + this.params.responseDelayMs);
    return [];
  }

  /** When views of another state than ours ask for a verdict (none pending: infinity). */
  private classifyAt = Number.POSITIVE_INFINITY;

  /** Heartbeat interval and view window at the current group size. */
  private timing(): { intervalMs: number; windowMs: number } {
    const ids = this.rosterIds();
    return gossipTiming(this.params, ids?.size ?? 1);
  }

  /** Hex ids of our current roster; asked on every tick and info, it changes only with the state. */
  private rosterIds(): Set<string> | undefined {
    const g = this.member.group;
    if (g === undefined) return undefined;
    const key = toHex(g.fingerprint);
    if (this.rosterCache?.key !== key)
      this.rosterCache = { key, ids: new Set(this.member.rosterIds().map(toHex)) };
    return this.rosterCache.ids;
  }

  private rosterCache: { key: string; ids: Set<string> } | undefined;
  /** Older sync keys that peers behind us sent under since our last gossip (it goes out under them too). */
  private readonly answerKeys = new Map<string, Uint8Array>();
  /** The last catch-up request we acted on, per requester (a repeat is answered once per half retry). */
  private readonly served = new Map<string, { at: number; from: bigint }>();

  /**
   * A peer behind us or on another branch (just back from a partition, say) learns where we are within
   * `responseDelayMs` instead of at our next heartbeat: our next gossip is brought forward. At most one
   * answer per half base interval, so a member flooding claims cannot make us flood.
   */
  private answer(who: string, v: View & { groupId: string }, now: number, key: Uint8Array): void {
    const g = this.member.group;
    if (g === undefined || v.groupId !== toHex(g.groupId)) return;
    // A member that missed a rotation of the sync key reads only the key it sent under (a removed member,
    // which also still holds it, gets nothing under it: the rotation is there to shut it out).
    const current = this.member.state.syncKey?.key;
    if (
      current &&
      !bytesEqual(key, current) &&
      this.rosterIds()?.has(who) &&
      this.member.state.previousSyncKeys.some((k) => bytesEqual(k, key))
    )
      this.answerKeys.set(toHex(key), key);
    const rel = relation(g.history, v.epoch, v.fingerprint, v.ancestry);
    if (rel === "SAME" || rel === "I_AM_BEHIND") return;
    if (now - this.state.lastGossipAt < this.params.gossipIntervalMs / 2) return;
    this.state.nextGossipAt = Math.min(
      this.state.nextGossipAt,
      now + this.params.responseDelayMs * this.rng.next(),
    );
  }

  private drop(code: string): SyncEffect[] {
    this.count(code);
    return [];
  }

  /** Periodic: gossip, classify, act. */
  async tick(now: number): Promise<SyncEffect[]> {
    this.lastTickAt = now;
    const out: SyncEffect[] = [];
    const asked = now >= this.classifyAt;
    if (asked) this.classifyAt = Number.POSITIVE_INFINITY;
    if (now >= this.state.nextGossipAt) out.push(...(await this.gossip(now)));
    out.push(...(await this.reset.tick(now)));
    const g = this.member.group;
    // Without the sync key (a rejoin's Welcome came before its key share) there is nothing to act with;
    // removed from the group, there is nothing to heal: it must not ask its way back in.
    if (g === undefined || this.member.state.syncKey === undefined || !isActive(g)) return out;
    const inFlight = this.member.state.freezeUntil !== undefined;
    const settled = this.state.lastEpochChangeAt + this.params.settleMs;
    if (inFlight || now < settled) {
      // A verdict asked for by views of another state waits for the commit in flight or the settle time.
      if (asked) this.classifyAt = inFlight ? now + this.params.responseDelayMs : settled;
      return out;
    }
    const gid = toHex(g.groupId);
    const views = new Map([...this.state.views].filter(([, v]) => v.groupId === gid));
    const windowMs = this.timing().windowMs;
    const verdict = classify({
      self: toHex(this.member.memberId),
      history: g.history,
      ancestry: ancestry(g.history),
      roster: agreedRoster(
        toHex(this.member.memberId),
        g.history,
        (fp) => this.state.rosters.get(fp),
        views,
        now,
        windowMs,
      ),
      views,
      now,
      windowMs,
    });
    this.verdict = verdict;
    const previous = this.state.status;
    if (verdict.status !== previous) {
      this.state.status = verdict.status;
      out.push({ type: "status", status: verdict.status, previous, verdict });
    }
    if (verdict.status === "HARD") this.state.hardSince ??= now;
    else this.state.hardSince = undefined;
    if ((verdict.status === "BEHIND" || verdict.status === "FORKED") && verdict.majority)
      out.push(...(await this.requestCatchUp(verdict, now)));
    out.push(...(await this.stepBackIfAloneAhead(verdict, now)));
    if (
      verdict.status === "HARD" &&
      this.reset.mayPropose() &&
      now - this.state.hardSince! >= this.params.hardAfterMs
    )
      out.push(...(await this.reset.propose(verdict, now)));
    out.push(...(await this.followLineage(now)));
    return out;
  }

  /**
   * Left behind by a reset for longer than its operators' Welcome repeats take (we may not be on its
   * roster, or its operator may be gone): ask to be added to the group our roster moved to, as a member
   * forked beyond the retained epochs asks (its members remove our stale leaf, if any, and add us).
   */
  private async followLineage(now: number): Promise<SyncEffect[]> {
    if (!this.leftBehind(now)) {
      this.leftBehindSince = undefined;
      return [];
    }
    this.leftBehindSince ??= now;
    if (now - this.leftBehindSince < 3 * this.params.resetOperatorTimeoutMs + this.params.hardAfterMs)
      return [];
    const ids = new Map(this.lineage().map((l) => [toHex(l.groupId), l.groupId]));
    // The group most of the moved members are in.
    const counts = new Map<string, number>();
    for (const v of this.state.views.values())
      if (ids.has(v.groupId)) counts.set(v.groupId, (counts.get(v.groupId) ?? 0) + 1);
    const [target] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
    this.leftBehindSince = undefined;
    this.count("LINEAGE_REJOIN");
    return this.rejoin(now, ids.get(target));
  }

  /**
   * AHEAD on a state nobody else holds, for longer than the others need to apply a commit: our commit lost
   * selection everywhere else (a restarted or slow steward). The majority state is in our retained history:
   * rewind to it and re-send what we sent since.
   */
  private async stepBackIfAloneAhead(verdict: Verdict, now: number): Promise<SyncEffect[]> {
    const g = this.member.group;
    const mine =
      g && verdict.states.find((x) => x.epoch === g.epoch && bytesEqual(x.fingerprint, g.fingerprint));
    if (verdict.status !== "AHEAD" || !g || !verdict.majority || (mine?.members.length ?? 0) > 1) {
      this.state.aloneAheadSince = undefined;
      return [];
    }
    this.state.aloneAheadSince ??= now;
    if (now - this.state.aloneAheadSince < this.params.hardAfterMs + this.timing().intervalMs) return [];
    this.state.aloneAheadSince = undefined;
    let back: typeof g;
    try {
      back = rewind(g, verdict.majority.epoch);
    } catch (e) {
      if (e instanceof MlsProtocolError && e.code === "NOT_RETAINED")
        return this.drop("AHEAD_BEYOND_RETAINED");
      throw e;
    }
    if (!bytesEqual(back.fingerprint, verdict.majority.fingerprint)) return this.drop("AHEAD_NOT_ANCESTOR");
    this.count("STEPPED_BACK");
    this.member.replaceGroup(back, now);
    const out: SyncEffect[] = [{ type: "recovered", how: "realign", epochs: Number(g.epoch - back.epoch) }];
    out.push(...(await this.member.resendAbandoned(now)));
    out.push(...(await this.gossip(now)));
    return out;
  }

  nextWake(): number {
    return Math.min(this.state.nextGossipAt, this.classifyAt, this.reset.nextWake());
  }

  // ---- weak recovery ---------------------------------------------------------------------------------

  /**
   * One request for every missed epoch: from the newest state we share with the majority to its state.
   * Behind, an answer already heard to someone else's request is tried first.
   */
  private async requestCatchUp(v: Verdict, now: number): Promise<SyncEffect[]> {
    if (v.status === "BEHIND") {
      const before = this.member.group!.epoch;
      const out = await this.applyHeard(now);
      if (this.member.group!.epoch !== before) return out;
    }
    const g = this.member.group!;
    const m = v.majority!;
    const c = this.state.catchUp;
    const same = c && c.epoch === m.epoch && bytesEqual(c.fingerprint, m.fingerprint);
    if (same && now - c.sentAt < this.params.catchUpRetryMs) return [];
    const retained = retainedEpochs(g);
    // Forked: from just below our oldest retained state, so the batch shows which retained state we share.
    const oldest = retained[0] ?? g.epoch;
    const from = v.status === "BEHIND" ? g.epoch : oldest > 0n ? oldest - 1n : 0n;
    return this.sendCatchUp(from, m.epoch, m.fingerprint, now);
  }

  private sendCatchUp(from: bigint, epoch: bigint, fingerprint: Uint8Array, now: number): SyncEffect[] {
    const g = this.member.group!;
    const nonce = new Uint8Array(8);
    for (let i = 0; i < 8; i++) nonce[i] = this.rng.int(256);
    this.state.catchUp = { nonce, sentAt: now, epoch, fingerprint };
    this.count("CATCH_UP_SENT");
    const catchUp = {
      groupId: g.groupId,
      memberId: this.member.memberId,
      fromEpoch: from,
      targetEpoch: epoch,
      target: fingerprint,
      nonce,
    };
    return this.sealingKeys([]).map((k) => this.publish({ catchUp }, k));
  }

  /**
   * The keys to seal our gossip and catch-up requests under: the current one and `extra`; while we are
   * out of sync (not `IN_SYNC` or `AHEAD`), every previous key too. Two sides of a split that each removed
   * a member (the same one, at different epochs) rotated to keys the other cannot derive, and only the key
   * before it is common: without this, neither side could read the other again (chaos seed 897). A removed
   * member holding an old key reads an out-of-sync member's epoch and fingerprint, no more.
   */
  private sealingKeys(extra: readonly Uint8Array[]): Uint8Array[] {
    const current = this.member.state.syncKey?.key;
    const out = current ? [current] : [];
    const behind = this.state.status !== "IN_SYNC" && this.state.status !== "AHEAD";
    for (const k of [...extra, ...(behind ? this.member.state.previousSyncKeys : [])])
      if (!out.some((o) => bytesEqual(o, k))) out.push(k);
    return out;
  }

  /**
   * Every holder of the target re-sends its own chats from the requester's epoch on: once caught up, the
   * requester keeps the keys of only its last few epochs, so what it missed before those it cannot read
   * (receivers dedupe by chat id; a chat re-sent at our epoch is not re-sent again until the epoch moves).
   * Holders that rank among the first `catchUpResponders` by hash also answer with the commits.
   */
  private async onCatchUp(r: CatchUpRequest, now: number, key: Uint8Array): Promise<SyncEffect[]> {
    const g = this.member.group;
    if (!g || !r.groupId || !bytesEqual(r.groupId, g.groupId) || r.fromEpoch === undefined || !r.target)
      return [];
    const have = fingerprintAt(g.history, r.targetEpoch ?? -1n);
    if (have === undefined || !bytesEqual(have, r.target)) return [];
    // Requests are sealed, not signed: bound what one claimed requester can make us send.
    const requester = toHex(r.memberId ?? new Uint8Array());
    if (!this.state.directory.has(requester)) return this.drop("UNKNOWN_MEMBER");
    const last = this.served.get(requester);
    if (last && r.fromEpoch <= last.from && now - last.at < this.params.catchUpRetryMs / 2)
      return this.drop("CATCH_UP_THROTTLED");
    this.served.set(requester, { at: now, from: r.fromEpoch });
    const out: SyncEffect[] = await this.member.resendAbandoned(now, false, r.fromEpoch);
    const gid = toHex(g.groupId);
    const target = r.targetEpoch!;
    // Members whose view shows them on our chain at the target or later: they hold the commits too.
    const history = g.history;
    function* holders(views: ReadonlyMap<string, View & { groupId: string }>) {
      for (const [who, v] of views) {
        if (v.groupId !== gid || v.epoch < target) continue;
        const f = fingerprintAt(history, v.epoch);
        if (f !== undefined && bytesEqual(f, v.fingerprint)) yield who;
      }
    }
    const me = toHex(this.member.memberId);
    const nonce = r.nonce ?? new Uint8Array();
    if (!ranksAmongFirst(me, holders(this.state.views), nonce, this.params.catchUpResponders)) return out;
    const commits: { epoch: bigint; commit: Uint8Array; fingerprintAfter: Uint8Array }[] = [];
    let bytes = 0;
    for (const c of this.member.state.commitLog) {
      if (c.epoch < r.fromEpoch || c.epoch >= r.targetEpoch!) continue;
      bytes += c.commit.length + c.fingerprintAfter.length + 16;
      if (commits.length > 0 && bytes > this.params.catchUpMaxBytes) break;
      commits.push({ epoch: c.epoch, commit: c.commit, fingerprintAfter: c.fingerprintAfter });
    }
    // None from that range (a group whose first epoch we joined at, or a log that starts later): an
    // empty answer tells the requester that no path leads from its state to ours, so it asks to be
    // re-added at once instead of asking again forever.
    if (commits.length === 0) this.count("CATCH_UP_NO_PATH");
    else this.count("CATCH_UP_SERVED");
    const first = commits[0]?.epoch ?? target;
    const base = fingerprintAt(g.history, first);
    // Under the key the request came in: a requester behind a rotation cannot read the current one.
    return [
      ...out,
      this.publish(
        {
          commits: {
            groupId: g.groupId,
            responder: this.member.memberId,
            nonce: r.nonce,
            commits,
            ...(base ? { baseEpoch: first, baseFingerprint: base } : {}),
          },
        },
        key,
      ),
    ];
  }

  /**
   * Answers to other members' catch-up requests, oldest first. After a partition the cut-off members
   * find themselves behind within a second of each other; each request drew its own answers (at 1000
   * members, 300 requests and 600 answers of 83 KB). A member behind takes a heard answer that carries
   * its epoch instead of asking. No weaker than its own answer: requests travel to every holder of the
   * sync key, nonce included, and every commit is checked by MLS as it applies.
   */
  private readonly heard: CatchUpResponse[] = [];

  private async onCommits(r: CatchUpResponse, now: number): Promise<SyncEffect[]> {
    if (r.commits.length > MAX_BATCH) return this.drop("OVERSIZED_BATCH");
    const c = this.state.catchUp;
    if (c && r.nonce && bytesEqual(r.nonce, c.nonce)) return this.applyBatch(r, now, c);
    const g = this.member.group;
    if (!g || !r.groupId || !bytesEqual(r.groupId, g.groupId)) return [];
    this.heard.push(r);
    if (this.heard.length > HEARD_BATCHES) this.heard.shift();
    return this.state.status === "BEHIND" ? this.applyHeard(now) : [];
  }

  /** Moves forward through heard answers while one carries the commit of our epoch (no rewinds). */
  private async applyHeard(now: number): Promise<SyncEffect[]> {
    const out: SyncEffect[] = [];
    for (let moved = true; moved; ) {
      const { epoch, groupId } = this.member.group!;
      const r = this.heard.findLast(
        (b) => bytesEqual(b.groupId!, groupId) && b.commits.some((e) => e.epoch === epoch),
      );
      if (r === undefined) break;
      out.push(...(await this.applyBatch(r, now, undefined)));
      moved = this.member.group!.epoch !== epoch;
    }
    return out;
  }

  /**
   * Applies a batch: rewinds to the last shared epoch if we forked, then every commit in epoch order.
   * `asked` is our request it answers; a heard answer (undefined) only moves us forward.
   */
  private async applyBatch(
    r: CatchUpResponse,
    now: number,
    asked: SyncState["catchUp"],
  ): Promise<SyncEffect[]> {
    let g = this.member.group!;
    const batch = [...r.commits].sort((a, b) => (a.epoch! < b.epoch! ? -1 : 1));
    // Fork point: the newest epoch where the batch's state equals ours.
    let forkPoint = g.epoch;
    const afterOf = new Map(batch.map((e) => [e.epoch! + 1n, e.fingerprintAfter!]));
    if (r.baseEpoch !== undefined && r.baseFingerprint) afterOf.set(r.baseEpoch, r.baseFingerprint);
    const startEpoch = batch[0]?.epoch;
    if (startEpoch === undefined) {
      // The holder has no commits leading from our state: we cannot get there by commits.
      if (asked === undefined) return [];
      this.count("NO_PATH_TO_MAJORITY");
      return this.forkedBeyondRetained(now);
    }
    const mineAt = (e: bigint) => fingerprintAt(g.history, e);
    // Wholly behind us and on our chain: answers heard to others' requests moved us past it before it
    // came. Taken as a fork, it rewound us, or made us ask to rejoin when the epoch it leads to was no
    // longer retained (22 of 300 members behind at 1000 members, with one commit per answer).
    const end = batch.at(-1)!.epoch! + 1n;
    const mineAtEnd = mineAt(end);
    if (end < g.epoch && mineAtEnd !== undefined && bytesEqual(mineAtEnd, afterOf.get(end)!)) return [];
    if (
      !batch.some((e) => e.epoch === g.epoch) ||
      (afterOf.has(g.epoch) && !bytesEqual(afterOf.get(g.epoch)!, mineAt(g.epoch)!))
    ) {
      forkPoint = startEpoch;
      for (let e = g.epoch; e >= startEpoch; e--) {
        const theirs = afterOf.get(e);
        const ours = mineAt(e);
        if (theirs && ours && bytesEqual(theirs, ours)) {
          forkPoint = e;
          break;
        }
      }
    }
    const out: SyncEffect[] = [];
    let how: "catch-up" | "realign" = "catch-up";
    const shared = (e: bigint) => {
      const theirs = afterOf.get(e);
      const ours = mineAt(e);
      return theirs !== undefined && ours !== undefined && bytesEqual(theirs, ours);
    };
    // The batch forks from us at or below the oldest state it shows: nothing we hold is on its chain
    // (a competing group of our reset, or a fork older than what we retain).
    // (A batch that names no state at our epoch is tried: the commits' fingerprints check it.)
    const unnamed = forkPoint === g.epoch && !afterOf.has(g.epoch);
    if (!unnamed && !shared(forkPoint)) return asked === undefined ? [] : this.forkedBeyondRetained(now);
    if (forkPoint < g.epoch && asked === undefined) return [];
    if (forkPoint < g.epoch) {
      try {
        g = rewind(g, forkPoint);
      } catch (e) {
        if (e instanceof MlsProtocolError && e.code === "NOT_RETAINED") return this.forkedBeyondRetained(now);
        throw e;
      }
      this.member.replaceGroup(g, now);
      how = "realign";
    }
    let applied = 0;
    for (const e of batch) {
      if (e.epoch !== this.member.group!.epoch) continue;
      const eff = await this.member.applyCommit(e.commit!, now, how);
      if (eff === undefined || !bytesEqual(this.member.group!.fingerprint, e.fingerprintAfter!)) {
        // The commit that leads from our very state to theirs does not apply for us: our own commit
        // whose result we no longer hold (we restarted since), say. That branch is closed to us.
        if (applied === 0 && asked !== undefined && eff === undefined) {
          this.count("COMMIT_NOT_APPLICABLE");
          return [...out, ...(await this.forkedBeyondRetained(now))];
        }
        break;
      }
      applied++;
      out.push(...eff);
    }
    if (applied > 0) {
      const at = this.member.group!;
      const pending = this.state.catchUp;
      // Our request is answered, or a heard batch took us as far as it asked.
      if (asked !== undefined || (pending !== undefined && at.epoch >= pending.epoch))
        this.state.catchUp = undefined;
      out.push({ type: "recovered", how, epochs: applied });
      // A batch cut at `catchUpMaxBytes`: ask for the rest at once, without waiting for a verdict.
      if (asked !== undefined && applied === batch.length && at.epoch < asked.epoch)
        out.push(...this.sendCatchUp(at.epoch, asked.epoch, asked.fingerprint, now));
      out.push(...(await this.member.skipMissedHistory(now)));
      // Chats sent on an abandoned branch, or at epochs the others may no longer decrypt: send again
      // (receivers dedupe by chat id).
      out.push(...(await this.member.resendAbandoned(now, false, startEpoch)));
      out.push(
        ...(await this.onGroupEffects(
          out.filter((x): x is GroupEffect => x.type === "epoch"),
          now,
        )),
      );
    }
    return out;
  }
}
