// Equivocation is evidence (docs/threats.md): the epoch steward signs two commits for one epoch and sends
// each to one half of the group. The honest members that see both (a re-aligning member applies the
// other branch's commit; SDS delivers the other half's commit frame after the heal) hold evidence any
// member can verify; they gossip it, the equivocator's score drops by de-MLS's BrokenCommit, and the
// verdict leaves the proven equivocator out of the count, so the honest majority's branch wins: one
// state, all IN_SYNC, no chat lost, no reset, no rejoin. Honest members split evenly (9 members, the
// halves cut from each other until each took its commit) converge on the lower-hash commit's branch
// instead of resetting. A second equivocation takes its score to the
// threshold and its removal is proposed and voted through. Forged evidence changes nothing and is counted.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evidenceOf, onEvidence } from "../../src/group/equivocation.ts";
import { PROPOSAL_REMOVE } from "../../src/group/frames.ts";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { DEFAULT_PEER_SCORE, SCORE_DELTAS } from "../../src/group/peer-score.ts";
import { epochSteward } from "../../src/group/steward-schedule.ts";
import { AUTO_YES } from "../../src/group/vote-policy.ts";
import { fingerprintAt, processMessage } from "../../src/mls/index.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { Insider } from "../../src/node/insider.ts";
import { FAST_SYNC_PARAMS } from "../../src/sync/params.ts";
import { bytesEqual, toHex } from "../../src/util/bytes.ts";

const counter = (c: Cluster, n: string, code: string) => {
  const m = c.members.get(n)!;
  return (
    ((m.sync.state.counters as Record<string, number>)[code] ?? 0) +
    ((m.group.state.counters as Record<string, number>)[code] ?? 0)
  );
};

async function group(seed: number, n: number): Promise<Cluster> {
  const c = new Cluster({
    seed,
    groupParams: FAST_GROUP_PARAMS,
    syncParams: FAST_SYNC_PARAMS,
    votePolicy: { remove: AUTO_YES },
  });
  await c.form(n);
  await c.sim.runFor(3_000);
  return c;
}

/** The member whose commit the group takes at its current epoch (the insider plays it). */
function stewardName(c: Cluster): string {
  const core = c.members.get("m0")!.group.core;
  const id = epochSteward(core)!;
  return [...c.members.keys()].find((n) => bytesEqual(c.members.get(n)!.group.memberId, id))!;
}

/**
 * One equivocation by the epoch steward: its commit to `small` honest members, another to the rest,
 * while honest members chat every 400 ms; then run until settled (or 30 s). Returns the insider's name.
 */
async function equivocate(
  c: Cluster,
  small: number,
  cutMs = 0,
): Promise<{ x: string; sent: boolean; settled: boolean }> {
  const x = stewardName(c);
  const honest = [...c.members.keys()].filter((n) => n !== x);
  // The honest members: one state, all IN_SYNC, every chat they were sent delivered (the insider's own
  // fate is its own).
  const settledHonest = () => {
    const states = [...c.distinctStates().values()].filter((ns) => ns.some((n) => n !== x));
    return (
      states.length === 1 &&
      honest.every((n) => c.members.get(n)!.sync.state.status === "IN_SYNC") &&
      [...c.missingChats().keys()].every((n) => n === x)
    );
  };
  const a = honest.slice(0, small);
  const b = honest.slice(small);
  const insider = new Insider(c, x);
  // The halves cut from each other (the insider reaches both) for `cutMs`: each takes its commit and
  // goes on alone, so the fork is there at the heal.
  let cut = cutMs > 0;
  if (cut) {
    c.sim.cutOneWay(a, b);
    c.sim.cutOneWay(b, a);
  }
  let sent = false;
  void insider.equivocate(a, b).then(() => {
    sent = true;
  });
  await c.members.get(b[0]!)!.proposeRefresh();
  for (let t = 0, i = 0; t < 6_000; t += 400, i++) {
    if (cut && t >= cutMs) {
      c.sim.restoreOneWay(a, b);
      c.sim.restoreOneWay(b, a);
      cut = false;
    }
    await c.chat(honest[i % honest.length]!, `chat ${c.now} ${i}`);
    await c.sim.runFor(400);
  }
  let settled = settledHonest();
  for (let t = 0; t < 30_000 && !settled; t += 250) {
    await c.sim.runFor(250);
    settled = settledHonest();
  }
  // The evidence gossip of the last members to find it.
  await c.sim.runFor(2_000);
  return { x, sent, settled };
}

