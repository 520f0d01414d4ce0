// One member's de-MLS protocol core: KeyPackage announcements, proposals, signed hash-chained votes,
// steward commits with freeze and selection, application messages, over one SDS channel. Sans-I/O:
// `receive`, `tick` and the commands take `now` and return effects; `nextWake()` says when to tick.
import { sha256 } from "@noble/hashes/sha2.js";
import {
  encrypt,
  fingerprintAt,
  generateKeyPackages,
  type Identity,
  isActive,
  joinFromWelcome,
  type KeyPackageBundle,
  type MlsGroup,
  MlsProtocolError,
  commit as mlsCommit,
  type Processed,
  peek,
  processMessage,
  readKeyPackage,
  roster,
  rosterMember,
  sign,
  verify,
} from "../mls/index.ts";
import type { Rng } from "../net/transport.ts";
import {
  decodeSdsMessage,
  newSdsState,
  SdsChannel,
  type SdsEffect,
  type SdsState,
  type SendOptions,
} from "../sds/index.ts";
import { bytesEqual, concatBytes, fromHex, toHex, utf8 } from "../util/bytes.ts";
import { DemlsError } from "../util/errors.ts";
import { decide, mayDecideEarly } from "./consensus.ts";
import { type GroupEffect, stateHint } from "./effects.ts";
import { type GroupCode, GroupError, groupCodeOf } from "./errors.ts";
import {
  decodeGroupFrame,
  decodePayload,
  decodeWelcomeFrame,
  encodeGroupFrame,
  encodePayload,
  encodeVote,
  encodeWelcomeFrame,
  type GroupPayload,
  type KeyPackageSet,
  PROPOSAL_ADD,
  PROPOSAL_LEAVE,
  PROPOSAL_REFRESH,
  PROPOSAL_REMOVE,
  type Proposal,
  type RejoinRequest,
  rejoinBody,
  type Vote,
} from "./frames.ts";
import {
  checkKeyPackageSet,
  type KeyPackageSets,
  ownSet,
  pruneKeyPackageSets,
  type StoredKeyPackageSet,
  toWire,
} from "./keypackage-store.ts";
import type { GroupParams } from "./params.ts";
import { compareCandidates, stewardList } from "./steward.ts";
import { chainSyncKey, deriveSyncKey, PREVIOUS_SYNC_KEYS } from "./sync-key.ts";
import { topicsOf } from "./topics.ts";

/** One proposal as a member tracks it. */
export interface ProposalRecord {
  readonly proposal: Proposal;
  readonly receivedAt: number;
  /** Expected voters: the roster size of the proposal's epoch. */
  readonly voters: number;
  readonly votes: Map<string, boolean>;
  status: "pending" | "approved" | "rejected" | "committed";
  decidedAt?: number;
  /** When this member casts its vote (undefined once cast). */
  voteAt?: number;
  /** For an add: the member id its KeyPackage names, read (and verified) once when tracked. */
  readonly joiner?: Uint8Array;
}

/** A commit by a steward for the current epoch, waiting for selection. */
interface Candidate {
  readonly bytes: Uint8Array;
  readonly sender: Uint8Array;
  readonly stewardRank: number;
  readonly proposals: number;
  readonly hash: Uint8Array;
}

/** A commit this member applied: served to members that missed it. */
export interface CommitRecord {
  /** The epoch the commit was made in (it moves `epoch` to `epoch + 1`). */
  readonly epoch: bigint;
  readonly commit: Uint8Array;
  /** Fingerprint of the state it leads to. */
  readonly fingerprintAfter: Uint8Array;
  readonly welcome?: Uint8Array;
  /** Members (hex ids) the commit added: a joiner whose Welcome was lost gets it again. */
  readonly added?: readonly string[];
}

/** A chat this member sent: re-sent if the branch it went out on is abandoned. */
export interface SentChat {
  readonly id: Uint8Array;
  readonly body: Uint8Array;
  readonly epoch: bigint;
  readonly fingerprint: Uint8Array;
}

/** Counters of rejected input, by code, plus traffic. */
export type GroupCounters = Record<string, number>;

/** Everything a member remembers besides the MLS group value. Plain data. */
export interface GroupCoreState {
  readonly conversation: string;
  sds: SdsState | undefined;
  readonly pendingKeyPackages: Map<string, { bytes: Uint8Array; epoch: bigint; seenAt: number }>;
  readonly proposals: Map<string, ProposalRecord>;
  /** Voter → hash of its last vote, for the hash chain. */
  readonly voteChain: Map<string, Uint8Array>;
  candidates: Candidate[];
  freezeUntil: number | undefined;
  /** Retry round of the current epoch (a steward failed to commit). */
  retry: number;
  /** Since when approved proposals wait for a commit. */
  approvedSince: number | undefined;
  commitLog: CommitRecord[];
  /** Commit frames seen for epochs other than the current one, by epoch (fork and catch-up material). */
  readonly observedCommits: Map<bigint, Uint8Array[]>;
  /** Application frames for epochs not reached yet. */
  heldApplications: { epoch: bigint; frame: Uint8Array }[];
  readonly seenChats: Set<string>;
  sentChats: SentChat[];
  /** SDS message id of each copy of our chats still in flight → the chat's id (hex), oldest first. */
  readonly chatCopies: Map<string, string>;
  /** Our chats (hex ids) every member acknowledged, newest last (bounded). */
  readonly deliveredChats: Set<string>;
  /** The sync key (DESIGN section 3) and the anchor epoch it was exported at. */
  syncKey: { anchorEpoch: bigint; key: Uint8Array } | undefined;
  /** The last {@link PREVIOUS_SYNC_KEYS} sync keys, newest first: members behind us still use them. */
  previousSyncKeys: Uint8Array[];
  nextKeyPackageAt: number;
  /** The KeyPackage store: the newest set of every roster member, ours included. */
  readonly keyPackageSets: KeyPackageSets;
  /** Group id (hex) our current set was announced in: a new group (a reset's) gets a new one. */
  keyPackageSetGroup: string | undefined;
  /** Our rejoin request (an encoded WelcomeFrame), announced instead of a plain KeyPackage until welcomed. */
  rejoinRequest: Uint8Array | undefined;
  /** Roster members (hex) that asked to be re-added: their stale leaf is proposed for removal. */
  readonly pendingRejoins: Map<string, { seenAt: number; epoch: bigint }>;
  /**
   * Members (hex) that were in a roster of ours and left it (a stale leaf removed for a rejoin, any
   * removal, a reset group without them): when added again, recent chats go out again.
   */
  readonly rejoined: Set<string>;
  /** Epoch at which each member (hex) was last added: removals proposed before it are stale. */
  readonly addedAt: Map<string, bigint>;
  /** When (our clock) each member (hex) was last added: a rejoin request made before it is stale. */
  readonly addedTime: Map<string, number>;
  /** Hashes of rejoin requests acted on: a replay is ignored. */
  readonly seenRejoins: Set<string>;
  readonly counters: GroupCounters;
}

const HELD_LIMIT = 2048;
/** Votes carried by one message at most (a larger batch is `OVERSIZED_BATCH`). */
export const VOTES_PER_MESSAGE = 64;

/** Former members remembered (see `rejoined`). */
const FORMER_MEMBERS_KEPT = 1024;
/** Copies of own chats tracked for delivery, and delivered chat ids remembered. */
const CHAT_COPIES_KEPT = 1024;
/** Own commits remembered to take their branch later (see `ownCommits`). */
const OWN_COMMITS_KEPT = 4;
/** Messages (and bytes) kept from before a Welcome; a message above its share of the bytes is not kept. */
const EARLY_LIMIT = 64;
const EARLY_BYTES_LIMIT = 8 << 20;
/** Commits kept per epoch other than ours: competing stewards, backups and retries stay well below. */
const OBSERVED_PER_EPOCH = 8;

/** Epochs of own chats re-sent when a member comes back through a rejoin (the dense ancestry span). */
const REJOIN_RESEND_EPOCHS = 16;
/** Own KeyPackages (private parts) kept: the current set, the previous ones, and the join KeyPackages. */
const KEY_PACKAGES_KEPT = 12;
/** Past epochs whose application keys ts-mls keeps (its `retainKeysForEpochs` default). */
const RETAINED_KEY_EPOCHS = 4;

/**
 * Proposal ids of pending requests, by entry (an entry's kind and target never change): `nextWake` asks
 * after every message, and hashing each pending rejoin's target again was 13% of a 1000-member heal where
 * 22 rejoins were pending.
 */
const pendingIds = new WeakMap<object, string>();

/** SHA-256(kind ‖ target): the same change proposed twice is one proposal. */
export function proposalId(kind: number, target: Uint8Array): string {
  return toHex(sha256(concatBytes(new Uint8Array([kind]), target)));
}

