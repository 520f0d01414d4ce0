// Named parameters of the de-MLS group protocol (de-MLS; docs/architecture.md, "The group layer"). Times in milliseconds.
import { DEFAULT_SDS_CONFIG, FAST_SDS_CONFIG, type SdsConfig } from "../sds/config.ts";
import { GroupError } from "./errors.ts";
import { MAX_SET_KEY_PACKAGES } from "./keypackage-store.ts";

export interface GroupParams {
  /** A member casts its vote this long after it received a proposal (de-MLS: 10 s). */
  readonly votingDelayMs: number;
  /** After this, silent voters count as YES and the vote closes (de-MLS: 30 s). */
  readonly consensusTimeoutMs: number;
  /** Unresolved proposals are dropped after this (de-MLS: 600 s). */
  readonly proposalExpiryMs: number;
  /** The epoch steward commits this long after the first approved, uncommitted proposal. */
  readonly commitDelayMs: number;
  /** A backup steward commits this long after the steward should have (de-MLS: +5 s). */
  readonly backupDelayMs: number;
  /** Candidates are collected for this long after the first one arrives, then one is selected (de-MLS: 30 s). */
  readonly freezeMs: number;
  /**
   * A member that sees a commit attested which it lacks asks a holder for it, and asks the next holder
   * after this (`commit-pull.ts`): about one round trip on the slowest links.
   */
  readonly commitPullRetryMs: number;
  /** Stewards per epoch: the epoch steward plus backups (de-MLS: 1-2). */
  readonly stewardListSize: number;
  /** Proposals one commit may carry (de-MLS: 50). */
  readonly maxProposalsPerCommit: number;
  /** A joiner's KeyPackage stays pending this many epochs (de-MLS: 3). */
  readonly keyPackageEpochs: number;
  /** Commit bodies kept to serve lagging members (`N`). */
  readonly commitLogSize: number;
  /** A joiner re-announces its KeyPackage this often until welcomed. */
  readonly keyPackageResendMs: number;
  /**
   * A member added this long ago, never heard in the group since and still announcing the KeyPackage it
   * was added with, is taken as not welcomed (its committer withheld or lost the Welcome): its leaf goes
   * to a removal vote, and it is added again by whichever steward commits next (docs/threats.md).
   */
  readonly welcomeWaitMs: number;
  /** One-use KeyPackages in the set a member publishes to the KeyPackage store (plus one last-resort). */
  readonly keyPackageSetSize: number;
  /** Chat ids remembered, sent and received, so a chat delivered twice (re-sent, repaired) shows once. */
  readonly seenChatLimit: number;
  /** Votes one message may carry; a larger batch from a peer is refused (`OVERSIZED_BATCH`). */
  readonly votesPerMessage: number;
  /** Application frames held for a later epoch change; beyond it the oldest is dropped (`HELD_DROPPED`). */
  readonly heldLimit: number;
  /** Commits kept per epoch other than ours; more are refused (`OBSERVED_FULL`). */
  readonly observedPerEpoch: number;
  /** Messages kept from before a Welcome (the group's traffic that races it), newest kept. */
  readonly earlyLimit: number;
  /** Bytes those early messages may take together; a message above its share is not kept. */
  readonly earlyBytesLimit: number;
  /** Former members remembered, so that recent chats go out again when one is added back. */
  readonly formerMembersKept: number;
  /** Copies of own chats tracked for delivery, and delivered chat ids remembered. */
  readonly chatCopiesKept: number;
  /** Own chats kept to re-send after a branch is abandoned. */
  readonly sentChatsKept: number;
  /** Signed chats of other senders kept to relay for a sender that can no longer re-send them (docs/chats.md). */
  readonly relayChatsKept: number;
  /**
   * A relayed chat its sender signed longer ago than this (by its `sentAt`) is refused (`STALE_RELAY`):
   * past the window in which recoveries relay, an old chat replayed once it left our memory of chat ids
   * would be delivered again.
   */
  readonly relayMaxAgeMs: number;
  /**
   * How long a chat waits for its causal predecessors before it is delivered anyway, marked out of order
   * (docs/chats.md): long enough for a catch-up to bring them.
   */
  readonly chatHoldMs: number;
  /**
   * How often a member asks for chats whose sequence numbers show it missed them (docs/chats.md, "Pulls"),
   * and the interval a responder's budget per requester counts over.
   */
  readonly chatPullMs: number;
  /**
   * A sender's first announced chat count heard within this long of entering a group is taken as what
   * predates us; one heard later (we were cut off from the sender) leaves every earlier chat owed, and
   * responders refuse those that predate our add (docs/chats.md, "Pulls").
   */
  readonly chatFirstCountMs: number;
  /** Chats waiting for their predecessors; beyond it the oldest is delivered at once, out of order. */
  readonly heldChatsLimit: number;
  /** Own commits kept, with the state each leads to, to take their branch later (MLS cannot process them). */
  readonly ownCommitsKept: number;
  /** Epochs of own chats re-sent when a member comes back through a rejoin (the dense ancestry span). */
  readonly rejoinResendEpochs: number;
  /** A new group (a reset's) re-sends all own chats when it adds members up to this epoch. */
  readonly earlyGroupEpochs: number;
  /** Own KeyPackages (private parts) kept: the current set, the previous ones, and the join KeyPackages. */
  readonly keyPackagesKept: number;
  /** Rejoin requests acted on, remembered so that a replay is ignored. */
  readonly seenRejoinsKept: number;
  /**
   * Rejoin requests acted on per member in one epoch of ours: each one queues a removal (a voted epoch)
   * or a KeyPackage for an add. More are refused (`REJOIN_RATE_LIMITED`) before their signature is
   * checked. An honest member asks once and repeats that very request until it is back.
   */
  readonly rejoinRequestsPerEpoch: number;
  /**
   * A rejoin request of a member added (or re-added) less than this ago is not acted on yet
   * (`REJOIN_RATE_LIMITED`; the member repeats its request, so it is acted on once this has passed). A
   * rejoin's removal and re-add are two voted epochs, and they are what make a member's next epoch: a
   * limit per epoch alone let one member cycle its own removal and re-add without end.
   */
  readonly rejoinCooldownMs: number;
  /**
   * The cooldown doubles with each rejoin of the member acted on within this much before (at most
   * `rejoinBackoffMax` doublings): the k-th rejoin in the window waits `rejoinCooldownMs` x 2^(k−1) after
   * the member's last add. A member that rejoins at most once per window only ever meets the cooldown.
   * A rejoin itself moves epochs on and every add starts a cooldown again, so neither limit alone bounds
   * how often one member can cycle its own removal and re-add over time; the doubling does.
   */
  readonly rejoinBackoffWindowMs: number;
  /** Doublings of the rejoin cooldown at most (the wait is bounded by `rejoinCooldownMs` x 2^this). */
  readonly rejoinBackoffMax: number;
  /**
   * Past epochs whose application keys the MLS layer keeps: older frames are not tried (`STALE_EPOCH`).
   * Must equal the MLS layer's key retention (ts-mls `retainKeysForEpochs`, 4).
   */
  readonly retainedKeyEpochs: number;
  readonly sds: SdsConfig;
}

