// The state of one member's group core, declared once: what is saved (`GroupCoreState`, plus the MLS
// group and the own KeyPackages, which the node layer serialises on their own) and what lives only in
// memory (`GroupVolatile`, in volatile.ts: caches, and what a restarted member rebuilds or does without).

import type { Identity, KeyPackageBundle, MlsGroup } from "../mls/index.ts";
import type { Rng } from "../net/transport.ts";
import type { SdsChannel, SdsState } from "../sds/index.ts";
import type { ChatFields } from "./effects.ts";
import type { GroupCode } from "./errors.ts";
import type { Chat, Equivocation, Proposal } from "./frames.ts";
import type { KeyPackageSets } from "./keypackage-store.ts";
import type { GroupParams } from "./params.ts";
import type { PeerScores } from "./peer-score.ts";
import type { StewardList } from "./steward.ts";
import type { Topics } from "./topics.ts";
import type { GroupVolatile } from "./volatile.ts";
import type { VotePolicy } from "./vote-policy.ts";

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
  /** For an add: the signature key of its KeyPackage (a former member back under its own key or not). */
  readonly joinerKey?: Uint8Array;
  /** Waiting for the application's vote (the vote policy says `ask`; a `proposal` effect told it). */
  awaiting?: boolean;
}

/** A commit by a steward for the current epoch, waiting for selection. */
export interface Candidate {
  readonly bytes: Uint8Array;
  readonly sender: Uint8Array;
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
  /** When it was first sent (our clock; absent in states of older versions). */
  readonly at?: number;
  /** Its sequence number and causal predecessors, as first sent (absent in states of older versions). */
  readonly sequence?: number;
  readonly after?: readonly ChatMark[];
}

/** The commits applied from each recent state (hex fingerprint before), kept for `commitLogSize` states. */
export type AppliedCommits = Map<
  string,
  { readonly epoch: bigint; readonly sender: string; readonly commit: Uint8Array }[]
>;

/** A signed chat of another sender, kept to relay (docs/chats.md, "Relays"). */
export interface RelayableChat {
  readonly sender: Uint8Array;
  readonly chat: Chat;
  /** The epoch we read it at, and when (our clock). */
  readonly epoch: bigint;
  readonly at: number;
}

/** A chat named by id, with the epoch it was sent at (docs/chats.md). */
export interface ChatMark {
  readonly id: Uint8Array;
  readonly epoch: bigint;
}

/** A chat received before its causal predecessors: delivered once they are, or after `chatHoldMs`. */
export interface HeldChat extends ChatFields {
  readonly after: readonly ChatMark[];
  /** Our clock when it arrived. */
  readonly heldAt: number;
}

/** How a member left one of our rosters. */
export type Departure =
  /** Removed by a proposal of another member (or a removal applied from a catch-up answer). */
  | "removed"
  /** Its own leave. */
  | "left"
  /** Its stale leaf removed at its own signed rejoin request. */
  | "rejoin"
  /** A group we moved to (a hard reset's, or the one a rejoin of ours brought us back to) without it. */
  | "reset";

/** A time a member was out of our roster. */
export interface Absence {
  readonly how: Departure;
  /** Our clock when we took the roster without it: chats we sent from then on were never its to read. */
  readonly from: number;
  /** Its signature key in the roster it left: an add under another key is not this member back. */
  readonly key: Uint8Array | undefined;
  /** Our clock when an add brought it back (undefined while it is out). */
  to?: number;
}

/** Counters of rejected and notable input, by code. */
export type GroupCounters = Partial<Record<GroupCode, number>>;

/** A pending request to propose (a joiner's KeyPackage, a rejoin), when seen and at which epoch. */
export interface PendingRequest {
  readonly seenAt: number;
  readonly epoch: bigint;
}

