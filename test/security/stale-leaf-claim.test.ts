// One member's word never makes a member ask back (docs/threats.md): an answer to a removed member's
// removal check that flags its removal as a stale leaf's (`stale_leaf`: the group means to add it again)
// counts only once distinct responders, each signing its answer, say so. An insider that answers every
// request of a member the group voted out with its removal commit and the flag makes it wait for the
// honest answers, which carry no flag: it stays out, and asks nothing.
import assert from "node:assert/strict";
import { it } from "node:test";
import { isActive } from "../../src/mls/index.ts";
import type { Cluster } from "../../src/node/cluster.ts";
import { Insider } from "../../src/node/insider.ts";
import { toHex } from "../../src/util/bytes.ts";
import { formedGroup } from "./harness.ts";

const counter = (c: Cluster, n: string, code: string) =>
  (c.members.get(n)!.sync.state.counters as Record<string, number>)[code] ?? 0;

/**
 * `m3` removed by the group's vote, checking its removal. Its removal check asks for commits only while a
 * majority it reads is past its state (none here: the group took the removal), so the test stands in for
 * such a request: it sets the request pending at `m3`, and each of `liars` answers it at once with the
 * commit that removed `m3`, flagged `stale_leaf`, signed by the liar (after `unflaggedFirst`'s answer
 * without the flag, when given).
 */
async function attack(seed: number, liars: readonly string[], unflaggedFirst?: string) {
  const c = await formedGroup(seed, 5);
  const victim = "m3";
  const v = c.members.get(victim)!;
  const keyBefore = v.group.state.syncKey!.key;
  await c.members.get("m0")!.proposeRemove(victim);
  for (let t = 0; t < 20 && c.members.get("m1")!.pendingProposals().length === 0; t++)
    await c.sim.runFor(100);
  for (const name of ["m0", "m1", "m2", "m4"]) {
    const m = c.members.get(name)!;
    for (const p of m.pendingProposals()) await m.vote(p.id, true);
  }
  for (let t = 0; t < 40 && isActive(v.group.group!); t++) await c.sim.runFor(250);
  assert.equal(isActive(v.group.group!), false, "m3 processed its removal");
  await c.sim.runFor(2_000);
  const removal = v.group.state.commitLog.at(-1)!;
  const nonce = new Uint8Array(16).fill(seed);
  v.sync.state.catchUp = {
    nonce,
    sentAt: c.now,
    epoch: removal.epoch + 1n,
    fingerprint: removal.fingerprintAfter,
  };
  // The check remembers the nonces of its requests (saveMemory hands out the live check).
  const check = v.sync.saveMemory().removalCheck;
  assert.ok(check !== undefined, "m3 checks its removal");
  check.nonces = [toHex(nonce)];
  for (const name of [...(unflaggedFirst ? [unflaggedFirst] : []), ...liars]) {
    const x = new Insider(c, name);
    const answer = await x.noPathAnswer({
      groupId: v.group.group!.groupId,
      responder: x.member.group.memberId,
      nonce,
      commits: [{ epoch: removal.epoch, commit: removal.commit, fingerprintAfter: removal.fingerprintAfter }],
      ...(name === unflaggedFirst ? {} : { staleLeaf: true }),
    });
    await x.sendSync({ commits: answer }, { key: keyBefore, to: [victim] });
  }
  await c.sim.runFor(30_000);
  return { c, victim };
}

for (const seed of [1, 2, 3])
  it(`seed ${seed}: one insider flagging a voted removal as a stale leaf's does not make the member ask back`, async () => {
    const { c, victim } = await attack(seed, ["m0"]);
    assert.ok(counter(c, victim, "REMOVAL_CONFIRMED") > 0, "the answer was read");
    assert.equal(counter(c, victim, "STALE_LEAF_REJOIN"), 0, "no ask back");
    assert.ok(counter(c, victim, "STALE_LEAF_UNCORROBORATED") > 0, "the lone flag was weighed");
    assert.ok(!c.members.get("m0")!.roster().includes(victim), "the victim stays out");
    assert.deepEqual(c.faults, []);
  });

it("two distinct responders flagging it make the member ask back (the quorum, not a lone word)", async () => {
  const { c, victim } = await attack(1, ["m0", "m1"]);
  assert.ok(counter(c, victim, "STALE_LEAF_REJOIN") > 0, "two signed flags are believed");
  assert.deepEqual(c.faults, []);
});

it("an answer without the flag arriving first hides none of the others (the request stays open)", async () => {
  const { c, victim } = await attack(2, ["m0", "m1"], "m2");
  assert.ok(counter(c, victim, "REMOVAL_CONFIRMED") >= 3, "all three answers were read");
  assert.ok(counter(c, victim, "STALE_LEAF_REJOIN") > 0);
  assert.deepEqual(c.faults, []);
});
