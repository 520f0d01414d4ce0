// Which holders answer a catch-up request: the first `k` by SHA-256(id ‖ nonce), so every holder picks
// the same few and a new nonce (a retry) picks others.
import { hash } from "node:crypto";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, utf8 } from "../util/bytes.ts";

/** A holder's rank for one request: smaller answers first. The definition; {@link ranksAmongFirst} agrees. */
export function responderRank(who: string, nonce: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8(who), nonce));
}

/**
 * Whether `me` is among the first `k` of `me` and `others` by {@link responderRank}. Stops as soon as `k`
 * others rank before `me`, instead of ranking them all: at a heal every holder decides for every
 * requester, and a full ranking would make that n² hashes per request.
 */
export function ranksAmongFirst(me: string, others: Iterable<string>, nonce: Uint8Array, k: number): boolean {
  if (k <= 0) return false;
  const mine = rankKey(me, nonce);
  let ahead = 0;
  for (const who of others) if (who !== me && rankKey(who, nonce) < mine && ++ahead >= k) return false;
  return true;
}

// The same digest as responderRank, as a latin1 string (which orders like the bytes), hashed by node
// from one reused buffer with no encoder or concatenation per rank: a heal ranks about 2·n·ln n holders
// per request, on every holder, so a rank must cost little.
const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

function rankKey(who: string, nonce: Uint8Array): string {
  const room = who.length * 3 + nonce.length; // UTF-8 takes at most 3 bytes per UTF-16 unit
  if (scratch.length < room) scratch = new Uint8Array(room);
  const { written } = encoder.encodeInto(who, scratch);
  scratch.set(nonce, written);
  return hash("sha256", scratch.subarray(0, written + nonce.length), "binary"); // "binary" is latin1
}