/** A member of one conversation. */
export class GroupMember {
  readonly identity: Identity;
  readonly params: GroupParams;
  readonly state: GroupCoreState;
  readonly topics: { app: string; welcome: string; sync: string };
  group: MlsGroup | undefined;
  /** Own KeyPackages (private parts), for joining. */
  keyPackages: KeyPackageBundle[];
  private readonly rng: Rng;
  private sds: SdsChannel | undefined;

  constructor(
    identity: Identity,
    state: GroupCoreState,
    group: MlsGroup | undefined,
    keyPackages: KeyPackageBundle[],
    rng: Rng,
    params: GroupParams,
  ) {
    this.identity = identity;
    this.state = state;
    this.group = group;
    this.keyPackages = keyPackages;
    this.rng = rng;
    this.params = params;
    this.topics = topicsOf(state.conversation);
    // Snapshots from before delivery tracking.
    (state as { chatCopies?: Map<string, string> }).chatCopies ??= new Map();
    (state as { deliveredChats?: Set<string> }).deliveredChats ??= new Set();
    (state as { addedTime?: Map<string, number> }).addedTime ??= new Map();
    if (state.sds !== undefined) this.sds = new SdsChannel(state.sds, rng, params.sds);
    this.updateParticipants();
  }

  /** A fresh core state. */
  static newState(conversation: string): GroupCoreState {
    return {
      conversation,
      sds: undefined,
      pendingKeyPackages: new Map(),
      proposals: new Map(),
      voteChain: new Map(),
      candidates: [],
      freezeUntil: undefined,
      retry: 0,
      approvedSince: undefined,
      commitLog: [],
      observedCommits: new Map(),
      heldApplications: [],
      seenChats: new Set(),
      sentChats: [],
      chatCopies: new Map(),
      deliveredChats: new Set(),
      syncKey: undefined,
      previousSyncKeys: [],
      nextKeyPackageAt: 0,
      keyPackageSets: new Map(),
      keyPackageSetGroup: undefined,
      rejoinRequest: undefined,
      pendingRejoins: new Map(),
      addedAt: new Map(),
      addedTime: new Map(),
      rejoined: new Set(),
      seenRejoins: new Set(),
      counters: {},
    };
  }

  get memberId(): Uint8Array {
    return this.identity.id;
  }

  get epoch(): bigint | undefined {
    return this.group?.epoch;
  }

  /** The SDS channel of the current group (undefined before joining). */
  get channel(): SdsChannel | undefined {
    return this.sds;
  }

  /**
   * Starts in a new group: as its creator, or entering a hard reset's group (`resetFrom`: the old group's
   * sync key, which the new key is chained from).
   */
  async startGroup(group: MlsGroup, now: number, resetFrom?: Uint8Array): Promise<GroupEffect[]> {
    this.adopt(group, now, 0n);
    // After a reset the old group's key stays readable: a better-ranked operator's Welcome and the votes
    // of members still in the old group come under it.
    this.rotateSyncKey({
      anchorEpoch: group.epoch,
      key: resetFrom
        ? chainSyncKey(resetFrom, group.groupId)
        : await deriveSyncKey(group, this.state.conversation),
    });
    // A reset's competing groups share the group id, hence the SDS channel: what SDS took in while we were
    // in the other one is not delivered again, and waits among the held frames.
    return [{ type: "joined", epoch: group.epoch }, ...(await this.retryHeld(now))];
  }

  /** A new sync key (or none); the current one joins the previous keys, which peers behind us still use. */
  private rotateSyncKey(next: GroupCoreState["syncKey"]): void {
    const cur = this.state.syncKey;
    // The same key again (a competing reset group of the same lineage): the older keys stay.
    if (cur && next && bytesEqual(cur.key, next.key)) return;
    if (cur)
      this.state.previousSyncKeys = [
        cur.key,
        ...this.state.previousSyncKeys.filter((k) => !bytesEqual(k, cur.key)),
      ].slice(0, PREVIOUS_SYNC_KEYS);
    this.state.syncKey = next;
  }

  /** Counts a rejection and returns its effect. */
  reject(code: GroupCode, detail: string): GroupEffect {
    this.state.counters[code] = (this.state.counters[code] ?? 0) + 1;
    return { type: "rejected", code, detail };
  }

  // ---- input -----------------------------------------------------------------------------------------

  /** Handles a message from one of the conversation's topics. Never throws for bad peer input. */
  async receive(topic: string, bytes: Uint8Array, now: number): Promise<GroupEffect[]> {
    try {
      if (topic === this.topics.welcome) return await this.receiveWelcomeTopic(bytes, now);
      if (topic !== this.topics.app) return [];
      if (this.sds === undefined) {
        this.keepEarly(bytes);
        return [];
      }
      let sdsEffects: SdsEffect[];
      try {
        sdsEffects = this.sds.receive(bytes, now);
      } catch (e) {
        return [this.reject(e instanceof DemlsError ? `SDS_${e.code}` : "SDS_MALFORMED", String(e))];
      }
      return await this.onSds(sdsEffects, now);
    } catch (e) {
      if (e instanceof DemlsError) return [this.reject(groupCodeOf(e), e.message)];
      throw e;
    }
  }

  /** Runs what is due: SDS sweeps, votes, decisions, steward commit, selection, KeyPackage announcements. */
  async tick(now: number): Promise<GroupEffect[]> {
    const out: GroupEffect[] = [];
    if (this.group === undefined) {
      if (now >= this.state.nextKeyPackageAt) {
        this.state.nextKeyPackageAt = now + this.params.keyPackageResendMs;
        const kp = this.keyPackages.find((k) => !k.lastResort) ?? this.keyPackages[0];
        const bytes = this.state.rejoinRequest ?? (kp && encodeWelcomeFrame({ keyPackage: kp.publicBytes }));
        if (bytes !== undefined) out.push({ type: "publish", topic: this.topics.welcome, bytes });
      }
      return out;
    }
    this.lastTick = now;
    if (this.sds !== undefined) out.push(...(await this.onSds(this.sds.tick(now), now)));
    if (this.state.keyPackageSetGroup !== toHex(this.group.groupId))
      out.push(...(await this.publishKeyPackageSet(now)));
    if (this.state.syncKey === undefined && now >= this.state.nextKeyPackageAt) {
      // The share sent with our Welcome can arrive before the Welcome does: ask again.
      this.state.nextKeyPackageAt = now + this.params.keyPackageResendMs;
      out.push(...(await this.sendPayload({ syncKey: { anchorEpoch: this.group.epoch } }, now)));
    }
    out.push(...(await this.castVotes(now)));
    this.decideAll(now, out);
    out.push(...(await this.proposeJoiners(now)));
    out.push(...(await this.stewardCommit(now)));
    if (this.state.freezeUntil !== undefined && now >= this.state.freezeUntil)
      out.push(...(await this.select(now)));
    return out;
  }

  /** The earliest time `tick` has something to do. */
  nextWake(): number {
    const s = this.state;
    if (this.group === undefined) return s.nextKeyPackageAt;
    // A group we have not published our KeyPackage set in yet (just joined): at once.
    if (s.keyPackageSetGroup !== toHex(this.group.groupId)) return Number.NEGATIVE_INFINITY;
    if (s.syncKey === undefined)
      return Math.min(s.nextKeyPackageAt, this.sds?.nextWake() ?? Number.POSITIVE_INFINITY);
    if (this.decisionDue) return Number.NEGATIVE_INFINITY;
    let t = this.sds?.nextWake() ?? Number.POSITIVE_INFINITY;
    t = Math.min(
      t,
      this.pendingDue(s.pendingKeyPackages, PROPOSAL_ADD, (_, kp) => kp.bytes),
    );
    t = Math.min(
      t,
      this.pendingDue(s.pendingRejoins, PROPOSAL_REMOVE, (k) => fromHex(k)),
    );
    if (s.freezeUntil !== undefined) t = Math.min(t, s.freezeUntil);
    for (const p of s.proposals.values()) {
      if (p.voteAt !== undefined) t = Math.min(t, p.voteAt);
      if (p.status === "pending") t = Math.min(t, p.receivedAt + this.params.consensusTimeoutMs);
    }
    if (s.approvedSince !== undefined && s.freezeUntil === undefined) {
      const rank = this.stewards(s.retry).findIndex((m) => bytesEqual(m, this.memberId));
      if (rank >= 0) {
        const mine = s.approvedSince + this.params.commitDelayMs + rank * this.params.backupDelayMs;
        if (mine > this.lastTick) t = Math.min(t, mine);
      }
      t = Math.min(t, this.retryDue());
    }
    return t;
  }

  // ---- commands --------------------------------------------------------------------------------------

