// Steward order and commit-candidate ranking (de-MLS; docs/architecture.md, "The group layer"): deterministic, so every member derives
// the same steward list and picks the same candidate from the same set.
import { sha256 } from "@noble/hashes/sha2.js";
import { compareBytes, concatBytes, u64be } from "../util/bytes.ts";

/**
 * The steward list of an epoch: members sorted by SHA-256(epoch ‖ retry ‖ member id ‖ group id), first
 * `size` of them. The first is the epoch steward, the rest back it up in order.
 */
export function stewardList(
  epoch: bigint,
  retry: number,
  members: readonly Uint8Array[],
  groupId: Uint8Array,
  size: number,
): Uint8Array[] {
  const keyed = members.map((m) => ({
    m,
    k: sha256(concatBytes(u64be(epoch), u64be(BigInt(retry)), m, groupId)),
  }));
  keyed.sort((a, b) => compareBytes(a.k, b.k));
  return keyed.slice(0, Math.max(1, size)).map((x) => x.m);
}

/** What ranking needs to know of a commit candidate. */
export interface RankedCandidate {
  /** Proposals the commit carries. */
  readonly proposals: number;
  /** Position of its sender in the steward list (0 = epoch steward). */
  readonly stewardRank: number;
  readonly sender: Uint8Array;
  /** SHA-256 of the commit bytes. */
  readonly hash: Uint8Array;
}

/** Best first: most proposals, then the epoch steward, then the smallest sender id, then the lowest hash. */
export function compareCandidates(a: RankedCandidate, b: RankedCandidate): number {
  if (a.proposals !== b.proposals) return b.proposals - a.proposals;
  if (a.stewardRank !== b.stewardRank) return a.stewardRank - b.stewardRank;
  const s = compareBytes(a.sender, b.sender);
  return s !== 0 ? s : compareBytes(a.hash, b.hash);
}
