// Bounds on the integers a peer controls (docs/decisions.md, "Peer integers"). The wire bound is enforced
// once, by the protobuf reader, for every uint64 field of every layer; the clock bound by each rule that
// keeps a peer's clock-like counter.

/**
 * The largest value a peer may put in a uint64 field (2^53 - 1, `Number.MAX_SAFE_INTEGER`): every decoder
 * refuses more as `MALFORMED`. Below it a value converts to a `number` exactly and `+ 1` still encodes, so
 * no code that reads a peer's integer can overflow the wire or lose precision; no honest field comes near
 * it (epochs, counters, millisecond clocks: 2^53 ms is 285,000 years).
 */
export const MAX_WIRE_U64 = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * How far ahead of our clock a peer's clock-like counter may be (1 h, the SDS Lamport bound): a KeyPackage
 * set's version, a Welcome's SDS Lamport time, a reset attempt. Honest ones are a clock reading, or a
 * counter that grows by one per round of seconds and starts far below the clock. A counter a peer could
 * move anywhere would reach the wire bound, after which no honest successor encodes or decodes; bounded by
 * each member's own clock, rather than by what it last heard, one peer cannot set members apart either.
 */
export const MAX_AHEAD_MS = 3_600_000;

/** Whether a peer's clock-like `value` is more than `maxAheadMs` ahead of our clock `now` (ms). */
export function aheadOfClock(value: bigint, now: number, maxAheadMs = MAX_AHEAD_MS): boolean {
  return value > BigInt(Math.floor(now)) + BigInt(maxAheadMs);
}