  /** Sends an application message; returns its id. Held by the caller if the member has no group yet. */
  async sendChat(
    body: Uint8Array,
    now: number,
    id?: Uint8Array,
  ): Promise<{ id: Uint8Array; effects: GroupEffect[] }> {
    const chatId =
      id ?? sha256(concatBytes(this.memberId, utf8(`${now}/${this.rng.next()}`))).subarray(0, 16);
    if (this.group === undefined) throw new GroupError("NO_GROUP", "not in a group yet");
    this.rememberChat(toHex(chatId));
    const existing = this.state.sentChats.findIndex((c) => bytesEqual(c.id, chatId));
    if (existing >= 0) this.state.sentChats.splice(existing, 1);
    this.state.sentChats.push({
      id: chatId,
      body,
      epoch: this.group.epoch,
      fingerprint: this.group.fingerprint,
    });
    if (this.state.sentChats.length > 256) this.state.sentChats.shift();
    // A chat must reach every member: resent at once to one back from a partition without it.
    const r = await encrypt(this.group, encodePayload({ chat: { id: chatId, body } }));
    this.group = r.group;
    const sent = this.sds!.send(encodeGroupFrame({ application: r.message }), now, {
      resendToReturning: true,
    });
    const copies = this.state.chatCopies;
    copies.set(sent.messageId, toHex(chatId));
    if (copies.size > CHAT_COPIES_KEPT) copies.delete(copies.keys().next().value!);
    return { id: chatId, effects: await this.onSds(sent.effects, now) };
  }

  /** Proposes a change; the proposer votes YES at once. */
  async propose(kind: number, target: Uint8Array, now: number): Promise<GroupEffect[]> {
    const group = this.requireGroup();
    const proposal: Proposal = { kind, target, epoch: group.epoch, proposer: this.memberId };
    const id = proposalId(kind, target);
    if (this.state.proposals.has(id)) return [];
    const joiner =
      kind === PROPOSAL_ADD ? (await readKeyPackage(target).catch(() => undefined))?.memberId : undefined;
    this.track(id, proposal, now, joiner);
    const out = await this.sendPayload({ proposal }, now);
    out.push(...(await this.vote(id, true, now)));
    return out;
  }

  /** Asks to leave: a self-leave proposal. */
  leave(now: number): Promise<GroupEffect[]> {
    return this.propose(PROPOSAL_LEAVE, this.memberId, now);
  }

  /** Current roster member ids. */
  rosterIds(): Uint8Array[] {
    return this.group ? roster(this.group).map((m) => m.memberId) : [];
  }

  // ---- used by the sync layer ------------------------------------------------------------------------

  /**
   * Applies a commit outside the freeze/selection path (catch-up and re-alignment: the sync layer has
   * already checked it against the majority fingerprint). Returns false if it does not apply.
   */
  async applyCommit(bytes: Uint8Array, now: number, via: string): Promise<GroupEffect[] | undefined> {
    const group = this.requireGroup();
    let p: Processed | undefined = this.appliedOwn(group, bytes);
    if (p === undefined)
      try {
        p = await processMessage(group, bytes);
      } catch {
        return undefined;
      }
    if (p.kind !== "commit") return undefined;
    return this.onEpochChange(p, bytes, undefined, now, via);
  }

  /**
   * Commits this member built, by hash, with the state each leads to: MLS does not let a member process
   * its own commit, so a member whose own commit became the majority's epoch (selected by the others, or
   * by itself and then rewound off) could never take that branch (chaos seeds 56 and 383). Bounded; not
   * saved (after a restart such a member rejoins instead).
   */
  private readonly ownCommits: { hash: string; group: MlsGroup; added: Uint8Array[] }[] = [];

  /** Our own commit `bytes`, built on the state `group` is in, as a processed commit. */
  private appliedOwn(group: MlsGroup, bytes: Uint8Array): Processed | undefined {
    const hash = toHex(sha256(bytes));
    const own = this.ownCommits.find((o) => o.hash === hash);
    if (own === undefined || own.group.epoch !== group.epoch + 1n) return undefined;
    const parent = fingerprintAt(own.group.history, group.epoch);
    if (parent === undefined || !bytesEqual(parent, group.fingerprint)) return undefined;
    return this.ownProcessed(own.group, own.added);
  }

  /** Our own commit as `processMessage` would have returned it (MLS cannot process one's own). */
  private ownProcessed(group: MlsGroup, added: Uint8Array[]): Processed {
    return { kind: "commit", group, sender: this.memberId, added, removed: [], removedSelf: false };
  }

  /**
   * After the sync layer moved us past epochs we missed: the SDS history of those epochs is no longer
   * waited for (what we can still read is delivered now; chats we cannot are re-sent by their senders).
   */
  async skipMissedHistory(now: number): Promise<GroupEffect[]> {
    return this.sds ? this.onSds(this.sds.skipMissedHistory(), now) : [];
  }

  /** Replaces the group value (rewind, reset); keeps the SDS channel unless the group id changed. */
  replaceGroup(group: MlsGroup, now: number, sdsHorizon = 0n): void {
    this.adopt(group, now, sdsHorizon);
  }

  /**
   * Leaves the current group value and becomes a joiner again (a member a reset did not include): it
   * announces `keyPackages` and is added through the normal proposal and vote path.
   */
  becomeJoiner(keyPackages: KeyPackageBundle[], now: number): void {
    this.group = undefined;
    this.sds = undefined;
    this.state.sds = undefined;
    this.keyPackages = keyPackages;
    this.state.nextKeyPackageAt = now;
    this.rotateSyncKey(undefined);
  }

  /**
   * Forked beyond the retained epochs: leaves the branch and asks the group to re-add us with a fresh
   * KeyPackage (signed request; members remove our stale leaf by vote, then add us as a joiner). Asks
   * the group `groupId` instead of ours when a reset left us behind.
   */
  async requestRejoin(keyPackages: KeyPackageBundle[], now: number, groupId?: Uint8Array): Promise<void> {
    const group = this.requireGroup();
    const kp = keyPackages.find((k) => !k.lastResort) ?? keyPackages[0]!;
    const req: RejoinRequest = {
      keyPackage: kp.publicBytes,
      groupId: groupId ?? group.groupId,
      at: BigInt(Math.floor(now)),
    };
    const signature = await sign(this.identity, "rejoin", rejoinBody(req));
    this.becomeJoiner(keyPackages, now);
    this.state.rejoinRequest = encodeWelcomeFrame({ rejoin: { ...req, signature } });
  }

  /**
   * Re-sends chats that went out at states no longer in this member's history (an abandoned branch), at
   * epochs from `sinceEpoch` on (sent while we or a peer lagged: the other side may no longer hold those
   * epochs' keys), or all.
   */
  async resendAbandoned(now: number, all = false, sinceEpoch?: bigint): Promise<GroupEffect[]> {
    const group = this.requireGroup();
    const out: GroupEffect[] = [];
    const mine = new Set(group.history.map((h) => toHex(h.fingerprint)));
    for (const c of [...this.state.sentChats]) {
      const lagging = sinceEpoch !== undefined && c.epoch >= sinceEpoch && c.epoch < group.epoch;
      if (!all && !lagging && mine.has(toHex(c.fingerprint))) continue;
      out.push(...(await this.sendChat(c.body, now, c.id)).effects);
    }
    return out;
  }

  // ---- internals -------------------------------------------------------------------------------------

  private requireGroup(): MlsGroup {
    if (this.group === undefined) throw new GroupError("NO_GROUP", "not in a group yet");
    return this.group;
  }

  /** Members of `before` that are not `now`'s: if they come back, they get our recent chats again. */
  private rememberFormer(before: readonly string[], now: ReadonlySet<string>): void {
    const former = this.state.rejoined;
    for (const id of before) if (!now.has(id)) former.add(id);
    while (former.size > FORMER_MEMBERS_KEPT) former.delete(former.values().next().value!);
  }

  private adopt(group: MlsGroup, now: number, sdsHorizon: bigint): void {
    const channelId = toHex(group.groupId);
    if (this.group !== undefined && !bytesEqual(this.group.groupId, group.groupId))
      this.rememberFormer(this.rosterIds().map(toHex), new Set(roster(group).map((m) => toHex(m.memberId))));
    if (this.state.sds === undefined || this.state.sds.channelId !== channelId) {
      const sds = newSdsState(toHex(this.memberId), channelId, now, this.params.sds);
      sds.horizon = sdsHorizon;
      this.state.sds = sds;
      this.sds = new SdsChannel(sds, this.rng, this.params.sds);
      this.state.candidates = [];
      this.state.freezeUntil = undefined;
      this.state.proposals.clear();
      this.state.approvedSince = undefined;
      // Requests seen on a branch we left are that branch's business.
      this.state.pendingRejoins.clear();
      // The log serves catch-up: only commits of the chain we are on (its epochs start anew).
      this.state.commitLog = [];
    } else {
      const log = this.state.commitLog;
      // Rewound (re-aligned, stepped back): the commits we leave are no chain anyone should follow.
      while (log.length > 0 && log.at(-1)!.epoch >= group.epoch) log.pop();
    }
    this.state.rejoinRequest = undefined;
    this.group = group;
    this.state.retry = 0;
    this.updateParticipants();
  }