/** Everything a member remembers besides the MLS group value and its KeyPackages. Persisted, all of it. */
export interface GroupCoreState {
  readonly conversation: string;
  /** The SDS channel of the current group (undefined without a group). */
  sds: SdsState | undefined;
  /** Joiners' KeyPackages (hex member id → KeyPackage) waiting to be proposed. */
  readonly pendingKeyPackages: Map<string, PendingRequest & { bytes: Uint8Array }>;
  readonly proposals: Map<string, ProposalRecord>;
  /** Voter → hash of its last vote, for the hash chain. */
  readonly voteChain: Map<string, Uint8Array>;
  candidates: Candidate[];
  freezeUntil: number | undefined;
  /** Retry round of the current epoch (a steward failed to commit). */
  retry: number;
  /**
   * The steward list in force at each of our recent states, by the state's fingerprint (hex), oldest
   * first (bounded): a list serves several epochs, and a rewind must find the one of the state it
   * takes.
   */
  readonly stewardLists: Map<string, StewardList>;
  /** Since when approved proposals wait for a commit. */
  approvedSince: number | undefined;
  commitLog: CommitRecord[];
  /** Commit frames seen for epochs other than the current one, by epoch (fork and catch-up material). */
  readonly observedCommits: Map<bigint, Uint8Array[]>;
  /** Commits we applied from each recent state, by its fingerprint (src/group/equivocation.ts). */
  readonly appliedCommits: AppliedCommits;
  /** Equivocations acted on, as `equivocator:epoch` (each lowers a score once), oldest first, bounded. */
  readonly equivocations: Set<string>;
  /** The states their two commits lead to (epoch + 1), the lower hash's first: the sync tie-break. */
  equivocationForks: { epoch: bigint; winner: Uint8Array; loser: Uint8Array }[];
  /**
   * Evidence we sent, with the state we sent it from (the last few): sent again when that state leaves
   * our history (we re-aligned), since members of the other branch could not read it.
   */
  evidenceSent: {
    readonly evidence: Equivocation;
    /** The equivocator (hex): a removal we propose carries its evidence (absent in older saves). */
    readonly who?: string;
    readonly epoch: bigint;
    readonly fingerprint: Uint8Array;
  }[];
  /** Peer scores that left the default (src/group/peer-score.ts). */
  readonly peerScores: PeerScores;
  /** Application frames for epochs not reached yet, or unreadable at ours. */
  heldApplications: { epoch: bigint; frame: Uint8Array }[];
  readonly seenChats: Set<string>;
  sentChats: SentChat[];
  /** Our chats sent so far in this conversation: the last sequence number used. */
  chatSequence: number;
  /**
   * The causal predecessors of our next chat (docs/chats.md): our previous chat and the newest chat of
   * each other sender delivered since, by sender (hex), oldest first, at most `MAX_CHAT_AFTER`.
   */
  readonly chatAfter: Map<string, ChatMark>;
  /** Chats waiting for their predecessors, in arrival order (bounded by `heldChatsLimit`). */
  heldChats: HeldChat[];
  /** The first epoch of the current group we could read: predecessors sent before it are not waited for. */
  chatsFrom: bigint;
  /** SDS message id of each copy of our chats still in flight → the chat's id (hex), oldest first. */
  readonly chatCopies: Map<string, string>;
  /** Our chats (hex ids) every member acknowledged, newest last (bounded). */
  readonly deliveredChats: Set<string>;
  /** Signed chats of other senders, newest last (`relayChatsKept`), to relay for senders that are not live. */
  relayable: RelayableChat[];
  /** Groups (hex ids) we were in before the current one, newest last (at most 8). */
  pastGroupIds: string[];
  /** The application asked to leave: asked again if the leave is undone (docs/sync.md, "Removed on a branch that lost"). */
  leaving: boolean;
  /**
   * The commit that removed us settled a removal of our leaf as stale (`staleLeaf`: the group took us for
   * a member that never got its Welcome, or one asking to rejoin): the group means to add us again.
   */
  removedAsStale: boolean;
  /** The sync key (docs/sync.md) and the anchor epoch it was exported at. */
  syncKey: { anchorEpoch: bigint; key: Uint8Array } | undefined;
  /** The last `PREVIOUS_SYNC_KEYS` sync keys, newest first: members behind us still use them. */
  previousSyncKeys: Uint8Array[];
  /**
   * The anchors of the sync keys we held, oldest first (group id hex, anchor epoch, key; at most
   * `PREVIOUS_SYNC_KEYS` + 1): rewound below the current key's anchor, we take the key of the anchor in
   * force at the state we rewound to (docs/sync.md, "The key of a rewound state").
   */
  syncKeyAnchors: { groupId: string; anchorEpoch: bigint; key: Uint8Array }[];
  /** Without a group: when the KeyPackage (or rejoin request) goes out again; with one: the key share ask. */
  nextKeyPackageAt: number;
  /** The KeyPackage store: the newest set of every roster member, ours included (saved in its own table). */
  readonly keyPackageSets: KeyPackageSets;
  /** Group id (hex) our current set was announced in: a new group (a reset's) gets a new one. */
  keyPackageSetGroup: string | undefined;
  /** Our rejoin request (an encoded WelcomeFrame), announced instead of a plain KeyPackage until welcomed. */
  rejoinRequest: Uint8Array | undefined;
  /** Roster members (hex) that asked to be re-added: their stale leaf is proposed for removal. */
  readonly pendingRejoins: Map<string, PendingRequest>;
  /** Roster members (hex) whose verified rejoin request waits (cooldown): SDS waits for no ack of theirs. */
  readonly rejoinWaiting: Set<string>;
  /**
   * Members (hex) that were in a roster of ours and left it, with their absences, newest last (bounded):
   * an add of one is a re-admission, and when one is added again our recent chats go out again, except
   * those sent while it was out after a removal or a leave.
   */
  readonly formerMembers: Map<string, Absence[]>;
  /** Epoch at which each member (hex) was last added: removals proposed before it are stale. */
  readonly addedAt: Map<string, bigint>;
  /** When (our clock) each member (hex) was last added: a rejoin request made before it is stale. */
  readonly addedTime: Map<string, number>;
  /** Hashes of rejoin requests acted on: a replay is ignored. */
  readonly seenRejoins: Set<string>;
  /**
   * When (our clock) each roster member (hex) was last heard in the group: an application message of its
   * that decrypted under our state (MLS authenticates the sender). A member added but never heard since,
   * still announcing the KeyPackage it was added with, never got its Welcome.
   */
  readonly lastHeard: Map<string, number>;
  /**
   * Rejoin requests acted on per member (hex), in the group and epoch of ours they came in: at most
   * `rejoinRequestsPerEpoch` each. Only roster members and members with a queued KeyPackage are counted,
   * entries of earlier epochs dropped: bounded by those.
   */
  readonly rejoinsActed: Map<string, { groupId?: string; epoch: bigint; count: number }>;
  /** Our clock at each rejoin of a member (hex) acted on within `rejoinBackoffWindowMs`: its backoff. */
  readonly rejoinTimes: Map<string, number[]>;
  /** Commit resolution of the current epoch: attested commits we pull, what we attested and answered. */
  commitPulls: CommitPulls;
  readonly counters: GroupCounters;
}

