// Rolling Bloom filter of received message ids. Two generations of `capacity` ids each: when the current
// one is full it becomes the previous one and a fresh one starts, so memory and the bytes put in every
// message stay bounded while the newest `capacity`..`2*capacity` ids are always covered. What goes on the
// wire is the OR of both generations (same size and hash count), so a receiver tests it as one filter.
// Two formats: ours (sized to the channel, SHA-256 double hashing) and @waku/sds's (fixed size, Nim's
// string hash, 64-bit big-endian words; see waku.ts). Both are byte arrays here: an id's positions are
// computed once as positions in the bytes that travel (byte `p >> 3`, bit `p & 7`), so everything else
// is the same for both.
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8 } from "../util/bytes.ts";
import type { BloomFormat, SdsConfig } from "./config.ts";
import {
  WAKU_BLOOM_CAPACITY,
  WAKU_BLOOM_ERROR_RATE,
  wakuFilterGeometry,
  wakuHashN,
  wakuWirePosition,
} from "./waku.ts";

/** Size of a filter: `bits` (what hashes are reduced modulo), `hashes` (k) and its length on the wire. */
export interface BloomShape {
  readonly format: BloomFormat;
  readonly bits: number;
  readonly hashes: number;
  readonly bytes: number;
}

/** The optimal shape for `items` ids at false-positive rate `fpRate`: m = -n ln p / ln²2, k = m/n ln 2. */
export function bloomShape(items: number, fpRate: number): BloomShape {
  const n = Math.max(1, items);
  const m = Math.ceil((-n * Math.log(fpRate)) / Math.LN2 ** 2 / 8) * 8;
  return { format: "demls", bits: m, hashes: Math.max(1, Math.round((m / n) * Math.LN2)), bytes: m / 8 };
}

/**
 * The filter @waku/sds 0.0.8 puts in every message and reads from every message (10,000 ids at 0.1%:
 * 150,000 bits, k = 10, 18,752 bytes). It throws on a shorter filter, so a peer on a channel shared with
 * it must send this one.
 */
export const WAKU_BLOOM_SHAPE: BloomShape = {
  format: "waku",
  ...wakuFilterGeometry(WAKU_BLOOM_CAPACITY, WAKU_BLOOM_ERROR_RATE),
};

/** The shape of the filter a channel with `config` keeps and sends. */
export function sdsBloomShape(config: SdsConfig): BloomShape {
  return config.bloomFormat === "waku"
    ? WAKU_BLOOM_SHAPE
    : rollingShape(config.bloomCapacity, config.bloomFpRate);
}

/**
 * Positions of `id` in the bytes of a filter of `shape` (double hashing over SHA-256 for ours, over Nim's
 * string hash for @waku/sds's). The array may be shared with other callers: read it, never write it.
 */
export function bloomIndices(id: string, shape: BloomShape): Uint32Array {
  const key = `${shape.format}/${shape.bits}/${shape.hashes}`;
  let memo = recentIndices.get(key);
  if (memo === undefined) {
    memo = new Map();
    recentIndices.set(key, memo);
  }
  const known = memo.get(id);
  if (known !== undefined) return known;
  const out = shape.format === "waku" ? wakuIndices(id, shape) : demlsIndices(id, shape);
  if (memo.size >= RECENT_IDS) memo.clear();
  memo.set(id, out);
  return out;
}

function demlsIndices(id: string, shape: BloomShape): Uint32Array {
  const d = sha256(utf8(id));
  const v = new DataView(d.buffer, d.byteOffset, 8);
  const h1 = v.getUint32(0);
  const h2 = (v.getUint32(4) | 1) >>> 0; // odd, unsigned
  const out = new Uint32Array(shape.hashes);
  for (let i = 0; i < shape.hashes; i++) out[i] = (h1 + i * h2) % shape.bits;
  return out;
}

function wakuIndices(id: string, shape: BloomShape): Uint32Array {
  const out = new Uint32Array(shape.hashes);
  for (let i = 0; i < shape.hashes; i++) out[i] = wakuWirePosition(wakuHashN(id, i, shape.bits));
  return out;
}

// The positions of recently seen ids, per shape (a few MB at most), shared by every channel of the process:
// a deployment hashes each id about once per member anyway, but a simulation runs every member in one
// process, where all n receivers would hash every id. A memo of a pure function, so it holds no channel
// state. Cleared when full: a bound, not an LRU.
const RECENT_IDS = 1 << 14;
const recentIndices = new Map<string, Map<string, Uint32Array>>();

/** Whether every position is set in `bits`. A filter of another length never matches (cannot be tested). */
export function bloomHasIndices(bits: Uint8Array, shape: BloomShape, idx: Uint32Array): boolean {
  if (bits.length !== shape.bytes) return false;
  for (const i of idx) if ((bits[i >>> 3]! & (1 << (i & 7))) === 0) return false;
  return true;
}

/** The rolling filter one participant keeps: plain data, so it persists with the rest of the channel state. */
export interface RollingBloom {
  current: Uint8Array;
  previous: Uint8Array;
  /** Ids added to `current`. */
  count: number;
}

/** The shape of a rolling filter holding `capacity` ids per generation, `fpRate` over both together. */
export function rollingShape(capacity: number, fpRate: number): BloomShape {
  return bloomShape(2 * Math.max(1, capacity), fpRate);
}

export function newRollingBloom(shape: BloomShape): RollingBloom {
  return { current: new Uint8Array(shape.bytes), previous: new Uint8Array(shape.bytes), count: 0 };
}

/** Adds `id`; when the current generation holds `capacity` ids it becomes the previous one. */
export function rollingAdd(f: RollingBloom, shape: BloomShape, capacity: number, id: string): void {
  if (f.count >= capacity) {
    f.previous = f.current;
    f.current = new Uint8Array(shape.bytes);
    f.count = 0;
  }
  for (const i of bloomIndices(id, shape)) f.current[i >>> 3]! |= 1 << (i & 7);
  f.count++;
}

/** The bytes to put in a message: both generations OR-ed. */
export function rollingWire(f: RollingBloom): Uint8Array {
  const out = new Uint8Array(f.current.length);
  for (let i = 0; i < out.length; i++) out[i] = f.current[i]! | f.previous[i]!;
  return out;
}
