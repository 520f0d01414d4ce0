// The sync layer's codes: every input it drops and every notable step it takes is counted under one of
// these (`SyncState.counters`), and every error it throws carries one.
import type { GroupCode } from "../group/errors.ts";
import type { MlsErrorCode } from "../mls/index.ts";
import { DemlsError } from "../util/errors.ts";

/**
 * Why the sync core dropped an input (counted), a step it took that reports and benchmarks count
 * ("counted"), or why it threw ({@link SyncError}).
 */
export type SyncCode =
  // Opening a sync message.
  /** Sealed under a key we do not hold: not the current sync key, a previous one or a lineage key. */
  | "UNKNOWN_KEY"
  /** The key id is one of ours, but the envelope does not authenticate under that key. */
  | "UNDECRYPTABLE"
  /**
   * An envelope, payload, info, proposal, vote or catch-up answer that does not decode (a uint64 above
   * 2^53-1 included) or lacks a required field.
   */
  | "MALFORMED"
  /**
   * A number no honest peer sends (docs/decisions.md, "Peer integers"): a reset attempt or an info's
   * seqnum more than `MAX_AHEAD_MS` ahead of our clock, a catch-up request whose range is empty or runs
   * backwards.
   */
  | "OUT_OF_RANGE"
  // SyncStateInfo, catch-up requests, reset proposals and votes.
  /** A SyncStateInfo carrying more ancestry entries than `maxAncestry`. */
  | "OVERSIZED_ANCESTRY"
  /**
   * A sender (info, proposer, voter) never seen in any roster of ours; a catch-up requester on none of the
   * rosters of our recent states.
   */
  | "UNKNOWN_MEMBER"
  /**
   * A SyncStateInfo, catch-up request, reset proposal or vote whose signature does not verify under its
   * member's key.
   */
  | "INVALID_SIGNATURE"
  /** A SyncStateInfo whose seqnum is not above the last one of its member. */
  | "REPLAY"
  // Catch-up and re-alignment.
  /** Counted: we sent a catch-up request. */
  | "CATCH_UP_SENT"
  /** Counted: we answered a catch-up request with commits. */
  | "CATCH_UP_SERVED"
  /** Counted: we answered a catch-up request with an empty batch (no commit of ours leads from there). */
  | "CATCH_UP_NO_PATH"
  /**
   * A catch-up request repeated by one requester within `catchUpRetryMs / catchUpServesPerRetry`, for
   * commits its last answer carried.
   */
  | "CATCH_UP_THROTTLED"
  /**
   * A catch-up request for commits its requester holds: its signed gossip showed it at the target or past
   * it on our chain (docs/spec/recovery.md, section 5).
   */
  | "CATCH_UP_HELD"
  /**
   * A catch-up request of a requester whose answers, or all requesters' answers, reached their byte
   * budget in the window (`catchUpRequesterBytes`, `catchUpTotalBytes` per `catchUpBudgetMs`).
   */
  | "CATCH_UP_BUDGET"
  /** A catch-up answer with more commits than `maxCatchUpCommits`. */
  | "OVERSIZED_BATCH"
  /** Counted: the answer to our request was empty; we ask to be re-added. */
  | "NO_PATH_TO_MAJORITY"
  /**
   * Counted: an answer to our request showed no path, but fewer distinct responders said so than the
   * quorum: we wait for the other answers or ask again, and do not rejoin.
   */
  | "NO_PATH_UNCORROBORATED"
  /** Counted: the first commit of the answer to our request does not apply from our state; we rejoin. */
  | "COMMIT_NOT_APPLICABLE"
  /** Counted: the majority's branch forked from ours before our retained epochs; we rejoin. */
  | "FORK_BEYOND_RETAINED"
  // A member alone AHEAD of the majority.
  /** Counted: we rewound from a state nobody else holds to the majority's. */
  | "STEPPED_BACK"
  /** AHEAD alone, but the majority's epoch is no longer retained: nothing to step back to. */
  | "AHEAD_BEYOND_RETAINED"
  /** AHEAD alone, but our state at the majority's epoch is not the majority's state. */
  | "AHEAD_NOT_ANCESTOR"
  // Reset lineage.
  /** Counted: left behind by a reset, we asked the group our roster moved to to add us. */
  | "LINEAGE_REJOIN"
  /**
   * Counted: we read nobody for `strandedAfterWindows` windows while traffic under keys we do not hold
   * went on, and asked to be re-added.
   */
  | "STRANDED_REJOIN"
  /**
   * Counted: we held a group without its sync key for `strandedAfterWindows` windows (the share never
   * came: the group moved past the state we hold) and asked to be re-added.
   */
  | "KEYLESS_REJOIN"
  /**
   * Counted: the majority's state was at an epoch below every state we hold (forked or ahead) for longer
   * than applying a commit takes: no commit leads there, so we asked to be re-added.
   */
  | "MAJORITY_BELOW_HISTORY"
  /**
   * Counted: behind or forked from a majority we read for `strandedAfterWindows` view windows without
   * moving an epoch: no catch-up reached us (the few members that read our key cannot serve it), so we
   * asked to be re-added.
   */
  | "CATCH_UP_STUCK"
  /**
   * Counted: a commit removed our leaf as stale (the group took us for a member that never got its
   * Welcome) and a majority holds it: we asked to be re-added.
   */
  | "STALE_LEAF_REJOIN"
  /**
   * Counted: a signed answer flags our removal as a stale leaf's, and fewer distinct responders than the
   * quorum said so yet: we wait for the other answers, or ask again (removal-check.ts).
   */
  | "STALE_LEAF_UNCORROBORATED"
  // Removed on a branch that lost (removal-check.ts).
  /** Counted: the majority we asked holds the commit that removed us (asked again while the check lasts). */
  | "REMOVAL_CONFIRMED"
  /** Counted: the group went on without the commit that removed us: we are back at the state before it. */
  | "REMOVAL_UNDONE"
  /** Counted: the removal check is over (its window passed): the removal stands. */
  | "REMOVAL_CHECK_ENDED"
  // Hard reset.
  /** A reset proposal whose roster has unknown members, a member twice, or no more than half of our group. */
  | "RESET_BAD_ROSTER"
  /**
   * A reset proposal that would start one more round than `resetProposalsPerEpoch` allow its proposer in
   * our current epoch: refused before its signature is checked or any KeyPackage or vote is made for it.
   */
  | "RESET_RATE_LIMITED"
  /** A second vote of one member in one reset round. */
  | "DOUBLE_VOTE"
  /** A reset vote whose KeyPackage does not parse or names another member than the voter. */
  | "BAD_KEY_PACKAGE"
  /** Counted: every operator's turn of a decided round passed without a Welcome reaching us. */
  | "RESET_UNDELIVERED"
  /** Counted: as a reset's operator, we sent our Welcome again. */
  | "RESET_WELCOME_REPEATED"
  /** A reset Welcome naming an operator that is neither on the round's roster nor a known member. */
  | "RESET_UNKNOWN_OPERATOR"
  /** A reset Welcome into a group whose id is not the one a reset of our group makes. */
  | "RESET_LINK_MISMATCH"
  /** A reset Welcome into a group the named operator did not create (it is not at leaf 0). */
  | "RESET_NOT_OPERATOR"
  /** Counted: we joined the reset group our roster moved to without having seen its round. */
  | "RESET_FOLLOWED"
  /** Counted: a better-ranked operator's group of the round we are in replaced ours past its first epoch. */
  | "RESET_COMPETING_REPLACED"
  /**
   * Counted: we joined a reset group whose Welcome names a parent sync key we do not hold (our side of a
   * split rotated past every key the voters share): we take the group's key from a member's share.
   */
  | "RESET_PARENT_KEY_UNKNOWN"
  // The reset certificate (docs/spec/recovery.md, section 7).
  /** A reset Welcome without the signed proposal of its round, or without its parent key id and operator signature. */
  | "RESET_NO_PROOF"
  /** A certificate for a reset of a group that is neither ours nor one of our reset lineage. */
  | "RESET_FOREIGN_PROOF"
  /** A certificate whose proposal's signature does not verify under its proposer's key. */
  | "RESET_FORGED_PROOF"
  /** A reset vote of a member not on the round's proposal roster (the expected voters). */
  | "RESET_UNEXPECTED_VOTER"
  /** A certificate vote that is not a valid signed YES of an expected voter on this round, or a voter twice. */
  | "RESET_FORGED_VOTE"
  /** A certificate with fewer valid YES votes than the de-MLS rule needs over its expected voters. */
  | "RESET_INSUFFICIENT_VOTES"
  /** A reset Welcome whose operator is not one of the round's YES voters. */
  | "RESET_OPERATOR_NOT_VOTER"
  /** While we are in sync, a certificate of a reset of our group whose round we did not take part in lately. */
  | "RESET_REPLAYED"
  /** A reset group with a leaf whose member id or signature key is not the one we knew for that member. */
  | "RESET_UNBOUND_LEAF"
  /** A reset Welcome that MLS refused to join (the MLS code follows), e.g. `RESET_NO_MATCHING_KEY_PACKAGE`. */
  | `RESET_${MlsErrorCode}`
  // Thrown.
  /**
   * There is no sync key to seal under (thrown by `publish`), or none to chain a reset's key from (a
   * dropped proposal, counted).
   */
  | "NO_SYNC_KEY"
  /** Thrown by `validateSyncParams`: a `SyncParams` field out of its range. */
  | "BAD_PARAMS"
  /**
   * Counted by the member process: one of its steps (a message, a timer) threw something that is not a
   * typed `DemlsError`, a bug. The step's effects are dropped and the member goes on (a `fault` effect
   * reports it); a typed error escaping a step is counted under its own code the same way.
   */
  | "INTERNAL"
  /**
   * A typed error a layer below threw into one of our steps (the group core's commands, the MLS layer, a
   * protobuf decode): counted under that layer's code.
   */
  | GroupCode;

/** Counts by code (absent: never counted). */
export type SyncCounters = { [C in SyncCode]?: number };

/** An error the sync layer throws, with its {@link SyncCode}; the state is unchanged. */
export class SyncError extends DemlsError<SyncCode> {}

/**
 * The code to count a typed error under that reached the sync core from a step: its own ({@link
 * SyncError}), the seal's, a protobuf decode error's, or one of the layers below (see {@link SyncCode}).
 */
export function syncCodeOf(e: DemlsError): SyncCode {
  return e.code as SyncCode;
}

/** The code to count a reset Welcome under that the MLS layer refused to join. */
export function resetJoinCodeOf(e: DemlsError): SyncCode {
  return `RESET_${e.code as MlsErrorCode}`;
}