  private updateParticipants(): void {
    if (this.group && this.sds) {
      const ids = roster(this.group).map((m) => toHex(m.memberId));
      this.sds.setParticipants(ids.length, ids);
    }
  }

  private async onSds(effects: SdsEffect[], now: number): Promise<GroupEffect[]> {
    const out: GroupEffect[] = [];
    for (const e of effects) {
      if (e.type === "publish") out.push({ type: "publish", topic: this.topics.app, bytes: e.bytes });
      else if (e.type === "acknowledged" || e.type === "unacknowledged") out.push(...this.chatOutcome(e));
      else if (e.type === "waiting") out.push(...this.hintOfWaiting(e.content));
      else if (e.type === "deliver") {
        try {
          out.push(...(await this.onFrame(e.content, now)));
        } catch (err) {
          if (!(err instanceof DemlsError)) throw err;
          out.push(this.reject(groupCodeOf(err), err.message));
        }
      }
    }
    return out;
  }

  /**
   * A copy of one of our chats is acknowledged by every member (the chat is delivered), or given up:
   * the chat is lost once no copy of it is in flight and none was acknowledged.
   */
  private chatOutcome(e: { type: "acknowledged" | "unacknowledged"; messageId: string }): GroupEffect[] {
    const copies = this.state.chatCopies;
    const chat = copies.get(e.messageId);
    if (chat === undefined) return [];
    copies.delete(e.messageId);
    const delivered = this.state.deliveredChats;
    if (delivered.has(chat)) return [];
    if (e.type === "unacknowledged") {
      for (const c of copies.values()) if (c === chat) return [];
      return [{ type: "chatLost", id: fromHex(chat) }];
    }
    delivered.add(chat);
    if (delivered.size > CHAT_COPIES_KEPT) delivered.delete(delivered.values().next().value!);
    return [{ type: "chatDelivered", id: fromHex(chat) }];
  }

  /**
   * A frame SDS holds back for missing history (after a partition, everything from the other side): its
   * header may already tell that the sender is at another epoch. Malformed ones are rejected on delivery.
   */
  private hintOfWaiting(content: Uint8Array): GroupEffect[] {
    const group = this.group;
    if (group === undefined) return [];
    let epoch: bigint | undefined;
    try {
      const frame = decodeGroupFrame(content);
      const mls = frame.commit ?? frame.application;
      epoch = mls === undefined ? undefined : peek(mls).epoch;
    } catch {
      return [];
    }
    return epoch === undefined || epoch === group.epoch ? [] : [stateHint(epoch)];
  }

  private async onFrame(content: Uint8Array, now: number): Promise<GroupEffect[]> {
    const frame = decodeGroupFrame(content);
    const group = this.requireGroup();
    if (frame.commit !== undefined) {
      const h = peek(frame.commit);
      if (h.epoch === undefined || h.contentType !== "commit")
        return [this.reject("MALFORMED", "not a commit")];
      if (h.epoch !== group.epoch) {
        const refused = this.observe(h.epoch, frame.commit, group.epoch);
        return refused ? [refused, stateHint(h.epoch)] : [stateHint(h.epoch)];
      }
      return this.addCandidate(frame.commit, now);
    }
    if (frame.application === undefined) return [this.reject("MALFORMED", "empty frame")];
    const h = peek(frame.application);
    if (h.epoch !== undefined && h.epoch > group.epoch) {
      this.hold(h.epoch, content);
      return [stateHint(h.epoch)];
    }
    if (h.epoch !== undefined && h.epoch < group.epoch - BigInt(RETAINED_KEY_EPOCHS)) {
      // From before we joined, or too old to decrypt: not an attack, just history we cannot read.
      this.state.counters.STALE_EPOCH = (this.state.counters.STALE_EPOCH ?? 0) + 1;
      return [stateHint(h.epoch)];
    }
    let p: Processed;
    try {
      p = await processMessage(group, frame.application);
    } catch (e) {
      if (!(e instanceof MlsProtocolError)) throw e;
      if (e.code === "WRONG_EPOCH") {
        this.state.counters.STALE_EPOCH = (this.state.counters.STALE_EPOCH ?? 0) + 1;
        return h.epoch === undefined ? [] : [stateHint(h.epoch)];
      }
      // Unreadable at our state: perhaps sent on the other branch of a fork we have not noticed yet. SDS
      // counts it as received, so dropping it would lose it for good: hold it and try again after the
      // next epoch change (a re-alignment); it ages out with the retained keys.
      if (h.epoch === undefined) throw e;
      this.state.counters.UNREADABLE_HELD = (this.state.counters.UNREADABLE_HELD ?? 0) + 1;
      this.hold(h.epoch, content);
      return [stateHint(h.epoch)];
    }
    if (p.kind !== "application") return [this.reject("MALFORMED", "expected an application message")];
    this.group = p.group;
    const out = await this.onPayload(decodePayload(p.plaintext), p.sender, p.epoch, now);
    return p.epoch < group.epoch ? [stateHint(p.epoch), ...out] : out;
  }

  /** Keeps an application frame for a later epoch change (bounded: the oldest goes first). */
  private hold(epoch: bigint, frame: Uint8Array): void {
    this.state.heldApplications.push({ epoch, frame });
    if (this.state.heldApplications.length > HELD_LIMIT) {
      this.state.heldApplications.shift();
      this.state.counters.HELD_DROPPED = (this.state.counters.HELD_DROPPED ?? 0) + 1;
    }
  }

  /**
   * Keeps a commit of another epoch, to try when we reach it. The epoch in its header is not
   * authenticated: epochs beyond the commit log's reach ahead of ours and more than
   * `OBSERVED_PER_EPOCH` commits for one epoch are refused (`FAR_EPOCH`, `OBSERVED_FULL`), so a peer
   * cannot grow the map without bound; a commit we applied (`applied`) is always kept. A member further
   * behind than that catches up through the sync layer, which never needs these.
   */
  private observe(
    epoch: bigint,
    commit: Uint8Array,
    current: bigint,
    applied = false,
  ): GroupEffect | undefined {
    const keep = BigInt(this.params.commitLogSize);
    if (epoch > current + keep)
      return this.reject("FAR_EPOCH", `a commit for epoch ${epoch}, ours is ${current}`);
    const list = this.state.observedCommits.get(epoch) ?? [];
    if (list.some((c) => bytesEqual(c, commit))) return undefined;
    if (list.length >= OBSERVED_PER_EPOCH && !applied)
      return this.reject("OBSERVED_FULL", `already ${list.length} commits seen for epoch ${epoch}`);
    list.push(commit);
    this.state.observedCommits.set(epoch, list);
    for (const e of this.state.observedCommits.keys())
      if (e + keep < current) this.state.observedCommits.delete(e);
    return undefined;
  }

  /** Remembers a chat id, sent or received, forgetting the oldest beyond `seenChatLimit`. */
  private rememberChat(key: string): void {
    const seen = this.state.seenChats;
    seen.delete(key);
    seen.add(key);
    while (seen.size > this.params.seenChatLimit) seen.delete(seen.values().next().value!);
  }

  private async onPayload(
    p: GroupPayload,
    sender: Uint8Array,
    epoch: bigint,
    now: number,
  ): Promise<GroupEffect[]> {
    if (p.chat?.id !== undefined && p.chat.body !== undefined) {
      const key = toHex(p.chat.id);
      if (this.state.seenChats.has(key)) return [];
      this.rememberChat(key);
      return [{ type: "chat", sender, id: p.chat.id, body: p.chat.body, epoch }];
    }
    if (p.keyPackageSets.length > 0) return this.importKeyPackageSets(p.keyPackageSets);
    if (p.proposal !== undefined) return this.onProposal(p.proposal, sender, now);
    if (p.vote !== undefined) return this.onVote(p.vote, sender, epoch);
    if (p.votes.length > VOTES_PER_MESSAGE)
      return [this.reject("OVERSIZED_BATCH", "too many votes in one message")];
    if (p.votes.length > 0) {
      // In order: each vote's `prev` names the one before it.
      const out: GroupEffect[] = [];
      for (const v of p.votes) out.push(...(await this.onVote(v, sender, epoch)));
      return out;
    }
    if (p.syncKey !== undefined && p.syncKey.key === undefined) {
      // A member that joined without the sync key asks for it; members that hold it answer (the epoch
      // steward may be one that lacks it).
      const key = this.state.syncKey;
      if (key === undefined) return [];
      return this.sendPayload({ syncKey: { anchorEpoch: key.anchorEpoch, key: key.key } }, now);
    }
    if (p.syncKey?.key !== undefined && p.syncKey.anchorEpoch !== undefined) {
      const cur = this.state.syncKey;
      if (cur === undefined || !bytesEqual(cur.key, p.syncKey.key))
        this.rotateSyncKey({ anchorEpoch: p.syncKey.anchorEpoch, key: p.syncKey.key });
      return [];
    }
    return [this.reject("MALFORMED", "empty payload")];
  }

