// Named parameters of the de-MLS group protocol (DESIGN section 8). Times in milliseconds.
import { DEFAULT_SDS_CONFIG, FAST_SDS_CONFIG, type SdsConfig } from "../sds/config.ts";

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
  /** One-use KeyPackages in the set a member publishes to the KeyPackage store (plus one last-resort). */
  readonly keyPackageSetSize: number;
  /** Chat ids remembered, sent and received, so a chat delivered twice (re-sent, repaired) shows once. */
  readonly seenChatLimit: number;
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
  stewardListSize: 2,
  maxProposalsPerCommit: 50,
  keyPackageEpochs: 3,
  commitLogSize: 128,
  keyPackageResendMs: 30_000,
  keyPackageSetSize: 2,
  seenChatLimit: 8192,
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
  keyPackageResendMs: 1_000,
  sds: FAST_SDS_CONFIG,
};
