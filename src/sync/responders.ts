// Which holders answer a catch-up request (DESIGN section 5): the first `k` by SHA-256(id ‖ nonce), so
// every holder picks the same few and a new nonce (a retry) picks others.
import { sha256 } from "@noble/hashes/sha2.js";
import { compareBytes, concatBytes, utf8 } from "../util/bytes.ts";

/** A holder's rank for one request: smaller answers first. */
export function responderRank(who: string, nonce: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8(who), nonce));
}

/**
 * Whether `me` is among the first `k` of `me` and `others` by {@link responderRank}. Stops as soon as `k`
 * others rank before `me`, instead of ranking them all: at a heal every holder decides for every
 * requester, and a full ranking made that n² hashes per request (two thirds of a 500-member heal).
 */
export function ranksAmongFirst(me: string, others: Iterable<string>, nonce: Uint8Array, k: number): boolean {
  if (k <= 0) return false;
  const mine = responderRank(me, nonce);
  let ahead = 0;
  for (const who of others)
    if (who !== me && compareBytes(responderRank(who, nonce), mine) < 0 && ++ahead >= k) return false;
  return true;
}
