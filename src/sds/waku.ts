// What a channel shared with @waku/sds (js-waku's SDS, 0.0.8) needs besides the common wire format: the
// shape and hashing of its bloom filter, and the form of its content message ids. Written from the format
// its sources define (bloom_filter/bloom.ts, nim_hashn, message_channel.ts); test/sds/waku-filter.test.ts
// checks bit-for-bit agreement with the package.
import { sha256 } from "@noble/hashes/sha2.js";
import { toHex } from "../util/bytes.ts";

/** Ids the filter of @waku/sds is sized for (`DEFAULT_BLOOM_FILTER_OPTIONS.capacity`). */
export const WAKU_BLOOM_CAPACITY = 10_000;
/** Its false-positive rate at that capacity (`DEFAULT_BLOOM_FILTER_OPTIONS.errorRate`). */
export const WAKU_BLOOM_ERROR_RATE = 0.001;
/** Causal history entries a @waku/sds message carries (`DEFAULT_CAUSAL_HISTORY_SIZE`). */
export const WAKU_CAUSAL_HISTORY_SIZE = 200;

/**
 * The geometry of a @waku/sds filter sized for `capacity` ids at `errorRate`, computed as its constructor
 * does when no `kHashes` is given: whole bits per id `b = ceil(-ln p / ln²2)`, `k = round(b ln 2)`,
 * `m = capacity * b` bits, stored in `1 + floor(m / 64)` 64-bit words (one more than needed when 64
 * divides m: the wire length is the word count times 8).
 */
export function wakuFilterGeometry(
  capacity: number,
  errorRate: number,
): { bits: number; hashes: number; bytes: number } {
  const perId = Math.ceil(-Math.log(errorRate) / Math.LN2 ** 2);
  const bits = capacity * perId;
  return { bits, hashes: Math.round(Math.LN2 * perId), bytes: 8 * (1 + Math.floor(bits / 64)) };
}

/**
 * The `n`th bit index of `item` in a filter of `maxValue` bits: Kirsch-Mitzenmacher double hashing over
 * Nim's string hash, `(|h(item)| mod m + n * (|h(item + " b")| mod m)) mod m`, as @waku/sds computes it
 * (its nim_hashn module, Nim compiled to JavaScript). The "string" hashed is one UTF-16 code unit per code
 * point of `item` (the first unit of a surrogate pair), as that module builds it; for our hex ids, bytes.
 */
export function wakuHashN(item: string, n: number, maxValue: number): number {
  const codes: number[] = [];
  for (const ch of item) codes.push(ch.charCodeAt(0));
  const a = Math.abs(nimHash(codes)) % maxValue;
  codes.push(0x20, 0x62); // " b"
  const b = Math.abs(nimHash(codes)) % maxValue;
  return Math.abs(a + n * b) % maxValue;
}

/**
 * Nim's `hash(string)` on the JavaScript backend: MurmurHash3 x86 32-bit, seed 0, blocks read
 * little-endian, as a signed 32-bit integer. A "byte" is a code unit, shifted in unmasked (a unit above
 * 0xff overlaps its neighbour, as in the generated code).
 */
function nimHash(x: readonly number[]): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const mix = (k: number) => Math.imul(rotl(Math.imul(k, c1) >>> 0, 15), c2) >>> 0;
  const blocks = x.length - (x.length % 4);
  let h = 0;
  for (let i = 0; i < blocks; i += 4) {
    let k = 0;
    for (let j = 3; j >= 0; j--) k = ((k << 8) | x[i + j]!) >>> 0;
    h = rotl((h ^ mix(k)) >>> 0, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  let k = 0;
  for (let j = x.length % 4; j > 0; j--) k = ((k << 8) | x[blocks + j - 1]!) >>> 0;
  h = (h ^ mix(k)) >>> 0;
  h = (h ^ x.length) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) | 0;
}

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

/**
 * Where bit `h` of a @waku/sds filter travels, as a position in our byte-array filters (byte `p >> 3`,
 * bit `p & 7`, least significant first): bit `h` is bit `h mod 64` of word `h div 64`, and each word is
 * written big-endian.
 */
export function wakuWirePosition(h: number): number {
  const word = Math.floor(h / 64);
  const bit = h % 64;
  return (word * 8 + 7 - (bit >>> 3)) * 8 + (bit & 7);
}

/** The id @waku/sds gives a content message: SHA-256 of the content, 64 hex characters. */
export function wakuMessageIdOf(content: Uint8Array): string {
  return toHex(sha256(content));
}
