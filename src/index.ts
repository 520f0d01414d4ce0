// The demls library: what an application imports (`import { Member } from "demls"`). A member of one
// conversation runs the de-MLS group protocol with fingerprint gossip and recovery over a Transport
// (libp2p gossipsub for real networks, the seeded simulator for tests), its state in a MemberStore.

export type { GroupEffect, ProposalEffect } from "./group/effects.ts";
export { type GroupCode, GroupError } from "./group/errors.ts";
export type { GroupParams } from "./group/params.ts";
export { DEFAULT_GROUP_PARAMS, FAST_GROUP_PARAMS } from "./group/params.ts";
export {
  ASK,
  AUTO_YES,
  DEFAULT_VOTE_POLICY,
  type KindPolicy,
  PROPOSAL_KINDS,
  type ProposalKind,
  SIMULATION_VOTE_POLICY,
  type VoteChoice,
  type VotePolicy,
} from "./group/vote-policy.ts";
export { type MlsErrorCode, MlsProtocolError } from "./mls/index.ts";
export { type Libp2pOptions, type Libp2pStats, Libp2pTransport, type NetErrorCode } from "./net/libp2p.ts";
export { type SimOptions, Simulator } from "./net/sim/simulator.ts";
export {
  type Clock,
  cryptoRng,
  type Delivery,
  type Handler,
  type Rng,
  systemClock,
  type Transport,
} from "./net/transport.ts";
export { Cluster, type ClusterOptions } from "./node/cluster.ts";
export { LiveCluster, type LiveClusterOptions } from "./node/live-cluster.ts";
export {
  type ChatMessage,
  Member,
  type MemberEvents,
  type MemberOptions,
  type PendingProposal,
  type Traffic,
} from "./node/member.ts";
export { SdsError, type SdsErrorCode } from "./sds/index.ts";
export { type KeyPackageService, MemoryKeyPackageService } from "./store/keypackage-service.ts";
export {
  type MemberStore,
  SqliteMemberStore,
  type StoredCommit,
  type StoredKeyPackageSetRow,
  type StoreErrorCode,
} from "./store/sqlite.ts";
export type { SyncStatus, Verdict } from "./sync/classify.ts";
export type { SyncCode } from "./sync/codes.ts";
export type {
  RecoveredEvent,
  RecoveryHow,
  ResetEvent,
  StatusEvent,
  SyncEffect,
} from "./sync/effects.ts";
export { DEFAULT_SYNC_PARAMS, FAST_SYNC_PARAMS, type SyncParams } from "./sync/params.ts";
export { DemlsError } from "./util/errors.ts";
