// Peer scores against the reference (test/vectors/de-mls/scores.json, made by de-mls 4.0.0): the default,
// the threshold, every event's delta, and a sequence of events applied to one member with the score and
// the threshold crossing after each.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import {
  applyScore,
  DEFAULT_PEER_SCORE,
  type PeerScores,
  SCORE_DELTAS,
  type ScoreEvent,
  scoreOf,
  THRESHOLD_PEER_SCORE,
} from "../../src/group/peer-score.ts";

const v = JSON.parse(
  readFileSync(join(import.meta.dirname, "..", "vectors", "de-mls", "scores.json"), "utf8"),
);
/** The reference's event name (`BrokenCommit`) as ours (`brokenCommit`). */
const ours = (event: string) => (event[0]!.toLowerCase() + event.slice(1)) as ScoreEvent;

it("peer scores follow de-MLS's defaults, deltas and threshold crossings", () => {
  assert.equal(DEFAULT_PEER_SCORE, v.defaultScore);
  assert.equal(THRESHOLD_PEER_SCORE, v.threshold);
  assert.equal(Object.keys(SCORE_DELTAS).length, v.deltas.length);
  for (const d of v.deltas) assert.equal(SCORE_DELTAS[ours(d.event)], d.delta, d.event);
  const scores: PeerScores = new Map();
  for (const s of v.steps) {
    const r = applyScore(scores, "m", ours(s.event));
    assert.equal(r.score, s.score, s.event);
    assert.equal(scoreOf(scores, "m"), s.score);
    assert.equal(r.crossed, s.crossedThreshold, `${s.event}: crossed`);
    assert.equal(r.score <= THRESHOLD_PEER_SCORE, s.belowThreshold);
  }
});
