// In a roster of 2 or 3 a single member's claim can be the majority (docs/sync.md, "Lone claims"): a
// member one commit behind the other catches up (chaos churn 1576). The claim proves no vote, so a
// commit reached that way may change membership only as our own tally approved: an insider of a group
// of two cannot add or remove members by committing alone and offering the commit as a catch-up.
import assert from "node:assert/strict";
import { it } from "node:test";
import { createIdentity, generateKeyPackages } from "../../src/mls/index.ts";
import { Insider } from "../../src/node/insider.ts";
import { classify, type View } from "../../src/sync/classify.ts";
import { formedGroup } from "./harness.ts";

it("a commit on one member's word applies by catch-up only with membership changes our tally approved", async () => {
  const c = await formedGroup(81, 2);
  const evil = new Insider(c, "m1");
  const [kp] = await generateKeyPackages(await createIdentity("puppet"), 1);
  const unvoted = await evil.commit({ adds: [kp!.publicBytes] });
  const m0 = c.members.get("m0")!;
  const before = m0.group.group!.epoch;
  assert.equal(await m0.group.applyCommit(unvoted.commit, c.now, "catch-up", true), undefined);
  assert.equal(m0.group.group!.epoch, before, "nothing applied");
  assert.ok((m0.group.state.counters.UNAPPROVED_CHANGE ?? 0) > 0, "refused as unapproved");
  // A path-only commit (a refresh) needs a refresh proposal we know of, as a candidate does.
  const refresh = await evil.commit();
  assert.equal(await m0.group.applyCommit(refresh.commit, c.now, "catch-up", true), undefined);
  // Backed by a majority of two or more, the same commit applies (the majority's word is the proof).
  assert.ok((await m0.group.applyCommit(unvoted.commit, c.now, "catch-up")) !== undefined);
  assert.ok(m0.roster().includes("puppet"));
});

it("a sole claim is the majority only with every member reporting, and only at the tip of one chain", () => {
  const fp = (b: number, e: number) => new Uint8Array([b, e]);
  const chain = (b: number, e: number, fork = 99) =>
    Array.from({ length: e + 1 }, (_, i) => ({ epoch: BigInt(i), fingerprint: fp(i <= fork ? 0 : b, i) }));
  const view = (b: number, e: number, fork = 99): View => ({
    epoch: BigInt(e),
    fingerprint: fp(e <= fork ? 0 : b, e),
    ancestry: chain(b, e, fork).slice(0, -1).reverse(),
    receivedAt: 0,
  });
  const judge = (roster: string[], views: Map<string, View>, own: [number, number, number?]) =>
    classify({
      self: "a",
      history: chain(...own),
      ancestry: chain(...own)
        .slice(0, -1)
        .reverse(),
      roster,
      views,
      now: 0,
      windowMs: 1000,
    });
  // Three members at epochs 5, 6 and 7 of one chain: the tip is the majority, a sole claim.
  const line = new Map([
    ["b", view(0, 6)],
    ["c", view(0, 7)],
  ]);
  const v = judge(["a", "b", "c"], line, [0, 5]);
  assert.equal(v.status, "BEHIND");
  assert.equal(v.majority?.epoch, 7n);
  assert.equal(v.soleClaim, true);
  // Two of three reporting: we on a branch past c's state, b silent (it may be on a sibling branch and
  // count itself the same way): no sole claim is taken.
  const partial = judge(["a", "b", "c"], new Map([["c", view(0, 5)]]), [1, 6, 5]);
  assert.equal(partial.majority, undefined);
});
