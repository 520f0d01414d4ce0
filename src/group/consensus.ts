// The de-MLS decision rule (hashgraph-like consensus; docs/conformance.md), as a pure function of the tally.

/** Outcome of a proposal's vote. */
export type Decision = "YES" | "NO" | "PENDING";

/** ⌈2n/3⌉: the votes a decision needs, and the weight a side needs to win. */
export function threshold(n: number): number {
  return Math.ceil((2 * n) / 3);
}

/**
 * Decides a vote among `n` expected voters after `yes` YES and `no` NO votes (de-MLS's
 * `calculate_consensus_result`, which a session runs on every vote and at the timeout):
 * - n ≤ 2: every voter must have voted; then YES only if all voted YES. Open until then; at the
 *   timeout the proposal fails (NO).
 * - otherwise at least ⌈2n/3⌉ votes are needed (all n count at the timeout). The silent voters weigh
 *   on the `livenessYes` side, before the timeout as after it; a side wins with a weight of at least
 *   ⌈2n/3⌉ that exceeds the other's. A tie of YES and NO with every vote in goes to the `livenessYes`
 *   side. At the timeout an undecided proposal fails (NO).
 */
export function decide(n: number, yes: number, no: number, timedOut: boolean, livenessYes = true): Decision {
  if (n <= 0) return "NO";
  const votes = yes + no;
  if (n <= 2) {
    if (votes < n) return timedOut ? "NO" : "PENDING";
    return yes === n ? "YES" : "NO";
  }
  const need = threshold(n);
  if ((timedOut ? n : votes) < need) return timedOut ? "NO" : "PENDING";
  const silent = Math.max(0, n - votes);
  const yesWeight = yes + (livenessYes ? silent : 0);
  const noWeight = no + (livenessYes ? 0 : silent);
  if (yesWeight >= need && yesWeight > noWeight) return "YES";
  if (noWeight >= need && noWeight > yesWeight) return "NO";
  if (votes === n && yesWeight === noWeight) return livenessYes ? "YES" : "NO";
  return timedOut ? "NO" : "PENDING";
}

/**
 * Whether a tally that just reached `votes` of `n` expected voters may be decidable before the timeout:
 * from ⌈2n/3⌉ votes on (n ≤ 2: every vote). O(1), so a member can ask on every vote and decide at once
 * instead of at its next timer.
 */
export function mayDecideEarly(n: number, votes: number): boolean {
  return n <= 2 ? votes >= n : votes >= threshold(n);
}