/** de-MLS defaults. */
export const DEFAULT_GROUP_PARAMS: GroupParams = {
  votingDelayMs: 10_000,
  consensusTimeoutMs: 30_000,
  proposalExpiryMs: 600_000,
  commitDelayMs: 60_000,
  backupDelayMs: 5_000,
  freezeMs: 30_000,
  commitPullRetryMs: 4_000,
  stewardListSize: 2,
  maxProposalsPerCommit: 50,
  keyPackageEpochs: 3,
  commitLogSize: 128,
  keyPackageResendMs: 30_000,
  welcomeWaitMs: 120_000,
  keyPackageSetSize: 2,
  seenChatLimit: 8192,
  votesPerMessage: 64,
  heldLimit: 2048,
  observedPerEpoch: 8,
  earlyLimit: 64,
  earlyBytesLimit: 8 << 20,
  formerMembersKept: 1024,
  chatCopiesKept: 1024,
  sentChatsKept: 256,
  relayChatsKept: 256,
  relayMaxAgeMs: 24 * 3_600_000,
  chatHoldMs: 30_000,
  chatPullMs: 10_000,
  chatFirstCountMs: 60_000,
  heldChatsLimit: 1024,
  ownCommitsKept: 4,
  rejoinResendEpochs: 16,
  earlyGroupEpochs: 4,
  keyPackagesKept: 12,
  seenRejoinsKept: 256,
  rejoinRequestsPerEpoch: 1,
  rejoinCooldownMs: 300_000,
  rejoinBackoffWindowMs: 3_600_000,
  rejoinBackoffMax: 6,
  retainedKeyEpochs: 4,
  sds: DEFAULT_SDS_CONFIG,
};

