// The sync core's state of one member, declared once: `SyncState` is saved with the member and survives a
// restart; `SyncVolatile` lives as long as the process (a restarted member starts it afresh).
import type { KeyPackageBundle } from "../mls/index.ts";
import type { SyncStatus, Verdict, View } from "./classify.ts";
import type { SyncCounters } from "./codes.ts";
import type { CatchUpResponse, ResetProposal, ResetWelcome, SyncStateInfo } from "./wire.ts";

/** Catch-up answer bytes charged against a budget since `since`. */
export interface Spent {
  readonly since: number;
  readonly bytes: number;
}

/** The newest state of our chain a member's signed gossip showed it at. */
export interface SeenOnChain {
  /** Hex id of the group it was in. */
  readonly groupId: string;
  readonly epoch: bigint;
  readonly fingerprint: Uint8Array;
}

/** A member's freshest SyncStateInfo, with the group (hex id) it was sent from. */
export type GroupView = View & { groupId: string };

/** Our catch-up request waiting for its answer. */
export interface PendingCatchUp {
  /** The request's nonce: its answers carry it, and it picks the responders. */
  readonly nonce: Uint8Array;
  readonly sentAt: number;
  /** The majority state asked for. */
  readonly epoch: bigint;
  readonly fingerprint: Uint8Array;
  /**
   * Responders (hex ids) whose signed answers said no path leads to this state, over this request and
   * the earlier ones for the same state (src/sync/catchup-nopath.ts).
   */
  readonly noPath?: readonly string[];
}

/** One vote of a reset round as tallied. */
export interface RoundVote {
  readonly yes: boolean;
  readonly keyPackage?: Uint8Array;
  /** The signature and the KeyPackage hash it covers: the vote as it goes into a certificate. */
  readonly signature?: Uint8Array;
  readonly keyPackageHash?: Uint8Array;
}

/** One reset proposal as a member tracks it. */
export interface ResetRound {
  readonly proposal: ResetProposal;
  /** The vote's id: SHA-256(old group id ‖ attempt). */
  readonly id: Uint8Array;
  /** The group the reset makes (`resetGroupId`); every attempt and operator makes this id. */
  readonly groupId: Uint8Array;
  /** The old group's sync key when the round began: the new group's key is chained from it. */
  readonly parentKey: Uint8Array;
  readonly startedAt: number;
  /** Votes by voter (hex id), with what a certificate needs of each: its KeyPackage hash and signature. */
  readonly votes: Map<string, RoundVote>;
  /** The ids of the sync keys (hex) each voter's vote arrived under: the operator chains from one all hold. */
  readonly voteKeys: Map<string, string[]>;
  /**
   * The KeyPackages (private parts) of our votes in this reset's attempts, newest first. The member saves
   * them beside the snapshot (serialized KeyPackages), not inside it.
   */
  myKeyPackages: KeyPackageBundle[];
  /** When the vote was decided YES. */
  decidedAt?: number;
  /** Decided NO, every operator's turn passed, or we are in a group of the round. */
  done: boolean;
  /** Operator (hex id) of the new group we are in; a better-ranked operator's Welcome replaces it. */
  joinedVia?: string;
  /**
   * As operator: our Welcome and the old group's sync keys it goes under, repeated while a member of the
   * new roster has not been heard in the new group (its Welcome may have been lost), at most
   * `repeatsLeft` more times, and whenever a roster member is heard in another group; the next is due at
   * `repeatAt`.
   */
  repeat?: {
    /** The Welcome payload as sent (with its parent key id and operator signature). */
    payload: ResetWelcome;
    /** The keys it goes under: the parent key and every key we seal under. */
    keys: Uint8Array[];
    repeatsLeft: number;
    repeatAt: number | undefined;
    lastAt: number;
    /** A roster member was heard in another group since the last repeat: repeat beyond the budget. */
    asked: boolean;
    /** A roster member was heard forked in our group's id since the last repeat: repeat within the budget. */
    forked?: boolean;
  };
}

/**
 * What the sync core remembers across a restart: the member saves all of it with its snapshot (v8
 * serialize; `reset.myKeyPackages` separately). Every field is persisted.
 */
