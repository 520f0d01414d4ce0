// What a hard reset derives from the old group: the new group's id, the vote's id, and the order in which
// the YES voters take the operator's turn. Every member derives the same, so competing operators, attempts
// and members that never saw the round all agree on them.
import { sha256 } from "@noble/hashes/sha2.js";
import { compareBytes, concatBytes, fromHex, u64be, utf8 } from "../util/bytes.ts";
import type { SyncContext } from "./context.ts";
import type { ResetRound } from "./state.ts";

/** The id of the group a reset of `oldGroupId` makes: SHA-256("demls/reset" ‖ old id)[0..16]. */
export function resetGroupId(oldGroupId: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8("demls/reset"), oldGroupId)).subarray(0, 16);
}

/** The id of a reset vote: SHA-256(old group id ‖ attempt). */
export function resetProposalId(oldGroupId: Uint8Array, attempt: bigint): Uint8Array {
  return sha256(concatBytes(oldGroupId, u64be(attempt)));
}

/** An operator's rank (smaller first): the same in every attempt, so competing groups of one id settle on one. */
export function operatorRank(who: string, r: ResetRound): Uint8Array {
  return sha256(concatBytes(fromHex(who), r.groupId));
}

/**
 * YES voters ordered by {@link operatorRank}: the first is the operator, then fail-over. Asked on every
 * tick after the vote closes; ranked again only when a vote arrived since (each rank is a hash, computed
 * once per voter, not inside the comparator).
 */
export function operators(ctx: SyncContext, r: ResetRound): string[] {
  const c = ctx.volatile.operatorsCache;
  if (c !== undefined && c.round === r && c.votes === r.votes.size) return c.ops;
  const ops = [...r.votes]
    .filter(([, v]) => v.yes)
    .map(([w]) => ({ w, rank: operatorRank(w, r) }))
    .sort((a, b) => compareBytes(a.rank, b.rank))
    .map((x) => x.w);
  ctx.volatile.operatorsCache = { round: r, votes: r.votes.size, ops };
  return ops;
}
