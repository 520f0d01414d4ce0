// Peer scores (de-MLS, "Peer Scoring"): every member starts at the default score; a verified violation
// lowers the offender's, and at or below the threshold the members propose its removal through the normal
// vote. Values are the reference's defaults (docs/conformance.md, "Peer score").

/** A new member's score (de-MLS `DEFAULT_PEER_SCORE`). */
export const DEFAULT_PEER_SCORE = 100;
/** At or below this score a member's removal is proposed (de-MLS `DEFAULT_THRESHOLD_PEER_SCORE`). */
export const THRESHOLD_PEER_SCORE = 0;

/** Members whose score is kept at most (the bound on this state slice). */
export const MAX_SCORED = 1024;

/** The score change of each event (de-MLS `default_score_deltas`). */
export const SCORE_DELTAS = {
  /** A steward's commit that breaks the rules: here, a second commit signed for one epoch (equivocation). */
  brokenCommit: -50,
  brokenMlsProposal: -30,
  censorshipInactivity: -40,
  emergencyYesCreator: 20,
  emergencyNoCreator: -50,
  successfulCommit: 10,
  honestCommitAttempt: 5,
  misbehavingCommit: -30,
} as const;

/** An event that changes a member's score. */
export type ScoreEvent = keyof typeof SCORE_DELTAS;

/** The scores that left the default, by hex member id (persisted with the group state). */
export type PeerScores = Map<string, number>;

/** `who`'s score. */
export function scoreOf(scores: ReadonlyMap<string, number>, who: string): number {
  return scores.get(who) ?? DEFAULT_PEER_SCORE;
}

/**
 * Applies `event` to `who`'s score. Returns the new score and whether it crossed the threshold downwards
 * with this event (the moment its removal is proposed).
 */
export function applyScore(
  scores: PeerScores,
  who: string,
  event: ScoreEvent,
): { score: number; crossed: boolean } {
  const before = scoreOf(scores, who);
  const score = before + SCORE_DELTAS[event];
  scores.delete(who);
  if (score !== DEFAULT_PEER_SCORE) scores.set(who, score);
  // Newest last; the oldest go first beyond the bound. A member that leaves keeps its score: a rejoin
  // must not wash an equivocator's record.
  while (scores.size > MAX_SCORED) scores.delete(scores.keys().next().value!);
  return { score, crossed: before > THRESHOLD_PEER_SCORE && score <= THRESHOLD_PEER_SCORE };
}
