// The group layer's codes: every rejection it counts and every error it throws has one of these.
import type { MlsErrorCode } from "../mls/index.ts";
import type { SdsErrorCode } from "../sds/index.ts";
import { DemlsError } from "../util/errors.ts";
import type { KeyPackageSetError } from "./keypackage-store.ts";

/**
 * Why the group core rejected an input (counted under this code in `GroupCoreState.counters` and
 * reported in a `rejected` effect), or a notable input it counted without rejecting it.
 */
export type GroupCode =
  /** A frame, payload, proposal, vote or rejoin request missing required fields, or of no known kind. */
  | "MALFORMED"
  /**
   * Equivocation evidence that does not prove one: the two commits equal, not both valid at its epoch
   * (a bad signature, say), or signed by different members. Nothing changes.
   */
  | "EVIDENCE_INVALID"
  /** Equivocation evidence for an epoch whose state we no longer hold: we cannot check it; ignored. */
  | "EVIDENCE_NOT_RETAINED"
  /**
   * A removal proposal's evidence that does not prove its target's equivocation (forged, another
   * member's, an epoch we no longer hold): counted, no score changes; the proposal stays an ordinary
   * removal proposal, voted by the application's policy.
   */
  | "PROPOSAL_EVIDENCE_REFUSED"
  /** Counted: we applied two commits one member signed for one epoch, and sent the evidence. */
  | "EQUIVOCATION_FOUND"
  /** Counted: a member's evidence of an equivocation verified; the equivocator's score dropped. */
  | "EQUIVOCATION"
  /** Something that needs a group (or its SDS channel) arrived or was asked for before we had one. */
  | "NO_GROUP"
  /** The member is stopped (`Member.sendChat` after `stop`). */
  | "STOPPED"
  /** A group parameter out of its range (`validateGroupParams`). */
  | "BAD_PARAMS"
  /**
   * A number no honest peer sends (docs/decisions.md, "Peer integers"): a clock-like value (a KeyPackage
   * set's version, a Welcome's SDS Lamport time) more than `MAX_AHEAD_MS` ahead of our clock, or a
   * proposal claiming an epoch after the one its message was sent in.
   */
  | "OUT_OF_RANGE"
  /**
   * This member was removed from its group: it sends nothing more on the group's channel (a command is
   * refused with this code) and takes no part in the group (input and timers of that group are ignored).
   */
  | "REMOVED"
  // Proposals.
  /** A proposal whose `proposer` field is not the member that sent it. */
  | "PROPOSER_MISMATCH"
  /** An add for a member already in the roster. */
  | "ALREADY_MEMBER"
  /** A KeyPackage (an add's target, a rejoin's, a vote's) that does not parse or verify. */
  | "BAD_KEY_PACKAGE"
  /** A removal of a member not in the roster, or a vote or set from a non-member. */
  | "NOT_MEMBER"
  /** A removal or refresh made before the state it would change (a late copy, a replay). */
  | "STALE_PROPOSAL"
  /** A leave proposal for another member. */
  | "LEAVE_FOR_OTHER"
  /** A proposal kind this version does not know, or a vote for a proposal we do not track. */
  | "UNKNOWN_PROPOSAL"
  /** The application voted on a proposal already decided (`Member.vote`). */
  | "SETTLED_PROPOSAL"
  // Votes.
  /** A vote whose `voter` field is not the member that sent it. */
  | "VOTER_MISMATCH"
  /** A vote, rejoin request or KeyPackage whose signature does not verify under the member's key. */
  | "INVALID_SIGNATURE"
  /** A second vote of one member on one proposal (also the application's second vote, `Member.vote`). */
  | "DOUBLE_VOTE"
  /** More votes in one message than `VOTES_PER_MESSAGE`. */
  | "OVERSIZED_BATCH"
  /** Counted: a valid vote on a proposal already settled (it lost the race with the commit). */
  | "LATE_VOTE"
  /** Counted: a vote whose chain link does not follow the voter's last vote we saw. */
  | "VOTE_CHAIN_GAP"
  // Commits.
  /** A commit candidate from a member not on the steward list of any round that has begun. */
  | "NOT_STEWARD"
  /** A commit that carries no proposal. */
  | "EMPTY_COMMIT"
  /** A commit carrying more proposals than `maxProposalsPerCommit`. */
  | "OVERSIZED_COMMIT"
  /** A commit that adds or removes a member no proposal we hold (and did not refuse) names. */
  | "UNPROPOSED_CHANGE"
  /** A commit selected at the end of the freeze that adds or removes a member our tally did not approve. */
  | "UNAPPROVED_CHANGE"
  /** A commit that MLS refuses (the MLS code follows), or that fails for another reason. */
  | `COMMIT_${MlsErrorCode}`
  | "COMMIT_INVALID"
  /** A commit or application frame for an epoch beyond the commit log's reach ahead of ours. */
  | "FAR_EPOCH"
  /** More commits for one other epoch than `observedPerEpoch`. */
  | "OBSERVED_FULL"
  // Application frames.
  /** Counted: an application frame from an epoch whose keys we no longer (or never) held. */
  | "STALE_EPOCH"
  /** A relayed chat its sender signed more than `relayMaxAgeMs` before we read it (a replay). */
  | "STALE_RELAY"
  /** Counted: an application frame unreadable at our state, held for a later epoch change. */
  | "UNREADABLE_HELD"
  /** Counted: a chat pull we sent (docs/chats.md, "Pulls"). */
  | "CHAT_PULL_SENT"
  /** Counted: a chat we re-sent or relayed at a member's pull. */
  | "CHAT_PULL_SERVED"
  /** A chat pull without a valid answer key (32 bytes): not answered, an answer in the clear reaches every member. */
  | "CHAT_PULL_UNSEALED"
  /** Counted: a held frame dropped because `heldLimit` frames were already held. */
  | "HELD_DROPPED"
  // Admission and rejoin.
  /** A joiner announced a KeyPackage under the name of a member with another key. */
  | "NAME_TAKEN"
  /** Counted: a sync-key share of another key than ours (only a member without a key takes a share). */
  | "SYNC_KEY_REFUSED"
  /** Counted: rewound below the current sync key's anchor, with the anchor in force there no longer kept. */
  | "SYNC_KEY_ANCHOR_UNKNOWN"
  /** A rejoin request made longer ago than the proposal expiry. */
  | "STALE_REJOIN"
  /**
   * A rejoin request beyond `rejoinRequestsPerEpoch` acted on for one member in our current epoch, or of
   * a member added less than its cooldown ago (`rejoinCooldownMs`, doubled for each of its rejoins acted
   * on within `rejoinBackoffWindowMs`): refused before its signature is checked, and it queues nothing.
   */
  | "REJOIN_RATE_LIMITED"
  /** A KeyPackage set refused by the store (see {@link KeyPackageSetError}). */
  | KeyPackageSetError
  /** An MLS error that escaped a step (the MLS layer's own code). */
  | MlsErrorCode
  /** An SDS error while receiving (`SDS_` and the SDS code), or a message SDS could not decode. */
  | `SDS_${SdsErrorCode}`
  | "SDS_MALFORMED";

/** Bad input from a peer, or a call the group core cannot take now: typed, and the state is unchanged. */
export class GroupError extends DemlsError {
  declare readonly code: GroupCode;

  constructor(code: GroupCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The code to count an error of the SDS layer under (a decode error of SDS is `SDS_MALFORMED`). */
export function sdsCodeOf(e: DemlsError): GroupCode {
  return `SDS_${e.code}` as GroupCode;
}

/**
 * The code to count a typed error under that reached the group core from a step: its own
 * (`GroupError`), the MLS layer's (`MlsProtocolError`) or a protobuf decode error (`MALFORMED`).
 */
export function groupCodeOf(e: DemlsError): GroupCode {
  return e.code as GroupCode;
}
