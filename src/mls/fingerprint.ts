// Fingerprint history and the placement of a peer's state relative to ours (docs/sync.md).
// Pure functions over immutable arrays: no MLS here, the fingerprint itself is computed in group.ts.
import { bytesEqual } from "../util/bytes.ts";

/** One epoch's state fingerprint. */
export interface EpochFingerprint {
  readonly epoch: bigint;
  readonly fingerprint: Uint8Array;
}

/** Fingerprints of a member's last `H` epochs, oldest first, newest (the current epoch) last. */
export type FingerprintHistory = readonly EpochFingerprint[];

/** Default length `H` of the fingerprint history. */
export const DEFAULT_HISTORY = 64;

/**
 * Where a peer's state stands relative to ours:
 * - `SAME`: same epoch, same fingerprint.
 * - `I_AM_AHEAD`: the peer's state is an ancestor of ours.
 * - `I_AM_BEHIND`: our state is an ancestor of the peer's.
 * - `FORKED`: the two disagree at some epoch both know: different branches (or different groups).
 * - `UNKNOWN`: no common epoch to compare (outside history), or the peer is ahead and its ancestry does
 *   not name our epoch, so behind and forked-after-the-last-shared-epoch cannot be told apart.
 */
export type Relation = "SAME" | "I_AM_BEHIND" | "I_AM_AHEAD" | "FORKED" | "UNKNOWN";

/** Appends the fingerprint of a new epoch, keeping at most `h` entries. Earlier-or-equal epochs are cut first (rewind). */
export function pushFingerprint(
  history: FingerprintHistory,
  entry: EpochFingerprint,
  h: number = DEFAULT_HISTORY,
): FingerprintHistory {
  const kept = history.filter((e) => e.epoch < entry.epoch);
  kept.push(entry);
  return kept.length > h ? kept.slice(kept.length - h) : kept;
}

/**
 * Fingerprint by epoch of each history (derived, not state; histories are immutable arrays). Every
 * SyncStateInfo a member reads is placed against its history, one look-up per ancestry entry, and a
 * backward scan would be O(H) bigint compares each (H = 64 once a group has run that many epochs).
 */
const indexes = new WeakMap<FingerprintHistory, Map<bigint, Uint8Array>>();

/** The fingerprint this history holds for `epoch`, if any. */
export function fingerprintAt(history: FingerprintHistory, epoch: bigint): Uint8Array | undefined {
  let index = indexes.get(history);
  if (index === undefined) {
    index = new Map(history.map((e) => [e.epoch, e.fingerprint]));
    indexes.set(history, index);
  }
  return index.get(epoch);
}

/** Epochs right below the current one that {@link ancestry} lists one by one. */
export const DENSE_ANCESTRY = 16;

/**
 * The ancestry a member gossips with its current state (docs/sync.md): its fingerprints at every
 * epoch `e-1 .. e-16`, then the skip list `e-32, e-64, ...` as far as its history reaches. The dense part
 * lets a member up to 16 epochs behind place itself exactly (a pure skip list only places power-of-two
 * distances); O(16 + log H) entries.
 */
export function ancestry(history: FingerprintHistory): EpochFingerprint[] {
  const cur = history.at(-1);
  if (cur === undefined) return [];
  const out: EpochFingerprint[] = [];
  for (let d = 1n; d <= cur.epoch; d = d < BigInt(DENSE_ANCESTRY) ? d + 1n : d * 2n) {
    const fp = fingerprintAt(history, cur.epoch - d);
    if (fp === undefined) break;
    out.push({ epoch: cur.epoch - d, fingerprint: fp });
  }
  return out;
}

/**
 * Places a peer's `(epoch, fingerprint)` (and optionally its gossiped ancestry) against our history.
 * Equal fingerprints at an epoch imply equal history up to it (the exporter chains every epoch secret),
 * so one disagreement at a shared epoch means a fork.
 */
export function relation(
  history: FingerprintHistory,
  peerEpoch: bigint,
  peerFingerprint: Uint8Array,
  peerAncestry: readonly EpochFingerprint[] = [],
): Relation {
  const mine = history.at(-1);
  if (mine === undefined) return "UNKNOWN";
  let sharedEpoch = false;
  for (const p of [{ epoch: peerEpoch, fingerprint: peerFingerprint }, ...peerAncestry]) {
    const fp = fingerprintAt(history, p.epoch);
    if (fp === undefined) continue;
    if (!bytesEqual(fp, p.fingerprint)) return "FORKED";
    sharedEpoch = true;
  }
  if (!sharedEpoch) return "UNKNOWN";
  if (peerEpoch === mine.epoch) return "SAME";
  if (peerEpoch < mine.epoch) return "I_AM_AHEAD";
  return peerAncestry.some((p) => p.epoch === mine.epoch) ? "I_AM_BEHIND" : "UNKNOWN";
}
