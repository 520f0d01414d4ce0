// The simulation kit (`import ... from "demls/testing"`): a group of members on the seeded simulator, the
// simulation presets, helpers to split, heal and wait, and an insider (a member that lies with valid
// keys), so that tests outside this repository need no internal path. Everything here is deterministic:
// the same seed replays the same run.
import { FAST_GROUP_PARAMS } from "./group/params.ts";
import { SIMULATION_VOTE_POLICY } from "./group/vote-policy.ts";
import type { Cluster } from "./node/cluster.ts";
import { FAST_SDS_CONFIG } from "./sds/config.ts";
import { FAST_SYNC_PARAMS } from "./sync/params.ts";

export type {
  GroupPayload,
  KeyPackageSet,
  Proposal,
  RejoinRequest,
  Vote,
  WelcomeFrame,
} from "./group/frames.ts";
export type { GroupParams } from "./group/params.ts";
export {
  AUTO_YES,
  DEFAULT_VOTE_POLICY,
  SIMULATION_VOTE_POLICY,
  type VotePolicy,
} from "./group/vote-policy.ts";
export type { CommitOutput, CommitRequest } from "./mls/index.ts";
export { type LinkModel, type SimOptions, Simulator } from "./net/sim/simulator.ts";
export { type ChatLog, Cluster, type ClusterOptions } from "./node/cluster.ts";
export { Insider, type InsiderSendOptions } from "./node/insider.ts";
export type { Outgoing, OutgoingFilter, OutgoingMessage, TopicKind } from "./node/outgoing.ts";
export type { SdsConfig } from "./sds/config.ts";
export type { SdsMessage } from "./sds/wire.ts";
export type { SyncParams } from "./sync/params.ts";
export type {
  CatchUpRequest,
  CatchUpResponse,
  ResetProposal,
  ResetVote,
  SyncPayload,
  SyncStateInfo,
} from "./sync/wire.ts";
export { MAX_AHEAD_MS, MAX_WIRE_U64 } from "./util/bounds.ts";
export { scaleTimers } from "./util/scale.ts";

/**
 * The parameters the simulator runs with: the de-MLS and SDS timers scaled down (about 30x, see
 * docs/decisions.md) so that a run of minutes of protocol time takes seconds, and the vote policy of a
 * group without applications voting: joiners and former members are added by themselves (removals
 * still wait for `Member.vote`; `Cluster` uses it unless told otherwise). `scaleTimers(preset, x)`
 * stretches every duration of a preset by `x`.
 */
export const SIMULATION_PRESETS = {
  group: FAST_GROUP_PARAMS,
  sync: FAST_SYNC_PARAMS,
  sds: FAST_SDS_CONFIG,
  votes: SIMULATION_VOTE_POLICY,
} as const;

/** `names` cut into consecutive sides of the given sizes (what is left over forms a last side). */
export function sides(names: readonly string[], ...sizes: number[]): string[][] {
  const out: string[][] = [];
  let i = 0;
  for (const n of sizes) {
    out.push(names.slice(i, i + n));
    i += n;
  }
  if (i < names.length) out.push(names.slice(i));
  return out.filter((s) => s.length > 0);
}

/** Cuts the network into `parts` (member names) now, or at virtual time `atMs`: no message crosses sides. */
export function partition(cluster: Cluster, parts: readonly (readonly string[])[], atMs?: number): void {
  cluster.sim.partition(parts, atMs ?? cluster.now);
}

/**
 * Heals every partition now, or at `atMs`, and marks the heal so that `cluster.detectionMs()` measures
 * from it.
 */
export function heal(cluster: Cluster, atMs?: number): void {
  const at = atMs ?? cluster.now;
  cluster.sim.heal(at);
  cluster.sim.at(at, () => cluster.markHealed());
}

/**
 * Runs until the group has settled (one state, every member `IN_SYNC`, every chat delivered, none twice)
 * and stayed so for `holdMs`, or until `timeoutMs` of virtual time passed. Resolves with the virtual time
 * from the call to the start of the settled stretch, or null when it did not settle.
 */
export async function runUntilSettled(
  cluster: Cluster,
  { timeoutMs = 60_000, holdMs = 3_000, stepMs = 250 } = {},
): Promise<number | null> {
  const start = cluster.now;
  const deadline = start + timeoutMs;
  let since: number | null = null;
  while (cluster.now < deadline) {
    await cluster.sim.runFor(stepMs);
    since = cluster.settled() && cluster.duplicateChats() === 0 ? (since ?? cluster.now) : null;
    if (since !== null && cluster.now - since >= holdMs) return since - start;
  }
  return null;
}
