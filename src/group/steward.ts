// Steward lists and commit-candidate ranking, as pure functions (de-MLS; docs/conformance.md): a list is
// elected at one epoch and kept while it lasts, so every member derives the same epoch steward from the
// same list, and picks the same candidate from the same set.
import { sha256 } from "@noble/hashes/sha2.js";
import { compareBytes, concatBytes, u64be } from "../util/bytes.ts";

/** The smallest list an election makes (de-MLS `StewardListConfig::default().sn_min`). */
export const STEWARD_LIST_MIN = 1;

/** A steward list: elected at `electionEpoch` in retry round `retry`, in force for `members.length` epochs. */
export interface StewardList {
  readonly electionEpoch: bigint;
  /** The retry round that seeded the order (0 outside re-elections); at most 2^32 - 1. */
  readonly retry: number;
  /** The stewards, in rotation order. */
  readonly members: readonly Uint8Array[];
}

/** Big-endian unsigned 32-bit encoding of the retry round (the crate hashes it as a u32). */
function u32be(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v >>> 0);
  return out;
}

/**
 * `members` sorted by SHA-256(u64be(electionEpoch) ‖ u32be(retry) ‖ member id ‖ salt), ties by member id
 * (de-MLS `StewardList::generate`; the salt is the conversation's id).
 */
export function stewardOrder(
  electionEpoch: bigint,
  retry: number,
  members: readonly Uint8Array[],
  salt: Uint8Array,
): Uint8Array[] {
  const prefix = concatBytes(u64be(electionEpoch), u32be(retry));
  return members
    .map((m) => ({ m, k: sha256(concatBytes(prefix, m, salt)) }))
    .sort((a, b) => compareBytes(a.k, b.k) || compareBytes(a.m, b.m))
    .map((x) => x.m);
}

/** How many stewards an election among `total` members makes: `snMax`, or everyone in a smaller group. */
export function listSize(snMax: number, total: number, snMin = STEWARD_LIST_MIN): number {
  return total < snMin ? total : Math.min(snMax, total);
}

/** The list elected at `epoch` in round `retry` among `pool`, of `listSize(snMax, pool.length)` stewards. */
export function elect(
  epoch: bigint,
  retry: number,
  pool: readonly Uint8Array[],
  salt: Uint8Array,
  snMax: number,
): StewardList {
  const members = stewardOrder(epoch, retry, pool, salt).slice(0, listSize(snMax, pool.length));
  return { electionEpoch: epoch, retry, members };
}

/**
 * The members an election at a commit's epoch is among: the roster but the members that commit added
 * (de-MLS: a member is settled once the epoch has moved past its join); the whole roster if that leaves
 * nobody.
 */
export function settledMembers(members: readonly Uint8Array[], added: readonly Uint8Array[]): Uint8Array[] {
  const out = members.filter((m) => !added.some((a) => compareBytes(a, m) === 0));
  return out.length > 0 ? out : [...members];
}

/** Whether `epoch` is outside the span the list serves, `[electionEpoch, electionEpoch + length)`. */
export function isExhausted(list: StewardList, epoch: bigint): boolean {
  return epoch < list.electionEpoch || epoch - list.electionEpoch >= BigInt(list.members.length);
}

/**
 * The stewards of `epoch` in the order they act: the list rotated to the epoch's position
 * (`(epoch - electionEpoch) mod length`), members that are not `eligible` left out. The first is the
 * epoch steward, the second its backup (de-MLS `epoch_and_backup`); empty once the list is exhausted.
 */
export function rotation(
  list: StewardList,
  epoch: bigint,
  eligible: (id: Uint8Array) => boolean,
): Uint8Array[] {
  if (isExhausted(list, epoch)) return [];
  const n = list.members.length;
  const start = Number((epoch - list.electionEpoch) % BigInt(n));
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const m = list.members[(start + i) % n]!;
    if (eligible(m)) out.push(m);
  }
  return out;
}

/** What ranking needs to know of a commit candidate. */
export interface RankedCandidate {
  /** Proposals the commit carries. */
  readonly proposals: number;
  readonly sender: Uint8Array;
  /** SHA-256 of the commit bytes. */
  readonly hash: Uint8Array;
}

/**
 * Best first: most proposals; then the epoch steward's; then the smallest sender id (every other steward
 * shares one tier); then the lowest hash (de-MLS `compare_candidate_priority`).
 */
export function compareCandidates(
  a: RankedCandidate,
  b: RankedCandidate,
  epochSteward: Uint8Array | undefined,
): number {
  if (a.proposals !== b.proposals) return b.proposals - a.proposals;
  const tier = (c: RankedCandidate) =>
    epochSteward !== undefined && compareBytes(c.sender, epochSteward) === 0 ? 0 : 1;
  const t = tier(a) - tier(b);
  if (t !== 0) return t;
  return compareBytes(a.sender, b.sender) || compareBytes(a.hash, b.hash);
}
