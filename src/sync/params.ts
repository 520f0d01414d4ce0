// Named parameters of the sync layer: gossip, classification, catch-up, hard reset and lineage. Times in
// milliseconds (every field named `...Ms` is a duration: `scaleTimers` stretches exactly those).
import { SyncError } from "./codes.ts";

/** Tunables of the sync layer. */
export interface SyncParams {
  // Gossip and classification.
  /** Mean gossip interval (heartbeat); each send is jittered by ±`gossipJitter`. */
  readonly gossipIntervalMs: number;
  /** A heartbeat is due `gossipIntervalMs` × (1 ± this), uniformly: members spread their sends out. */
  readonly gossipJitter: number;
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
  /**
   * Such early answers per `gossipIntervalMs` at most: a member flooding claims cannot make us flood.
   */
  readonly answersPerInterval: number;
  /** Ancestry entries a SyncStateInfo may carry (ours: 16 dense, then powers of two within `H`). */
  readonly maxAncestry: number;
  /** No verdict this long after an epoch change (commits still spreading). */
  readonly settleMs: number;
  /**
   * A roster member not heard from for this many view windows is taken as gone (dead, or away for good)
   * by the classification, up to ⌊(n − 1)/3⌋ of them: it no longer blocks the majority of the others
   * (docs/sync.md, "Long-silent members").
   */
  readonly goneAfterWindows: number;
  /**
   * A member that reads nobody of its group for this many view windows while traffic it cannot read
   * goes on in the conversation (sealed under sync keys it does not hold) asks to be re-added (docs/sync.md,
   * "Stranded members"): it holds a state, or a key, the group left behind.
   */
  readonly strandedAfterWindows: number;
  // Catch-up.
  /** A catch-up request not answered within this is repeated. */
  readonly catchUpRetryMs: number;
  /** Members that answer a catch-up request (lowest hashes among holders of the target). */
  readonly catchUpResponders: number;
  /**
   * A catch-up answer carries commits up to about this many bytes (at least one); the requester asks for
   * the rest as soon as it has applied them. Waku relay refuses messages over 150 KiB.
   */
  readonly catchUpMaxBytes: number;
  /**
   * A holder acts on one request per requester per `catchUpRetryMs / catchUpServesPerRetry`, unless it
   * asks only for commits after those the last answer to it carried (the follow-up of a cut answer, or
   * of a group that moved on since).
   */
  readonly catchUpServesPerRetry: number;
  /** The window of the answer budgets below: what was charged longer ago no longer counts. */
  readonly catchUpBudgetMs: number;
  /**
   * Answer bytes the group sends one requester per `catchUpBudgetMs`, as every holder of the target
   * counts them: each request acted on is charged `catchUpResponders` times its answer's size. A request
   * from a requester already at the budget gets no answer (`CATCH_UP_BUDGET`); one below it is answered
   * whole (at most `catchUpMaxBytes` per responder).
   */
  readonly catchUpRequesterBytes: number;
  /** The same, over all requesters together: what many verified requesters can make the group send. */
  readonly catchUpTotalBytes: number;
  /** Commits a catch-up answer may carry (a responder stops at `catchUpMaxBytes`); more is dropped. */
  readonly maxCatchUpCommits: number;
  /**
   * Answers to other members' catch-up requests kept, to move forward through before asking (each at
   * most `catchUpMaxBytes`).
   */
  readonly heardBatches: number;
  // Hard reset.
  /** `W_hard`: HARD must persist this long before a reset is proposed. */
  readonly hardAfterMs: number;
  /**
   * Reset rounds one member may start per epoch of ours (its proposal starts a round when it is the
   * first of a new attempt we see). A proposal beyond it is refused (`RESET_RATE_LIMITED`) before any
   * signature check, KeyPackage or vote is spent on it; we propose no more than that ourselves.
   */
  readonly resetProposalsPerEpoch: number;
  /** Reset vote closes after this (silent = YES). */
  readonly resetVoteTimeoutMs: number;
  /** A reset operator that has not delivered within this is replaced by the next. */
  readonly resetOperatorTimeoutMs: number;
  /**
   * Repeats of its reset Welcome an operator sends on its own timer while a member of the new roster is
   * not heard in the new group. The Welcome goes once over a channel nothing repairs: a member that lost
   * it would stay in the old group until its own fail-over turn and then build a group nobody joins.
   * Beyond these, a repeat goes only when a roster member is heard in another group.
   */
  readonly resetWelcomeRepeats: number;
  /** The operator's Welcome repeats come every `resetOperatorTimeoutMs / resetWelcomeRepeatsPerTurn`. */
  readonly resetWelcomeRepeatsPerTurn: number;
  /**
   * KeyPackages of our votes kept over the attempts of one reset: any attempt's operator may have built
   * its group from the KeyPackage of our vote in that attempt.
   */
  readonly resetKeyPackagesKept: number;
  // Reset lineage.
  /** Lineage levels below our group whose ids and keys a member derives, to read members that moved on. */
  readonly lineageDepth: number;
  /**
   * Members of our roster heard in a group of our lineage that make us left behind while our own verdict
   * has no majority (more than half of the roster does at any time). More than one: a single member's
   * claim does not move us.
   */
  readonly lineageWitnesses: number;
  /**
   * Left behind by a reset for `lineageFollowTurns` × `resetOperatorTimeoutMs` + `hardAfterMs` (longer
   * than its operators' Welcome repeats take), a member asks the group its roster moved to to add it.
   */
  readonly lineageFollowTurns: number;
}