  private track(id: string, proposal: Proposal, now: number, joiner?: Uint8Array): ProposalRecord {
    const rec: ProposalRecord = {
      proposal,
      receivedAt: now,
      voters: roster(this.requireGroup()).length,
      votes: new Map(),
      status: "pending",
      ...(joiner ? { joiner } : {}),
    };
    this.state.proposals.set(id, rec);
    return rec;
  }

  /** An error code, or the checked proposal with the joiner an add names. */
  private async validProposal(p: Proposal, sender: Uint8Array): Promise<GroupCode | { joiner?: Uint8Array }> {
    if (p.kind === undefined || p.target === undefined || p.proposer === undefined) return "MALFORMED";
    if (!bytesEqual(p.proposer, sender)) return "PROPOSER_MISMATCH";
    const ids = this.rosterIds();
    const inRoster = (id: Uint8Array) => ids.some((m) => bytesEqual(m, id));
    if (p.kind === PROPOSAL_ADD) {
      try {
        const kp = await readKeyPackage(p.target);
        if (inRoster(kp.memberId)) return "ALREADY_MEMBER";
        return { joiner: kp.memberId };
      } catch {
        return "BAD_KEY_PACKAGE";
      }
    }
    if (p.kind === PROPOSAL_REMOVE) {
      if (!inRoster(p.target)) return "NOT_MEMBER";
      // Made before the target was (re-)added: it meant the leaf the target had then.
      const added = this.state.addedAt.get(toHex(p.target));
      return added !== undefined && (p.epoch ?? 0n) < added ? "STALE_PROPOSAL" : {};
    }
    if (p.kind === PROPOSAL_LEAVE) return bytesEqual(p.target, sender) ? {} : "LEAVE_FOR_OTHER";
    if (p.kind === PROPOSAL_REFRESH) {
      if (p.target.length > 64) return "MALFORMED";
      // A refresh asks for a new epoch: one made before the current epoch already has it (a late copy,
      // such as SDS delivers after a catch-up, must not start another round).
      return (p.epoch ?? 0n) < this.requireGroup().epoch ? "STALE_PROPOSAL" : {};
    }
    return "UNKNOWN_PROPOSAL";
  }

  private async onProposal(p: Proposal, sender: Uint8Array, now: number): Promise<GroupEffect[]> {
    const checked = await this.validProposal(p, sender);
    if (typeof checked === "string") return [this.reject(checked, "proposal rejected")];
    const id = proposalId(p.kind!, p.target!);
    const existing = this.state.proposals.get(id);
    if (existing !== undefined) return [];
    const rec = this.track(id, p, now, checked.joiner);
    rec.voteAt = now + this.params.votingDelayMs;
    return [];
  }

  /** The bytes a vote's signature covers. */
  private static voteBody(v: Vote): Uint8Array {
    return encodeVote({ proposalId: v.proposalId, voter: v.voter, yes: v.yes ?? false, prev: v.prev });
  }

  private async vote(id: string, yes: boolean, now: number): Promise<GroupEffect[]> {
    const vote = await this.signVote(id, yes);
    return vote ? this.sendPayload({ vote }, now) : [];
  }

  /** Our vote on proposal `id`, signed and chained, and counted in our own tally; none if we voted. */
  private async signVote(id: string, yes: boolean): Promise<Vote | undefined> {
    const rec = this.state.proposals.get(id);
    if (rec === undefined) return undefined;
    rec.voteAt = undefined;
    const me = toHex(this.memberId);
    if (rec.votes.has(me)) return undefined;
    const unsigned: Vote = {
      proposalId: utf8(id),
      voter: this.memberId,
      yes,
      prev: this.state.voteChain.get(me) ?? new Uint8Array(),
    };
    const vote: Vote = {
      ...unsigned,
      signature: await sign(this.identity, "vote", GroupMember.voteBody(unsigned)),
    };
    rec.votes.set(me, yes);
    this.state.voteChain.set(me, sha256(encodeVote(vote)));
    return vote;
  }

  /** A vote, sent in MLS epoch `sentIn`. */
  private async onVote(v: Vote, sender: Uint8Array, sentIn: bigint): Promise<GroupEffect[]> {
    if (v.proposalId === undefined || v.voter === undefined || v.signature === undefined)
      return [this.reject("MALFORMED", "vote without fields")];
    if (!bytesEqual(v.voter, sender)) return [this.reject("VOTER_MISMATCH", "vote sent by another member")];
    const member = rosterMember(this.requireGroup(), v.voter);
    if (member === undefined) return [this.reject("NOT_MEMBER", "vote from a non-member")];
    if (!(await verify(member.signaturePublicKey, "vote", GroupMember.voteBody(v), v.signature)))
      return [this.reject("INVALID_SIGNATURE", "bad vote signature")];
    const voter = toHex(v.voter);
    const prev = this.state.voteChain.get(voter);
    const follows = prev !== undefined && v.prev !== undefined && bytesEqual(prev, v.prev);
    const id = new TextDecoder().decode(v.proposalId);
    const rec = this.state.proposals.get(id);
    if (rec === undefined && sentIn < this.requireGroup().epoch) {
      // Sent in an earlier epoch on a proposal we no longer (or never) held: it lost the race with the
      // commit that carried the proposal (2n/3 votes suffice), or we caught up past that epoch without
      // seeing it. Valid, only late. It may come after the voter's newer votes (SDS repairs history after a
      // catch-up), so it extends the chain only as its next link, and is no evidence of a gap.
      if (follows) this.state.voteChain.set(voter, sha256(encodeVote(v)));
      this.state.counters.LATE_VOTE = (this.state.counters.LATE_VOTE ?? 0) + 1;
      return [];
    }
    if (prev !== undefined && v.prev !== undefined && v.prev.length > 0 && !follows)
      this.state.counters.VOTE_CHAIN_GAP = (this.state.counters.VOTE_CHAIN_GAP ?? 0) + 1;
    if (rec === undefined) return [this.reject("UNKNOWN_PROPOSAL", "vote for an unknown proposal")];
    if (rec.votes.has(voter)) return [this.reject("DOUBLE_VOTE", "second vote of one member")];
    rec.votes.set(voter, v.yes ?? false);
    this.state.voteChain.set(voter, sha256(encodeVote(v)));
    if (mayDecideEarly(rec.voters, rec.votes.size)) this.decisionDue = true;
    return [];
  }

  /**
   * Once a vote is due, votes on it and on every proposal received up to half a voting delay after it, in
   * one message per `VOTES_PER_MESSAGE`. A steward proposing many changes at once (the stale leaves of 40
   * forked members) would otherwise cost every member one message per vote: n^2 deliveries per proposal.
   */
  private async castVotes(now: number): Promise<GroupEffect[]> {
    const recs = [...this.state.proposals.values()];
    if (!recs.some((r) => r.voteAt !== undefined && r.voteAt <= now)) return [];
    const until = now + this.params.votingDelayMs / 2;
    const votes: Vote[] = [];
    for (const [id, rec] of this.state.proposals) {
      if (rec.voteAt === undefined || rec.voteAt > until) continue;
      const v = rec.status === "pending" ? await this.signVote(id, true) : undefined;
      if (v) votes.push(v);
      rec.voteAt = undefined;
    }
    const out: GroupEffect[] = [];
    for (let i = 0; i < votes.length; i += VOTES_PER_MESSAGE) {
      const batch = votes.slice(i, i + VOTES_PER_MESSAGE);
      out.push(...(await this.sendPayload(batch.length === 1 ? { vote: batch[0]! } : { votes: batch }, now)));
    }
    return out;
  }

  private decideAll(now: number, out: GroupEffect[]): void {
    this.decisionDue = false;
    for (const [id, rec] of this.state.proposals) {
      if (rec.status !== "pending") {
        if (now - rec.receivedAt > this.params.proposalExpiryMs && rec.status !== "approved")
          this.state.proposals.delete(id);
        continue;
      }
      const yes = [...rec.votes.values()].filter(Boolean).length;
      const d = decide(
        rec.voters,
        yes,
        rec.votes.size - yes,
        now >= rec.receivedAt + this.params.consensusTimeoutMs,
      );
      if (d === "PENDING") continue;
      rec.status = d === "YES" ? "approved" : "rejected";
      rec.decidedAt = now;
      if (d === "YES" && this.state.approvedSince === undefined) this.state.approvedSince = now;
      out.push({ type: "decided", proposalId: id, decision: d });
    }
  }

