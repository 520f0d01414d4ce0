// The group core's volatile part: values that hold MLS states and short-lived bookkeeping, kept outside
// `GroupCoreState` and saved with the snapshot through `persist.ts` (docs/architecture.md).
import type { MlsGroup } from "../mls/index.ts";

/** What we know of one sender's chats (src/group/chat-pull.ts): what arrived, and how far it has sent. */
export interface SenderChats {
  /** The first sequence owed to us: below it, chats may predate us. */
  first: number;
  /** The newest sequence we know it sent (arrived or announced). */
  high: number;
  readonly have: Set<number>;
  /** Missing sequence → times asked. */
  readonly asked: Map<number, number>;
  /** A member (hex) that announced it holds this sender's chats up to `high`: asked first while the sender is quiet. */
  holder?: string;
  /** When this sender's chats may be pulled again (the wait doubles with each attempt). */
  nextPullAt?: number;
  /** When the newest of its chats arrived here (our clock): a departed sender's count is announced after. */
  arrivedAt?: number;
}

/** Our own commit, with the state it leads to (MLS does not let a member process its own commit). */
export interface OwnCommit {
  readonly group: MlsGroup;
  /** Member ids the commit adds. */
  readonly added: Uint8Array[];
}

/**
 * What a member keeps outside `GroupCoreState`: values that hold MLS states (encoded by the MLS layer, not
 * plain data) and short-lived bookkeeping. Saved with the snapshot through `persist.ts`, except the two
 * caches, which are derived again.
 */
export interface GroupVolatile {
  /**
   * Commits this member built, by hash, with the state each leads to: a member whose own commit became
   * the majority's epoch (selected by the others, or by itself and then rewound off) takes that branch
   * with it. Bounded by `ownCommitsKept`.
   */
  readonly ownCommits: (OwnCommit & { readonly hash: string })[];
  /** The last commit this member built, to apply without re-processing if selection picks it. */
  ownCommit:
    | (OwnCommit & { readonly bytes: Uint8Array; readonly welcome: Uint8Array | undefined })
    | undefined;
  /** Cache, not saved: steward rotations by state (fingerprint) and retry round, asked on every reschedule. */
  readonly stewardCache: Map<string, Uint8Array[]>;
  /** Cache, not saved: proposal ids of pending requests, by entry (its kind and target never change). */
  readonly pendingIds: WeakMap<object, string>;
  /** Time of the last tick: a commit slot already passed is not a reason to wake again. */
  lastTick: number;
  /** A vote reached a count at which a proposal may be decided: tick now rather than at the timeout. */
  decisionDue: boolean;
  /** Candidates the running selection chose among, for the `epoch` effect (0 between steps: not saved). */
  selectedAmong: number;
  /**
   * Group traffic that arrived while we had no group (bounded, newest kept): a joiner's Welcome and the
   * messages sent with it (the sync key share) race.
   */
  early: Uint8Array[];
  /** When a Welcome was last re-sent to a joiner (hex id), or a name clash reported (`taken/` + id). */
  readonly welcomeResentAt: Map<string, number>;
  /** Chat pulls (src/group/chat-pull.ts): what we know of each sender's sequence numbers, by sender (hex). */
  readonly chatSeqs: Map<string, SenderChats>;
  /** When the next round of chat pulls may go out. */
  nextChatPullAt: number;
  /** Chats served to each requester (hex) in its current `chatPullMs` interval. */
  readonly chatPullServed: Map<string, { readonly at: number; readonly count: number }>;
  /** When a commit we applied added each member (hex): chats before it were never its to read. */
  readonly rosterSince: Map<string, number>;
  /** Private halves of our recent pull answer keys, by public key (hex; not saved: a restart asks again). */
  readonly answerKeys: Map<string, Uint8Array>;
  /**
   * The group (hex id) we last asked to be re-added to, ours or a reset group of it (not saved): in it, a
   * sender we never heard announce may owe us chats from our first add on, which responders still check.
   */
  rejoinedGroup: string | undefined;
  /** When we last entered a group (a Welcome, a reset group; not a step within ours). */
  enteredAt: number | undefined;
}

/** Fresh volatile state (at creation and after a restart). */
export function newGroupVolatile(): GroupVolatile {
  return {
    ownCommits: [],
    ownCommit: undefined,
    stewardCache: new Map(),
    pendingIds: new WeakMap(),
    lastTick: Number.NEGATIVE_INFINITY,
    decisionDue: false,
    selectedAmong: 0,
    early: [],
    welcomeResentAt: new Map(),
    chatSeqs: new Map(),
    nextChatPullAt: 0,
    chatPullServed: new Map(),
    rosterSince: new Map(),
    answerKeys: new Map(),
    rejoinedGroup: undefined,
    enteredAt: undefined,
  };
}
