// The removal proposal carries the evidence (de-MLS's emergency criteria proposal carries
// `ViolationEvidence`): a member that proposes the removal of a member at or below the score threshold
// attaches the evidence of its last equivocation, and a voter that did not hold it verifies it from the
// proposal and applies the score change it proves, once per equivocator and epoch. Evidence that does not
// prove the target's equivocation is counted (`PROPOSAL_EVIDENCE_REFUSED`), changes no score, and leaves
// the proposal an ordinary removal proposal.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evidenceOf, onEvidence } from "../../src/group/equivocation.ts";
import {
  decodeEquivocation,
  encodeEquivocation,
  PROPOSAL_REMOVE,
  type Proposal,
  VIOLATION_BROKEN_COMMIT,
} from "../../src/group/frames.ts";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { DEFAULT_PEER_SCORE, SCORE_DELTAS } from "../../src/group/peer-score.ts";
import { proposalId } from "../../src/group/proposals.ts";
import { ASK } from "../../src/group/vote-policy.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { Insider } from "../../src/node/insider.ts";
import { FAST_SYNC_PARAMS } from "../../src/sync/params.ts";
import { toHex } from "../../src/util/bytes.ts";

const counter = (c: Cluster, n: string, code: string) =>
  (c.members.get(n)!.group.state.counters as Record<string, number>)[code] ?? 0;

/** Five members; m1 (an insider) signs two commits for the current epoch and sends neither. */
async function setUp(seed: number) {
  const c = new Cluster({
    seed,
    groupParams: FAST_GROUP_PARAMS,
    syncParams: FAST_SYNC_PARAMS,
    // The removal waits for the applications: nothing is committed while the test looks.
    votePolicy: { remove: ASK },
  });
  await c.form(5);
  await c.sim.runFor(3_000);
  const x = new Insider(c, "m1");
  const first = (await x.commit()).commit;
  const second = (await x.commit()).commit;
  const epoch = c.members.get("m0")!.group.group!.epoch;
  return { c, x, xid: x.member.group.memberId, epoch, evidence: evidenceOf(epoch, first, second) };
}

describe("a removal proposal carries the evidence of its target's equivocation", () => {
  it("the proposer attaches it; voters that lacked it verify it from the proposal and lower the score once", async () => {
    const { c, xid, epoch, evidence } = await setUp(21);
    const m0 = c.members.get("m0")!.group.core;
    // m0 acted on an earlier equivocation of m1: this one takes it to the threshold.
    m0.state.peerScores.set(toHex(xid), DEFAULT_PEER_SCORE + SCORE_DELTAS.brokenCommit);
    await onEvidence(m0, evidence, c.now, true);
    const rec = m0.state.proposals.get(proposalId(PROPOSAL_REMOVE, xid));
    assert.ok(rec !== undefined, "m0 proposed the removal");
    const v = rec.proposal.evidence!;
    assert.equal(v.violationType, VIOLATION_BROKEN_COMMIT);
    assert.deepEqual([v.target, v.creator, v.epoch], [xid, m0.identity.id, epoch]);
    assert.deepEqual(decodeEquivocation(v.payload!), evidence);
    // The proposal goes out (m0's core was driven by hand, so its effects were not sent): the others
    // never saw the evidence.
    const proposal = rec.proposal;
    await new Insider(c, "m0").sendPayload({ proposal });
    await c.sim.runFor(500);
    for (const n of ["m2", "m3", "m4"]) {
      const s = c.members.get(n)!.group.state;
      assert.equal(s.peerScores.get(toHex(xid)), DEFAULT_PEER_SCORE + SCORE_DELTAS.brokenCommit, n);
      assert.equal(counter(c, n, "EQUIVOCATION"), 1, `${n} acted on it`);
      assert.ok(s.proposals.has(proposalId(PROPOSAL_REMOVE, xid)), `${n} tracks the removal`);
    }
    // Again (another proposer's copy, or the gossip): once per equivocator and epoch.
    await new Insider(c, "m2").sendPayload({
      proposal: { ...proposal, proposer: c.members.get("m2")!.group.memberId },
    });
    await c.sim.runFor(500);
    for (const n of ["m3", "m4"])
      assert.equal(
        c.members.get(n)!.group.state.peerScores.get(toHex(xid)),
        DEFAULT_PEER_SCORE + SCORE_DELTAS.brokenCommit,
        `${n}: once`,
      );
    assert.deepEqual(c.faults, []);
  });

  it("forged or foreign evidence in a proposal: counted, no score changes, an ordinary removal proposal", async () => {
    const { c, xid, epoch, evidence } = await setUp(22);
    const liar = new Insider(c, "m4");
    const lid = liar.member.group.memberId;
    const victim = c.members.get("m2")!.group.memberId;
    const violation = (target: Uint8Array, payload: Uint8Array, e = epoch) => ({
      violationType: VIOLATION_BROKEN_COMMIT,
      target,
      payload,
      epoch: e,
      creator: lid,
    });
    const proposal = (target: Uint8Array, v: Proposal["evidence"]): Proposal => ({
      kind: PROPOSAL_REMOVE,
      target,
      epoch,
      proposer: lid,
      evidence: v,
    });
    const cases: Proposal[] = [
      // m1's real equivocation, pinned on the victim m2.
      proposal(victim, { ...violation(xid, encodeEquivocation(evidence)), target: victim }),
      // One commit twice.
      proposal(xid, violation(xid, encodeEquivocation({ ...evidence, second: evidence.first }))),
      // Not an Equivocation at all.
      proposal(xid, violation(xid, new Uint8Array([0xff, 0xff, 0xff]))),
      // Another violation type than de-MLS's BrokenCommit.
      proposal(xid, { ...violation(xid, encodeEquivocation(evidence)), violationType: 3 }),
      // Another creator than the proposer.
      proposal(xid, { ...violation(xid, encodeEquivocation(evidence)), creator: victim }),
    ];
    for (const p of cases) {
      await liar.sendPayload({ proposal: p });
      await c.sim.runFor(200);
    }
    for (const n of ["m0", "m2", "m3"]) {
      const s = c.members.get(n)!.group.state;
      assert.equal(counter(c, n, "PROPOSAL_EVIDENCE_REFUSED"), cases.length, `${n} counted each`);
      assert.equal(s.peerScores.size, 0, `${n} changed no score`);
      assert.equal(s.equivocations.size, 0, n);
      // The removals themselves are tracked as any member's proposals are, for the applications to vote.
      assert.ok(
        s.proposals.has(proposalId(PROPOSAL_REMOVE, victim)),
        `${n}: the victim's removal is a proposal`,
      );
      assert.ok(s.proposals.has(proposalId(PROPOSAL_REMOVE, xid)), `${n}: m1's removal is a proposal`);
    }
    assert.equal(c.distinctStates().size, 1);
    assert.deepEqual(c.faults, []);
  });
});