  /** The steward list (member ids, epoch steward first) of the current epoch in retry round `retry`. */
  stewards(retry = 0): Uint8Array[] {
    const group = this.requireGroup();
    // Asked on every reschedule; the list changes only with the state (epoch and roster: one fingerprint
    // names both, also across branches) and the round.
    const key = `${toHex(group.fingerprint)}/${retry}`;
    let list = this.stewardCache.get(key);
    if (list === undefined) {
      list = stewardList(group.epoch, retry, this.rosterIds(), group.groupId, this.params.stewardListSize);
      if (this.stewardCache.size >= 8) this.stewardCache.delete(this.stewardCache.keys().next().value!);
      this.stewardCache.set(key, list);
    }
    return list;
  }

  /** Steward lists by state and retry round (derived, not state). */
  private readonly stewardCache = new Map<string, Uint8Array[]>();

  /** When the whole steward list has had its turn: the next retry round starts. */
  private retryDue(): number {
    const p = this.params;
    return (this.state.approvedSince ?? 0) + p.commitDelayMs + p.backupDelayMs * p.stewardListSize;
  }

  /** Time of the last tick: a commit slot already passed is not a reason to wake again. */
  private lastTick = Number.NEGATIVE_INFINITY;
  /** A vote reached a count at which a proposal may be decided: tick now rather than at the timeout. */
  private decisionDue = false;

  /**
   * When `proposePending` would next act on a pending request not yet proposed: at once on the epoch
   * steward, after the consensus timeout elsewhere. A time already ticked at is not reported again, so
   * a request that cannot be proposed does not keep the member ticking.
   */
  private pendingDue<T extends { seenAt: number }>(
    pending: ReadonlyMap<string, T>,
    kind: number,
    target: (key: string, entry: T) => Uint8Array,
  ): number {
    let t = Number.POSITIVE_INFINITY;
    if (pending.size === 0) return t;
    const steward = bytesEqual(this.stewards(0)[0]!, this.memberId);
    for (const [k, entry] of pending) {
      let id = pendingIds.get(entry);
      if (id === undefined) {
        id = proposalId(kind, target(k, entry));
        pendingIds.set(entry, id);
      }
      if (this.state.proposals.has(id)) continue;
      const fallback = entry.seenAt + this.params.consensusTimeoutMs;
      const at = steward && entry.seenAt >= this.lastTick ? entry.seenAt : fallback;
      if (at >= this.lastTick) t = Math.min(t, at);
    }
    return t;
  }

  /**
   * The epoch steward turns pending KeyPackages into add proposals; any member does after a consensus
   * timeout (the steward may be unreachable). The proposal id depends only on the KeyPackage, so
   * proposals made twice are one.
   */
  private async proposeJoiners(now: number): Promise<GroupEffect[]> {
    const s = this.state;
    const out: GroupEffect[] = [];
    for (const [k, kp] of s.pendingKeyPackages)
      out.push(...(await this.proposePending(s.pendingKeyPackages, k, kp, PROPOSAL_ADD, kp.bytes, now)));
    // Members asking to be re-added: their stale leaf goes first. An entry also ends when the leaf is gone
    // (onEpochChange).
    for (const [k, r] of s.pendingRejoins)
      out.push(...(await this.proposePending(s.pendingRejoins, k, r, PROPOSAL_REMOVE, fromHex(k), now)));
    return out;
  }

  /**
   * One pending request (a joiner's KeyPackage, a rejoin): dropped after `keyPackageEpochs`; proposed by
   * the epoch steward at once, by anyone after a consensus timeout (the steward may be unreachable).
   */
  private async proposePending<T extends { epoch: bigint; seenAt: number }>(
    pending: Map<string, T>,
    key: string,
    entry: T,
    kind: number,
    target: Uint8Array,
    now: number,
  ): Promise<GroupEffect[]> {
    if (entry.epoch + BigInt(this.params.keyPackageEpochs) < this.requireGroup().epoch) {
      pending.delete(key);
      return [];
    }
    const fallback = now >= entry.seenAt + this.params.consensusTimeoutMs;
    if (!fallback && !bytesEqual(this.stewards(0)[0]!, this.memberId)) return [];
    if (this.state.proposals.has(proposalId(kind, target))) return [];
    return this.propose(kind, target, now);
  }

  /** The steward (or, after its window, a backup) commits approved proposals. */
  private async stewardCommit(now: number): Promise<GroupEffect[]> {
    const s = this.state;
    if (s.approvedSince === undefined || s.freezeUntil !== undefined) return [];
    const primaryAt = s.approvedSince + this.params.commitDelayMs;
    if (now < primaryAt) return [];
    if (now >= this.retryDue()) {
      // Nobody on the list committed: next retry round, new list.
      s.retry++;
      s.approvedSince = now - this.params.commitDelayMs;
    }
    const list = this.stewards(s.retry);
    const rank = list.findIndex((m) => bytesEqual(m, this.memberId));
    if (rank < 0 || now < primaryAt + rank * this.params.backupDelayMs) return [];
    const approved = [...s.proposals.entries()]
      .filter(([, r]) => r.status === "approved")
      .sort((a, b) => a[1].receivedAt - b[1].receivedAt || (a[0] < b[0] ? -1 : 1))
      .slice(0, this.params.maxProposalsPerCommit);
    if (approved.length === 0) {
      s.approvedSince = undefined;
      return [];
    }
    const adds: Uint8Array[] = [];
    const removes: Uint8Array[] = [];
    const joiners: Uint8Array[] = [];
    for (const [, r] of approved) {
      if (r.proposal.kind === PROPOSAL_ADD) {
        adds.push(r.proposal.target!);
        if (r.joiner) joiners.push(r.joiner);
      } else if (r.proposal.kind !== PROPOSAL_REFRESH) removes.push(r.proposal.target!);
    }
    let out: Awaited<ReturnType<typeof mlsCommit>>;
    try {
      out = await mlsCommit(this.requireGroup(), { adds, removes });
    } catch (e) {
      for (const [, r] of approved) r.status = "rejected"; // a batch that cannot be staged is dropped
      return [this.reject(e instanceof DemlsError ? groupCodeOf(e) : "INVALID", "own commit failed")];
    }
    this.ownCommit = { bytes: out.commit, group: out.group, welcome: out.welcome, added: joiners };
    this.ownCommits.push({ hash: toHex(sha256(out.commit)), group: out.group, added: joiners });
    if (this.ownCommits.length > OWN_COMMITS_KEPT) this.ownCommits.shift();
    const effects = await this.sendFrame(encodeGroupFrame({ commit: out.commit }), now);
    effects.push(...(await this.addCandidate(out.commit, now)));
    return effects;
  }

  /** The last commit this member built, to apply without re-processing if it wins. */
  private ownCommit:
    | { bytes: Uint8Array; group: MlsGroup; welcome: Uint8Array | undefined; added: Uint8Array[] }
    | undefined;

  /** Stages a candidate for the current epoch; checks steward list and proposals; starts the freeze. */
  private async addCandidate(bytes: Uint8Array, now: number): Promise<GroupEffect[]> {
    const s = this.state;
    if (s.candidates.some((c) => bytesEqual(c.bytes, bytes))) return [];
    const group = this.requireGroup();
    let staged: { sender: Uint8Array; proposals: number };
    if (this.ownCommit !== undefined && bytesEqual(this.ownCommit.bytes, bytes)) {
      const approved = [...s.proposals.values()].filter((r) => r.status === "approved").length;
      staged = { sender: this.memberId, proposals: Math.min(approved, this.params.maxProposalsPerCommit) };
    } else {
      const r = await this.stage(group, bytes);
      if (typeof r === "string") return [this.reject(r, "commit candidate rejected")];
      staged = r;
    }
    // Retry rounds advance as members tick, so a member that has not ticked since a round began is behind
    // the sender: accept the rounds that have begun by the clock as well as the next one.
    const roundMs = Math.max(1, this.params.backupDelayMs * this.params.stewardListSize);
    const begun =
      s.approvedSince === undefined ? 0 : Math.max(0, Math.floor((now - this.retryDue()) / roundMs) + 1);
    let rank = -1;
    for (let retry = 0; retry <= s.retry + 1 + begun && rank < 0; retry++)
      rank = this.stewards(retry).findIndex((m) => bytesEqual(m, staged.sender));
    if (rank < 0) return [this.reject("NOT_STEWARD", "commit from a member not on the steward list")];
    s.candidates.push({
      bytes,
      sender: staged.sender,
      stewardRank: rank,
      proposals: staged.proposals,
      hash: sha256(bytes),
    });
    if (s.freezeUntil === undefined) s.freezeUntil = now + this.params.freezeMs;
    return [];
  }

