// The de-MLS decision rule (de-MLS; docs/architecture.md, "The group layer"), as a pure function of the tally.

/** Outcome of a proposal's vote. */
export type Decision = "YES" | "NO" | "PENDING";

/**
 * Decides a vote among `n` expected voters. At least ⌈2n/3⌉ votes are needed; YES when YES ≥ ⌈2n/3⌉ and
 * YES > NO. After the timeout, silent voters count as YES (`liveness_criteria_yes`) and the vote closes.
 * n ≤ 2 must be unanimous.
 */
export function decide(n: number, yes: number, no: number, timedOut: boolean, livenessYes = true): Decision {
  if (n <= 0) return "NO";
  const silent = Math.max(0, n - yes - no);
  if (n <= 2) {
    if (no > 0) return "NO";
    if (yes >= n) return "YES";
    if (!timedOut) return "PENDING";
    return livenessYes ? "YES" : "NO";
  }
  const need = Math.ceil((2 * n) / 3);
  if (!timedOut) {
    if (yes >= need && yes > no) return "YES";
    if (yes + silent < need || no >= yes + silent) return "NO";
    return "PENDING";
  }
  const y = yes + (livenessYes ? silent : 0);
  return y >= need && y > no ? "YES" : "NO";
}

/**
 * Whether a tally that just reached `votes` of `n` expected voters may be decidable before the timeout:
 * at ⌈2n/3⌉ votes (the first count a YES can pass at) and when every vote is in. O(1), so a member can
 * ask on every vote and decide at once instead of at its next timer; a decision these miss (NO votes in
 * between) still comes at the timeout.
 */
export function mayDecideEarly(n: number, votes: number): boolean {
  return votes === n || (n > 2 && votes === Math.ceil((2 * n) / 3));
}