export interface SyncState {
  /** Sequence number of our last SyncStateInfo: peers drop an info not above the last they saw. */
  seqnum: bigint;
  /** The last seqnum seen per member (hex id): replays are dropped. */
  readonly lastSeq: Map<string, bigint>;
  /** The freshest view of each member (hex id), in whatever group it was sent from. */
  readonly views: Map<string, GroupView>;
  /** Signature keys of every member ever seen in a roster: forks and resets keep identities. */
  readonly directory: Map<string, Uint8Array>;
  /**
   * Roster (sorted hex member ids) of each of our recent states, by hex fingerprint, oldest first, at most
   * the group's history size: for the agreed roster. Equal rosters share one array.
   */
  readonly rosters: Map<string, string[]>;
  /** When our next heartbeat is due (brought forward by answers and state hints). */
  nextGossipAt: number;
  /** When we last sent our SyncStateInfo: early answers wait for part of an interval after it. */
  lastGossipAt: number;
  /** When our epoch (or group) last changed: no verdict within `settleMs` of it. */
  lastEpochChangeAt: number;
  /** The last verdict's status. */
  status: SyncStatus;
  /** Since when the verdict is HARD (a reset is proposed once it lasted `hardAfterMs`). */
  hardSince: number | undefined;
  /**
   * Since when we are AHEAD of the majority on a state no other member holds. Optional: a fresh state
   * does not carry the field until a verdict sets it.
   */
  aloneAheadSince?: number | undefined;
  /** Our catch-up request waiting for its answer. */
  catchUp: PendingCatchUp | undefined;
  /** The reset round about our group (or the last one), if any. */
  reset: ResetRound | undefined;
  /**
   * The round whose group we are in (as its operator or by its operator's Welcome), kept when a later
   * round (a reset of that group) replaces `reset`: a better-ranked operator's group of it replaces ours
   * at any epoch, and as operator we repeat our Welcome to members heard in a competing group of its id.
   * Persisted without its KeyPackages (they move to the later round's). Optional: older snapshots lack it.
   */
  joinedRound?: ResetRound | undefined;
  /** We asked to be re-added (forked beyond the retained epochs) and wait for the Welcome. */
  rejoining: boolean;
  /** Dropped inputs and notable steps, by code. */
  readonly counters: SyncCounters;
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

/** One group a chain of resets below ours makes, with its sync key and the key that one is chained from. */
export interface LineageGroup {
  readonly groupId: Uint8Array;
  readonly key: Uint8Array;
  readonly parentKey: Uint8Array;
}

/**
 * What the sync core keeps beside `SyncState`: short-lived bookkeeping, saved with the snapshot through
 * {@link saveSyncMemory}, and three caches at the end, derived from the state and the group and
 * remembered only because they are asked for on every tick or message (not saved).
 */
export interface SyncVolatile {
  /** The last verdict, with its evidence (undefined before the first). */
  verdict: Verdict | undefined;
  /** SyncStateInfo messages this core sent since it was created (for overhead figures). */
  gossipSent: number;
  /** Their bytes. */
  gossipBytes: number;
  /** Our state (hex fingerprint) that a state hint last brought our gossip forward in: once per state. */
  hinted: string | undefined;
  /** When views of another state than ours ask for a verdict (none pending: infinity). */
  classifyAt: number;
  /** When the sync core last ticked: a reset Welcome between ticks judges "left behind" as of then. */
  lastTickAt: number;
  /** Since when our roster is seen to have moved on to a reset group without us. */
  leftBehindSince: number | undefined;
  /** When a sync message last came sealed under a key we do not hold (the conversation goes on without us). */
  unreadableAt: number | undefined;
  /** Since when we read nobody of our group while unreadable traffic goes on. */
  strandedSince: number | undefined;
  /** Since when we hold a group without its sync key (see `KEYLESS_REJOIN`). */
  keylessSince: number | undefined;
  /** Since when the majority's state lies below every state we hold (see `MAJORITY_BELOW_HISTORY`). */
  majorityBelowSince: number | undefined;
  /** Since when we are behind or forked from a majority without moving an epoch (see `CATCH_UP_STUCK`). */
  stuckSince: number | undefined;
  /**
   * The signed responders (hex) of the answers to our catch-up that brought the commit (at `epoch`)
   * removing us from group `groupId` flagged `stale_leaf`: counted by the removal check that follows
   * (removal-check.ts).
   */
  flaggedOnRemoval?: { groupId: string; epoch: bigint; responders: string[] };
  /** Removed from a group: the check that the group kept the commit (removal-check.ts). */
  removalCheck:
    | {
        groupId: string;
        epoch: bigint;
        since: number;
        done: boolean;
        confirmed: boolean;
        /**
         * Signed answers of distinct responders that confirmed the removal say they hold our leaf's removal
         * as a stale leaf's (`CatchUpResponse.stale_leaf`): the group means to add us again, though we never
         * saw the proposal flagged so.
         */
        staleLeaf?: boolean;
        /** The distinct responders (hex) whose signed answers flagged it so, until they are enough. */
        staleLeafFrom?: string[];
        /** Nonces (hex) of the check's last requests: their answers count after the request was cleared. */
        nonces?: string[];
        /** The check's last step, and the time since it began without a majority (not counted). */
        lastAt?: number;
        waitedMs?: number;
        /** The last seqnum of each member's info when the check began: later infos show a member went on. */
        seqAtStart?: ReadonlyMap<string, bigint>;
      }
    | undefined;
  /**
   * Older sync keys that peers behind us sent under since our last gossip (it goes out under them too),
   * by hex key: with the infos that asked for it (member, seqnum), or none for members a reset left
   * behind (`behind`: always answered).
   */
  readonly answerKeys: Map<string, { key: Uint8Array; askers?: Map<string, bigint>; behind?: Set<string> }>;
  /**
   * The newest seqnum of each member's info we opened under our current sync key (hex key, seqnum): a
   * member seen holding the current key needs no answer under an older one.
   */
  readonly currentKeySeq: Map<string, { key: string; seqnum: bigint }>;
  /** The newest checked info of each member (signed), to relay under an older key (relay.ts). */
  readonly relayInfos: Map<string, SyncStateInfo>;
  /** Per older key (hex), when we last relayed each member's info under it. */
  readonly relayed: Map<string, Map<string, number>>;
  /** Per older key (hex), the members last heard under it, and when: they hold it too. */
  readonly keyHolders: Map<string, Map<string, number>>;
  /**
   * The last catch-up request we acted on, per requester (hex id), and the epochs of the commits its
   * answer carries (from, and the one after the last): a repeat for any but later commits is throttled. Keys are verified requesters, members of
   * our recent rosters (as in the three maps below): bounded by those.
   */
  readonly served: Map<string, { at: number; from: bigint; to: bigint }>;
  /** Catch-up answer bytes charged to each requester (hex id) in its budget window. */
  readonly spent: Map<string, Spent>;
  /** Catch-up answer bytes charged to all requesters together in the window. */
  spentTotal: Spent | undefined;
  /** The newest state of our chain each member's signed gossip showed it at: answers start near it. */
  readonly seen: Map<string, SeenOnChain>;
  /** Reset rounds each proposer (hex id) started here, in our group's epoch then. */
  readonly resetsStarted: Map<string, { groupId: string; epoch: bigint; rounds: number }>;
  /**
   * Answers to other members' catch-up requests, oldest first, at most `heardBatches`: a member behind
   * takes a heard answer that carries its epoch instead of asking. No weaker than its own answer: requests
   * travel to every holder of the sync key, nonce included, and every commit is checked by MLS as it
   * applies.
   */
  readonly heard: CatchUpResponse[];
  /** Cache: the hex ids of our roster, for the state (hex fingerprint) they were read at. */
  rosterCache: { key: string; ids: Set<string> } | undefined;
  /**
   * Cache: the reset lineage below our group, for the group id, current sync key and number of keys held
   * it was derived from.
   */
  lineageCache: { groupId: Uint8Array; key: Uint8Array; from: number; groups: LineageGroup[] } | undefined;
  /**
   * Cache: the YES voters of a round in operator order, for the round and the number of votes it had
   * (ranking hashes every voter; it is asked on every tick after the vote closes).
   */
  operatorsCache: { round: ResetRound; votes: number; ops: string[] } | undefined;
}

/**
 * The saved part of {@link SyncVolatile}: everything but the caches and the infos kept to relay (plain
 * data, `node:v8` serialisable).
 */
export type SavedSyncMemory = Omit<
  SyncVolatile,
  "rosterCache" | "lineageCache" | "operatorsCache" | "relayInfos" | "relayed" | "keyHolders"
>;

/** The saved form of `v` (read at once by the caller's serialiser: it shares `v`'s maps). */
export function saveSyncMemory(v: SyncVolatile): SavedSyncMemory {
  const {
    rosterCache: _r,
    lineageCache: _l,
    operatorsCache: _o,
    relayInfos: _i,
    relayed: _d,
    keyHolders: _h,
    ...saved
  } = v;
  return saved;
}

/** The bookkeeping of a member restored from `saved` (fresh when nothing was saved), caches empty. */
export function restoreSyncMemory(saved: SavedSyncMemory | undefined): SyncVolatile {
  return { ...newSyncVolatile(), ...saved };
}

export function newSyncVolatile(): SyncVolatile {
  return {
    verdict: undefined,
    gossipSent: 0,
    gossipBytes: 0,
    hinted: undefined,
    classifyAt: Number.POSITIVE_INFINITY,
    lastTickAt: 0,
    leftBehindSince: undefined,
    unreadableAt: undefined,
    strandedSince: undefined,
    keylessSince: undefined,
    majorityBelowSince: undefined,
    stuckSince: undefined,
    removalCheck: undefined,
    answerKeys: new Map(),
    currentKeySeq: new Map(),
    relayInfos: new Map(),
    relayed: new Map(),
    keyHolders: new Map(),
    served: new Map(),
    spent: new Map(),
    spentTotal: undefined,
    seen: new Map(),
    resetsStarted: new Map(),
    heard: [],
    rosterCache: undefined,
    lineageCache: undefined,
    operatorsCache: undefined,
  };
}