  /** Processes a commit on a copy and checks it only carries known proposals; returns an error code or the facts. */
  private async stage(
    group: MlsGroup,
    bytes: Uint8Array,
  ): Promise<GroupCode | { sender: Uint8Array; proposals: number; processed: Processed }> {
    let p: Processed;
    try {
      p = await processMessage(group, bytes);
    } catch (e) {
      return e instanceof MlsProtocolError ? `COMMIT_${e.code}` : "COMMIT_INVALID";
    }
    if (p.kind !== "commit") return "MALFORMED";
    const known = [...this.state.proposals.values()];
    let n = p.added.length + p.removed.length;
    if (n === 0) {
      // A path-only commit carries the known refresh proposals.
      n = known.filter((r) => r.proposal.kind === PROPOSAL_REFRESH).length;
      if (n === 0) return "EMPTY_COMMIT";
    }
    if (n > this.params.maxProposalsPerCommit) return "OVERSIZED_COMMIT";
    for (const id of p.removed)
      if (
        !known.some(
          (r) =>
            (r.proposal.kind === PROPOSAL_REMOVE || r.proposal.kind === PROPOSAL_LEAVE) &&
            bytesEqual(r.proposal.target!, id),
        )
      )
        return "UNPROPOSED_CHANGE";
    for (const id of p.added)
      if (!known.some((r) => r.joiner !== undefined && bytesEqual(r.joiner, id))) return "UNPROPOSED_CHANGE";
    return { sender: p.sender, proposals: n, processed: p };
  }

  /** End of freeze: apply the best candidate that stages; fall back to the next. */
  private async select(now: number): Promise<GroupEffect[]> {
    const s = this.state;
    const ranked = [...s.candidates].sort(compareCandidates);
    this.selectedAmong = ranked.length;
    s.freezeUntil = undefined;
    s.candidates = [];
    for (const c of ranked) {
      if (this.ownCommit !== undefined && bytesEqual(this.ownCommit.bytes, c.bytes)) {
        const own = this.ownCommit;
        const group = this.requireGroup();
        this.ownCommit = undefined;
        const p = this.ownProcessed(own.group, own.added);
        return this.onEpochChange(p, c.bytes, own.welcome, now, "commit", group);
      }
      const r = await this.stage(this.requireGroup(), c.bytes);
      if (typeof r === "string") continue;
      return this.onEpochChange(
        r.processed as Extract<Processed, { kind: "commit" }>,
        c.bytes,
        undefined,
        now,
        "commit",
      );
    }
    this.ownCommit = undefined;
    return [];
  }

  /** Candidates the running selection chose among, for the `epoch` effect. */
  private selectedAmong = 0;

  /** Bookkeeping after any epoch change: log, proposals, keys, held messages. */
  private async onEpochChange(
    p: Extract<Processed, { kind: "commit" }> | Processed,
    bytes: Uint8Array,
    welcome: Uint8Array | undefined,
    now: number,
    via: string,
    before = this.requireGroup(),
  ): Promise<GroupEffect[]> {
    if (p.kind !== "commit") return [];
    const s = this.state;
    const out: GroupEffect[] = [];
    const group = p.group;
    s.commitLog.push({
      epoch: before.epoch,
      commit: bytes,
      fingerprintAfter: group.fingerprint,
      ...(welcome ? { welcome, added: p.added.map(toHex) } : {}),
    });
    if (s.commitLog.length > this.params.commitLogSize) s.commitLog.shift();
    this.observe(before.epoch, bytes, before.epoch, true);
    this.group = group;
    s.candidates = [];
    s.freezeUntil = undefined;
    s.retry = 0;
    // Proposals the new roster settles are done; the rest stay pending for a later commit.
    const ids = this.rosterIds();
    const inRoster = new Set(ids.map(toHex));
    const has = (id: Uint8Array) => inRoster.has(toHex(id));
    for (const id of p.added) {
      s.addedAt.set(toHex(id), group.epoch);
      s.addedTime.set(toHex(id), now);
    }
    for (const id of s.addedAt.keys()) if (!inRoster.has(id)) s.addedAt.delete(id);
    for (const id of s.addedTime.keys()) if (!inRoster.has(id)) s.addedTime.delete(id);
    // A rejoin is settled once the stale leaf is gone (the member comes back as a joiner).
    for (const id of s.pendingRejoins.keys()) if (!inRoster.has(id)) s.pendingRejoins.delete(id);
    this.rememberFormer(
      roster(before).map((m) => toHex(m.memberId)),
      inRoster,
    );
    for (const [id, r] of s.proposals) {
      const t = r.proposal.target!;
      let done = false;
      if (r.proposal.kind === PROPOSAL_ADD) {
        done = r.joiner === undefined || has(r.joiner);
        if (r.joiner) s.pendingKeyPackages.delete(toHex(r.joiner));
      } else if (r.proposal.kind === PROPOSAL_REFRESH) {
        done = true; // any new epoch is the refresh it asked for
      } else done = !has(t) || (s.addedAt.get(toHex(t)) ?? -1n) > (r.proposal.epoch ?? 0n);
      if (done) s.proposals.delete(id);
    }
    s.approvedSince = [...s.proposals.values()].some((r) => r.status === "approved") ? now : undefined;
    const candidates = via === "commit" ? this.selectedAmong : 0;
    this.selectedAmong = 0;
    out.push({
      type: "epoch",
      epoch: group.epoch,
      fingerprint: group.fingerprint,
      via,
      committer: p.sender,
      candidates,
    });
    if (!isActive(group)) {
      out.push({ type: "removed" });
      return out;
    }
    this.updateParticipants();
    pruneKeyPackageSets(s.keyPackageSets, roster(group));
    const removedSome = roster(before).some((m) => !has(m.memberId));
    if (removedSome) {
      // A removal is a new anchor: the removed member cannot derive the next sync key.
      this.rotateSyncKey({ anchorEpoch: group.epoch, key: await deriveSyncKey(group, s.conversation) });
    }
    if (welcome !== undefined) {
      out.push({
        type: "publish",
        topic: this.topics.welcome,
        bytes: encodeWelcomeFrame({ welcome, sdsLamport: this.sds?.state.lamport ?? 0n }),
      });
      if (s.syncKey)
        out.push(
          ...(await this.sendPayload(
            { syncKey: { anchorEpoch: s.syncKey!.anchorEpoch, key: s.syncKey!.key } },
            now,
          )),
        );
      // The members we added get the KeyPackage store.
      out.push(
        ...(await this.sendPayload({ keyPackageSets: [...s.keyPackageSets.values()].map(toWire) }, now)),
      );
    }
    // Early in a group (a reset's): members added late missed what was re-sent at the reset; send it again
    // (receivers dedupe by chat id).
    if (ids.length > roster(before).length && group.epoch <= 4n)
      out.push(...(await this.resendAbandoned(now, true)));
    else {
      // A member back from a fork could not read what we sent on our branch since it forked: send our
      // recent chats again (receivers dedupe by id).
      const back = p.added.map(toHex).filter((id) => s.rejoined.delete(id));
      if (back.length > 0)
        out.push(...(await this.resendAbandoned(now, false, group.epoch - BigInt(REJOIN_RESEND_EPOCHS))));
    }
    // Messages that waited for this epoch, and candidates already seen for it.
    out.push(...(await this.retryHeld(now)));
    for (const c of s.observedCommits.get(group.epoch) ?? []) out.push(...(await this.addCandidate(c, now)));
    return out;
  }

  /** Held application frames of our epoch or older, read again now that our state changed. */
  private async retryHeld(now: number): Promise<GroupEffect[]> {
    const s = this.state;
    const epoch = this.requireGroup().epoch;
    const held = s.heldApplications.filter((h) => h.epoch <= epoch);
    s.heldApplications = s.heldApplications.filter((h) => h.epoch > epoch);
    const out: GroupEffect[] = [];
    for (const h of held) {
      try {
        out.push(...(await this.onFrame(h.frame, now)));
      } catch (e) {
        if (!(e instanceof DemlsError)) throw e;
        out.push(this.reject(groupCodeOf(e), e.message));
      }
    }
    return out;
  }