describe("two commits for one epoch are evidence; the group converges without a reset", () => {
  for (const [n, small, seed] of [
    [8, 3, 1],
    [8, 3, 2],
    [8, 3, 3],
    [10, 4, 1],
    [10, 4, 2],
    [10, 4, 3],
  ] as const)
    it(`${n} members, ${small}/${n - 1 - small} split, seed ${seed}`, async () => {
      const c = await group(seed, n);
      const gid = toHex(c.members.get("m0")!.group.group!.groupId);
      const { x, sent, settled } = await equivocate(c, small);
      assert.ok(sent, "the insider sent both commits");
      const honest = [...c.members.keys()].filter((m) => m !== x);
      assert.ok(
        honest.some((m) => counter(c, m, "EQUIVOCATION_FOUND") > 0),
        "an honest member found the evidence",
      );
      const xid = toHex(c.members.get(x)!.group.memberId);
      for (const m of honest)
        assert.equal(
          counter(c, m, "EQUIVOCATION_FOUND") + counter(c, m, "EQUIVOCATION"),
          1,
          `${m} acted on it once, found or gossiped`,
        );
      for (const m of honest) {
        const s = c.members.get(m)!.group.state;
        assert.equal(
          s.peerScores.get(xid),
          DEFAULT_PEER_SCORE + SCORE_DELTAS.brokenCommit,
          `${m} lowered the equivocator's score once`,
        );
      }
      assert.ok(settled, `one state, all IN_SYNC, no chat lost: ${JSON.stringify([...c.distinctStates()])}`);
      for (const m of honest) {
        assert.equal(toHex(c.members.get(m)!.group.group!.groupId), gid, `${m}: no reset`);
        assert.equal(counter(c, m, "FORK_BEYOND_RETAINED"), 0, `${m}: no rejoin`);
      }
      assert.deepEqual(c.faults, []);
    });

  // Seeds where the halves reset without the tie-break (most others settle anyway: the insider, which
  // reaches both halves, repairs each half's messages for the other, so commit pulls and the freeze often
  // resolve the fork before the heal).
  for (const seed of [12, 18, 19])
    it(`9 members, the honest ones cut 4/4 until the fork is taken, seed ${seed}: the lower-hash commit's branch wins`, async () => {
      const c = await group(seed, 9);
      const gid = toHex(c.members.get("m0")!.group.group!.groupId);
      const { x, sent, settled } = await equivocate(c, 4, 4_000);
      assert.ok(sent, "the insider sent both commits");
      const honest = [...c.members.keys()].filter((m) => m !== x);
      assert.ok(settled, `one state, all IN_SYNC, no chat lost: ${JSON.stringify([...c.distinctStates()])}`);
      // On the branch of the commit with the lower hash, as every member that verified the evidence
      // computed it.
      const forks = honest.flatMap((m) => c.members.get(m)!.group.state.equivocationForks);
      assert.ok(forks.length > 0, "the fork is known");
      for (const m of honest) {
        const mm = c.members.get(m)!;
        for (const f of forks)
          assert.ok(bytesEqual(fingerprintAt(mm.group.group!.history, f.epoch)!, f.winner), `${m}: winner`);
        assert.equal(toHex(mm.group.group!.groupId), gid, `${m}: no reset`);
        assert.equal(counter(c, m, "FORK_BEYOND_RETAINED"), 0, `${m}: no rejoin`);
      }
      assert.deepEqual(c.faults, []);
    });

  it("a second equivocation takes the score to the threshold: the equivocator is voted out", async () => {
    const c = await group(4, 8);
    const first = await equivocate(c, 3);
    assert.ok(first.settled, "settled after the first");
    // The same insider must be the epoch steward again: wait for its turn by refreshes.
    for (let i = 0; i < 12 && stewardName(c) !== first.x; i++) {
      const e = c.epochOf("m0");
      await c.members.get(first.x === "m1" ? "m2" : "m1")!.proposeRefresh();
      for (let t = 0; t < 10_000 && c.epochOf("m0") === e; t += 250) await c.sim.runFor(250);
      await c.sim.runFor(1_000);
    }
    assert.equal(stewardName(c), first.x, "the insider is steward again");
    const xid = c.members.get(first.x)!.group.memberId;
    await equivocate(c, 3);
    const honest = [...c.members.keys()].filter((m) => m !== first.x);
    let out = false;
    for (let t = 0; t < 30_000 && !out; t += 250) {
      await c.sim.runFor(250);
      out = honest.every(
        (m) =>
          !c.members
            .get(m)!
            .group.rosterIds()
            .some((id) => bytesEqual(id, xid)),
      );
    }
    assert.ok(out, "removed from every honest member's roster");
    for (const m of honest) assert.equal(counter(c, m, "FORK_BEYOND_RETAINED"), 0, `${m}: no rejoin`);
  });

  it("forged evidence (one commit twice, two members' commits, a tampered commit, an epoch we do not hold) changes nothing, counted", async () => {
    const c = await group(5, 5);
    const a = new Insider(c, "m1");
    const b = new Insider(c, "m2");
    const ca = (await a.commit()).commit;
    const ca2 = (await a.commit()).commit;
    const cb = (await b.commit()).commit;
    const epoch = c.members.get("m0")!.group.group!.epoch;
    const bad = ca2.slice();
    bad[bad.length - 5]! ^= 1;
    const core = c.members.get("m0")!.group.core;
    const forged = [
      { epoch, first: ca, second: ca },
      evidenceOf(epoch, ca, cb),
      evidenceOf(epoch, ca, bad),
      { epoch: epoch + 1n, first: ca, second: ca2 },
    ];
    for (const e of forged) assert.deepEqual(await onEvidence(core, e, c.now), []);
    assert.equal(
      counter(c, "m0", "EVIDENCE_INVALID") + counter(c, "m0", "EVIDENCE_NOT_RETAINED"),
      forged.length,
    );
    assert.equal(core.state.peerScores.size, 0, "no score changed");
    assert.equal(core.state.equivocations.size, 0);
    // The real thing verifies: the same member's two commits for our epoch. Sent in the other order, the
    // lower-hash commit's state still wins.
    const real = evidenceOf(epoch, ca, ca2);
    await onEvidence(core, { epoch, first: real.second, second: real.first }, c.now);
    const winner = await processMessage(core.group!, real.first!);
    assert.equal(winner.kind, "commit");
    assert.deepEqual(core.state.equivocationForks, [
      {
        epoch: epoch + 1n,
        winner: winner.group.fingerprint,
        loser: (await processMessage(core.group!, real.second!)).group.fingerprint,
      },
    ]);
    assert.equal(
      core.state.peerScores.get(toHex(a.member.group.memberId)),
      DEFAULT_PEER_SCORE + SCORE_DELTAS.brokenCommit,
    );
    assert.ok(![...core.state.proposals.values()].some((r) => r.proposal.kind === PROPOSAL_REMOVE));
    // Over the network: the insider m2 gossips a "proof" pairing m1's commit with its own.
    await b.sendPayload({ equivocation: evidenceOf(epoch, ca2, cb) });
    await c.sim.runFor(1_000);
    for (const n of ["m3", "m4"]) {
      assert.equal(counter(c, n, "EVIDENCE_INVALID"), 1, `${n} counted it`);
      assert.equal(c.members.get(n)!.group.state.peerScores.size, 0, `${n} changed no score`);
    }
  });
});