/** The defaults scaled down (about 30x) for the simulator and interactive runs. */
export const FAST_GROUP_PARAMS: GroupParams = {
  ...DEFAULT_GROUP_PARAMS,
  votingDelayMs: 100,
  consensusTimeoutMs: 2_000,
  proposalExpiryMs: 30_000,
  commitDelayMs: 300,
  backupDelayMs: 1_200,
  freezeMs: 600,
  commitPullRetryMs: 200,
  keyPackageResendMs: 1_000,
  welcomeWaitMs: 5_000,
  chatHoldMs: 5_000,
  chatPullMs: 1_000,
  chatFirstCountMs: 2_000,
  rejoinCooldownMs: 15_000,
  rejoinBackoffWindowMs: 180_000,
  sds: FAST_SDS_CONFIG,
};

/** Bounds of each integer parameter (inclusive); times are milliseconds. */
const BOUNDS: { readonly [K in Exclude<keyof GroupParams, "sds">]: readonly [number, number] } = {
  votingDelayMs: [0, 3_600_000],
  consensusTimeoutMs: [1, 3_600_000],
  proposalExpiryMs: [1, 86_400_000],
  commitDelayMs: [0, 3_600_000],
  backupDelayMs: [1, 3_600_000],
  freezeMs: [0, 3_600_000],
  commitPullRetryMs: [1, 3_600_000],
  stewardListSize: [1, 64],
  maxProposalsPerCommit: [1, 1024],
  keyPackageEpochs: [0, 1024],
  commitLogSize: [1, 65_536],
  keyPackageResendMs: [1, 86_400_000],
  welcomeWaitMs: [1, 86_400_000],
  keyPackageSetSize: [0, MAX_SET_KEY_PACKAGES],
  seenChatLimit: [1, 1 << 20],
  votesPerMessage: [1, 4096],
  heldLimit: [1, 1 << 20],
  observedPerEpoch: [1, 1024],
  earlyLimit: [1, 1 << 16],
  earlyBytesLimit: [1, 1 << 30],
  formerMembersKept: [1, 1 << 20],
  chatCopiesKept: [1, 1 << 20],
  sentChatsKept: [1, 1 << 20],
  relayChatsKept: [0, 1 << 20],
  relayMaxAgeMs: [0, 365 * 24 * 3_600_000],
  chatHoldMs: [0, 3_600_000],
  chatPullMs: [1, 3_600_000],
  chatFirstCountMs: [0, 86_400_000],
  heldChatsLimit: [1, 1 << 20],
  ownCommitsKept: [1, 1024],
  rejoinResendEpochs: [0, 65_536],
  earlyGroupEpochs: [0, 65_536],
  keyPackagesKept: [1, 1024],
  seenRejoinsKept: [1, 1 << 20],
  rejoinRequestsPerEpoch: [1, 1024],
  rejoinCooldownMs: [0, 86_400_000],
  rejoinBackoffWindowMs: [0, 30 * 86_400_000],
  rejoinBackoffMax: [0, 16],
  retainedKeyEpochs: [0, 1024],
};

/**
 * Checks that every parameter is an integer within its bounds; returns the params unchanged.
 * @throws {GroupError} `BAD_PARAMS` naming the first parameter out of range.
 */
export function validateGroupParams(p: GroupParams): GroupParams {
  for (const [name, [lo, hi]] of Object.entries(BOUNDS)) {
    const v = p[name as keyof typeof BOUNDS];
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new GroupError(
        "BAD_PARAMS",
        `group parameter ${name} = ${v}: expected an integer in ${lo}..${hi}`,
      );
  }
  return p;
}