/** The default of `resetWelcomeRepeats`: what a lossless reset never needs and a lossy one does. */
export const RESET_WELCOME_REPEATS = 6;

/** The spec's timers. */
export const DEFAULT_SYNC_PARAMS: SyncParams = {
  gossipIntervalMs: 30_000,
  gossipJitter: 0.25,
  viewWindowMs: 120_000,
  gossipFullRateMembers: 20,
  responseDelayMs: 5_000,
  answersPerInterval: 2,
  maxAncestry: 64,
  settleMs: 10_000,
  goneAfterWindows: 5,
  strandedAfterWindows: 5,
  catchUpRetryMs: 20_000,
  catchUpResponders: 2,
  catchUpMaxBytes: 128 * 1024,
  catchUpServesPerRetry: 2,
  catchUpBudgetMs: 20_000,
  catchUpRequesterBytes: 1024 * 1024,
  catchUpTotalBytes: 4 * 1024 * 1024,
  maxCatchUpCommits: 1024,
  heardBatches: 4,
  hardAfterMs: 60_000,
  resetProposalsPerEpoch: 2,
  resetVoteTimeoutMs: 30_000,
  resetOperatorTimeoutMs: 30_000,
  resetWelcomeRepeats: RESET_WELCOME_REPEATS,
  resetWelcomeRepeatsPerTurn: 3,
  resetKeyPackagesKept: 8,
  lineageDepth: 3,
  lineageWitnesses: 2,
  lineageFollowTurns: 3,
};

/** The timers scaled down for the simulator and interactive runs. */
export const FAST_SYNC_PARAMS: SyncParams = {
  ...DEFAULT_SYNC_PARAMS,
  gossipIntervalMs: 1_000,
  viewWindowMs: 4_000,
  responseDelayMs: 250,
  settleMs: 1_000,
  catchUpRetryMs: 1_500,
  catchUpBudgetMs: 1_500,
  hardAfterMs: 2_000,
  resetVoteTimeoutMs: 2_000,
  resetOperatorTimeoutMs: 3_000,
};

/** The heartbeat interval and view window for a group of `members` (see `gossipFullRateMembers`). */
export function gossipTiming(p: SyncParams, members: number): { intervalMs: number; windowMs: number } {
  const f = Math.max(1, members / p.gossipFullRateMembers);
  return { intervalMs: p.gossipIntervalMs * f, windowMs: p.viewWindowMs * f };
}

/** Which range each field must be in: a number above zero, zero or above, a whole number, a fraction. */
const RANGES: {
  readonly [K in keyof SyncParams]-?: "positive" | "nonNegative" | "count" | "atLeastOne" | "fraction";
} = {
  gossipIntervalMs: "positive",
  gossipJitter: "fraction",
  viewWindowMs: "positive",
  gossipFullRateMembers: "positive",
  responseDelayMs: "nonNegative",
  answersPerInterval: "positive",
  maxAncestry: "count",
  settleMs: "nonNegative",
  goneAfterWindows: "atLeastOne",
  strandedAfterWindows: "atLeastOne",
  catchUpRetryMs: "positive",
  catchUpResponders: "atLeastOne",
  catchUpMaxBytes: "atLeastOne",
  catchUpServesPerRetry: "positive",
  catchUpBudgetMs: "positive",
  catchUpRequesterBytes: "atLeastOne",
  catchUpTotalBytes: "atLeastOne",
  maxCatchUpCommits: "atLeastOne",
  heardBatches: "count",
  hardAfterMs: "nonNegative",
  resetProposalsPerEpoch: "atLeastOne",
  resetVoteTimeoutMs: "positive",
  resetOperatorTimeoutMs: "positive",
  resetWelcomeRepeats: "count",
  resetWelcomeRepeatsPerTurn: "positive",
  resetKeyPackagesKept: "atLeastOne",
  lineageDepth: "count",
  lineageWitnesses: "atLeastOne",
  lineageFollowTurns: "nonNegative",
};

const IN_RANGE = {
  positive: (v: number) => Number.isFinite(v) && v > 0,
  nonNegative: (v: number) => Number.isFinite(v) && v >= 0,
  count: (v: number) => Number.isInteger(v) && v >= 0,
  atLeastOne: (v: number) => Number.isInteger(v) && v >= 1,
  fraction: (v: number) => Number.isFinite(v) && v >= 0 && v < 1,
} as const;

const RANGE_TEXT = {
  positive: "a finite number above 0",
  nonNegative: "a finite number of at least 0",
  count: "a whole number of at least 0",
  atLeastOne: "a whole number of at least 1",
  fraction: "a number from 0 up to (not including) 1",
} as const;

/**
 * Checks every field of `p` against its range; returns `p`.
 * @throws {SyncError} `BAD_PARAMS`, naming the first field out of range.
 */
export function validateSyncParams(p: SyncParams): SyncParams {
  for (const [field, range] of Object.entries(RANGES) as [keyof SyncParams, keyof typeof IN_RANGE][]) {
    const v = p[field];
    if (typeof v !== "number" || !IN_RANGE[range](v))
      throw new SyncError("BAD_PARAMS", `syncParams.${field} must be ${RANGE_TEXT[range]}, got ${String(v)}`);
  }
  return p;
}