/** A commit of the current epoch that other members attested and we have not staged (`commit-pull.ts`). */
export interface AttestedCommit {
  /** When we first saw it attested (our clock): its body's freeze counts from then. */
  readonly firstAt: number;
  /** Members that attested it (at most `MAX_HOLDERS`): each pull asks the next two. */
  readonly holders: Uint8Array[];
  /** Pulls sent so far; after `MAX_PULLS` the commit is given up (`nextAt` infinite). */
  pulls: number;
  /** When the next pull goes out. */
  nextAt: number;
}

/** Commit resolution within one epoch (`commit-pull.ts`); reset when the epoch changes. */
export interface CommitPulls {
  epoch: bigint;
  /** Attested commits we lack, by hash (hex); at most `observedPerEpoch`. */
  readonly attested: Map<string, AttestedCommit>;
  /** Distinct hashes each member (hex) attested this epoch that we lacked: a few each. */
  readonly bySender: Map<string, number>;
  /** When we last answered a pull for a hash (hex): several pulls at once get one answer. */
  readonly answered: Map<string, number>;
  /** Hashes (hex) we attested this epoch. */
  readonly sent: Set<string>;
  /** The proposals (ids joined) we last tried refused commits of this epoch with (`retryRefused`). */
  refusedWith?: string;
}

/** A fresh core state. */
export function newGroupState(conversation: string): GroupCoreState {
  return {
    conversation,
    sds: undefined,
    pendingKeyPackages: new Map(),
    proposals: new Map(),
    voteChain: new Map(),
    candidates: [],
    freezeUntil: undefined,
    retry: 0,
    stewardLists: new Map(),
    approvedSince: undefined,
    commitLog: [],
    observedCommits: new Map(),
    appliedCommits: new Map(),
    equivocations: new Set(),
    equivocationForks: [],
    evidenceSent: [],
    peerScores: new Map(),
    heldApplications: [],
    seenChats: new Set(),
    sentChats: [],
    chatSequence: 0,
    chatAfter: new Map(),
    heldChats: [],
    chatsFrom: 0n,
    chatCopies: new Map(),
    deliveredChats: new Set(),
    relayable: [],
    pastGroupIds: [],
    leaving: false,
    removedAsStale: false,
    syncKey: undefined,
    previousSyncKeys: [],
    syncKeyAnchors: [],
    nextKeyPackageAt: 0,
    keyPackageSets: new Map(),
    keyPackageSetGroup: undefined,
    rejoinRequest: undefined,
    pendingRejoins: new Map(),
    rejoinWaiting: new Set(),
    addedAt: new Map(),
    addedTime: new Map(),
    formerMembers: new Map(),
    seenRejoins: new Set(),
    lastHeard: new Map(),
    rejoinsActed: new Map(),
    rejoinTimes: new Map(),
    commitPulls: newCommitPulls(-1n),
    counters: {},
  };
}

/** Empty commit resolution for `epoch`. */
export function newCommitPulls(epoch: bigint): CommitPulls {
  return { epoch, attested: new Map(), bySender: new Map(), answered: new Map(), sent: new Set() };
}

/**
 * One member's group core: its identity and parameters, its persisted and volatile state, its MLS group
 * and its SDS channel. Every rule of the layer is a function over this value.
 */
export interface GroupCore {
  readonly identity: Identity;
  readonly params: GroupParams;
  /** How this member votes, per kind of proposal. */
  readonly policy: VotePolicy;
  readonly rng: Rng;
  readonly topics: Topics;
  /** Persisted. */
  readonly state: GroupCoreState;
  /** In memory only. */
  readonly vol: GroupVolatile;
  /** Persisted (serialised by the node layer): the MLS group value, undefined before joining. */
  group: MlsGroup | undefined;
  /** Persisted (serialised by the node layer): own KeyPackages (private parts), for joining. */
  keyPackages: KeyPackageBundle[];
  /** The SDS channel over `state.sds` (a facade over persisted state; rebuilt on restore). */
  sds: SdsChannel | undefined;
}