  private async receiveWelcomeTopic(bytes: Uint8Array, now: number): Promise<GroupEffect[]> {
    const f = decodeWelcomeFrame(bytes);
    if (f.rejoin !== undefined) return this.onRejoinRequest(f.rejoin, now);
    if (f.keyPackage !== undefined) {
      if (this.group === undefined) return [];
      const kp = await readKeyPackage(f.keyPackage);
      const member = rosterMember(this.group, kp.memberId);
      // Another identity under a member's name (a second node started with a name in use): it can never
      // be added; say so instead of sending the member's Welcome to it again and again.
      if (member !== undefined && !bytesEqual(member.signaturePublicKey, kp.signaturePublicKey))
        return this.nameTaken(kp.memberId, now);
      if (member !== undefined) return this.resendWelcome(kp.memberId, now);
      const key = toHex(kp.memberId);
      const seenAt = this.state.pendingKeyPackages.get(key)?.seenAt ?? now;
      this.state.pendingKeyPackages.set(key, { bytes: f.keyPackage, epoch: this.group.epoch, seenAt });
      return [];
    }
    if (f.welcome === undefined || this.group !== undefined) return [];
    let joined: Awaited<ReturnType<typeof joinFromWelcome>>;
    try {
      joined = await joinFromWelcome(this.identity, f.welcome, this.keyPackages);
    } catch (e) {
      if (e instanceof MlsProtocolError && e.code === "NO_MATCHING_KEY_PACKAGE") return [];
      throw e;
    }
    this.keyPackages = this.keyPackages.filter(
      (k) => k.lastResort || !bytesEqual(k.ref, joined.usedKeyPackage),
    );
    this.adopt(joined.group, now, f.sdsLamport ?? 0n);
    const out: GroupEffect[] = [{ type: "joined", epoch: joined.group.epoch }];
    // What the group sent with the Welcome (the sync key share) can arrive before it: read it now.
    const early = this.early;
    this.early = [];
    const horizon = f.sdsLamport ?? 0n;
    for (const bytes of early)
      try {
        // Only what was sent after the Welcome was built; older traffic was never meant for us.
        if ((decodeSdsMessage(bytes).lamportTimestamp ?? -1n) < horizon) continue;
        out.push(...(await this.onSds(this.sds!.receive(bytes, now), now)));
      } catch (e) {
        if (!(e instanceof DemlsError)) throw e; // another group's traffic, or garbage: never ours to read
      }
    // Their causal history is the group's life before we joined, which we neither need nor can read.
    if (early.length > 0) out.push(...(await this.onSds(this.sds!.skipMissedHistory(), now)));
    // Chats sent before (in a group we left or lost) go out again; receivers dedupe by id.
    out.push(...(await this.resendAbandoned(now, true)));
    return out;
  }

  /**
   * Group traffic that arrived while we had no group (bounded, newest kept): a joiner's Welcome and the
   * messages sent with it race, and a share lost that way cost a resend interval (30 s) per admission.
   */
  private early: Uint8Array[] = [];

  private keepEarly(bytes: Uint8Array): void {
    if (this.group !== undefined || bytes.length > EARLY_BYTES_LIMIT / EARLY_LIMIT) return;
    this.early.push(bytes);
    if (this.early.length > EARLY_LIMIT) this.early.shift();
  }

  /**
   * Adds checked KeyPackage sets (from a member, or fetched from a storage service) to the store. A set
   * we already hold in that version or newer is skipped quietly; a bad one is rejected and counted.
   */
  async importKeyPackageSets(sets: readonly KeyPackageSet[]): Promise<GroupEffect[]> {
    if (this.group === undefined) return [];
    const out: GroupEffect[] = [];
    const group = this.group;
    for (const set of sets) {
      const r = await checkKeyPackageSet(set, (id) => rosterMember(group, id), this.state.keyPackageSets);
      if (r === "STALE_KEY_PACKAGES") continue;
      if (typeof r === "string") out.push(this.reject(r, "KeyPackage set refused"));
      else this.state.keyPackageSets.set(toHex(r.member), r);
    }
    return out;
  }

  /** The stored KeyPackage set of a member (hex id), if any. */
  keyPackageSet(memberId: string): StoredKeyPackageSet | undefined {
    return this.state.keyPackageSets.get(memberId);
  }

  /**
   * Publishes a fresh KeyPackage set in the current group. Older private parts stay (bounded), so a Welcome
   * built from a set another member still holds can be joined.
   */
  private async publishKeyPackageSet(now: number): Promise<GroupEffect[]> {
    const group = this.requireGroup();
    this.state.keyPackageSetGroup = toHex(group.groupId);
    const fresh = await generateKeyPackages(this.identity, this.params.keyPackageSetSize, {
      lastResort: true,
    });
    this.keyPackages = [...fresh, ...this.keyPackages].slice(0, KEY_PACKAGES_KEPT);
    const mine = this.state.keyPackageSets.get(toHex(this.memberId));
    const version = BigInt(Math.max(Math.floor(now), Number(mine?.version ?? -1n) + 1));
    const set = ownSet(this.memberId, version, fresh);
    this.state.keyPackageSets.set(toHex(this.memberId), set);
    return [
      { type: "keyPackageSet", set },
      ...(await this.sendPayload({ keyPackageSets: [toWire(set)] }, now)),
    ];
  }

  /**
   * A rejoin request: from a roster member, signed with its roster key, recent, not seen before; its stale
   * leaf goes to a removal vote. From a non-member (already removed), its KeyPackage is a joiner's.
   */
  private async onRejoinRequest(r: RejoinRequest, now: number): Promise<GroupEffect[]> {
    const group = this.group;
    if (group === undefined) return [];
    if (!r.keyPackage || !r.groupId || r.at === undefined || !r.signature)
      return [this.reject("MALFORMED", "rejoin")];
    if (!bytesEqual(r.groupId, group.groupId)) return [];
    const kp = await readKeyPackage(r.keyPackage).catch(() => undefined);
    if (kp === undefined) return [this.reject("BAD_KEY_PACKAGE", "rejoin KeyPackage")];
    const leaf = rosterMember(group, kp.memberId);
    if (leaf === undefined) {
      const key = toHex(kp.memberId);
      const seenAt = this.state.pendingKeyPackages.get(key)?.seenAt ?? now;
      this.state.pendingKeyPackages.set(key, { bytes: r.keyPackage, epoch: group.epoch, seenAt });
      return [];
    }
    // Re-added from this very request and still asking: its Welcome has not reached it. Acting on the
    // request would remove the new leaf (members welcomed in the same commit know no `addedAt` for it).
    if (bytesEqual(leaf.encryptionKey, kp.encryptionKey)) return this.resendWelcome(kp.memberId, now);
    // Made before the member was last added here: stale (in flight from before, or replayed). A request
    // made since is the member asking again: counting epochs instead ignored it until 3 more epochs came,
    // and in a quiet group none ever did (chaos seed 2198).
    const added = this.state.addedTime.get(toHex(kp.memberId));
    if (added !== undefined && Number(r.at) <= added) return [];
    const tag = toHex(sha256(r.signature));
    if (this.state.seenRejoins.has(tag) || this.state.pendingRejoins.has(toHex(kp.memberId))) return [];
    if (
      !bytesEqual(kp.signaturePublicKey, leaf.signaturePublicKey) ||
      !(await verify(leaf.signaturePublicKey, "rejoin", rejoinBody(r), r.signature))
    )
      return [this.reject("INVALID_SIGNATURE", "rejoin request")];
    if (Math.abs(now - Number(r.at)) > this.params.proposalExpiryMs)
      return [this.reject("STALE_REJOIN", "rejoin request")];
    this.state.seenRejoins.add(tag);
    if (this.state.seenRejoins.size > 256)
      this.state.seenRejoins.delete(this.state.seenRejoins.values().next().value!);
    this.state.pendingRejoins.set(toHex(kp.memberId), { seenAt: now, epoch: group.epoch });
    return [];
  }

  /** When a Welcome was last re-sent to a joiner (hex id): at most once per KeyPackage resend interval. */
  private readonly welcomeResentAt = new Map<string, number>();

  /** A KeyPackage under a member's name, from another identity: rejected, at most once per resend period. */
  private nameTaken(memberId: Uint8Array, now: number): GroupEffect[] {
    const key = `taken/${toHex(memberId)}`;
    const last = this.welcomeResentAt.get(key);
    if (last !== undefined && now < last + this.params.keyPackageResendMs) return [];
    this.welcomeResentAt.set(key, now);
    const name = new TextDecoder().decode(memberId);
    return [this.reject("NAME_TAKEN", `a joiner announced '${name}', a name another member has`)];
  }

  /**
   * A roster member still announcing its KeyPackage never got its Welcome (the welcome topic is not
   * repaired by SDS): the member whose commit added it publishes that Welcome again.
   */
  private resendWelcome(joiner: Uint8Array, now: number): GroupEffect[] {
    const id = toHex(joiner);
    const entry = this.state.commitLog.findLast((c) => c.welcome !== undefined && c.added?.includes(id));
    const last = this.welcomeResentAt.get(id);
    if (entry === undefined || (last !== undefined && now < last + this.params.keyPackageResendMs)) return [];
    this.welcomeResentAt.set(id, now);
    const bytes = encodeWelcomeFrame({ welcome: entry.welcome!, sdsLamport: this.sds?.state.lamport ?? 0n });
    return [{ type: "publish", topic: this.topics.welcome, bytes }];
  }

  private async sendPayload(
    payload: Partial<GroupPayload>,
    now: number,
    options?: SendOptions,
  ): Promise<GroupEffect[]> {
    const r = await encrypt(this.requireGroup(), encodePayload(payload));
    this.group = r.group;
    return this.sendFrame(encodeGroupFrame({ application: r.message }), now, options);
  }

  private async sendFrame(frame: Uint8Array, now: number, options?: SendOptions): Promise<GroupEffect[]> {
    if (this.sds === undefined) throw new GroupError("NO_GROUP", "no channel");
    return this.onSds(this.sds.send(frame, now, options).effects, now);
  }
}
