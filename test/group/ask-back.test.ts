// A member asking for commits from a state older than its leaf in our roster (a re-add it never entered:
// it had used up the KeyPackage it was re-added from) is told to ask back, as a member whose leaf we
// removed as stale is (CatchUpResponse.stale_leaf; chaos crash-steps 1771).
import assert from "node:assert/strict";
import { it } from "node:test";
import { Cluster } from "../../src/node/cluster.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";

const hex = (name: string) => toHex(utf8(name));

it("a member whose leaf here was added after the state it asks from should ask back; others not", async () => {
  const c = new Cluster({ seed: 17 });
  await c.bootstrap(3);
  await c.add("m3", "joiner");
  for (const end = c.now + 60_000; !c.members.get("m0")!.roster().includes("m3"); await c.sim.runFor(200))
    assert.ok(c.now < end, "m3 was added");
  const m0 = c.members.get("m0")!;
  const added = m0.group.state.addedAt.get(hex("m3"));
  assert.ok(added !== undefined, "m0 knows when m3's leaf was added");
  assert.equal(m0.group.shouldAskBack(hex("m3"), added - 1n), true, "asking from before its leaf");
  assert.equal(m0.group.shouldAskBack(hex("m3"), added), false, "asking from its leaf's epoch");
  assert.equal(m0.group.shouldAskBack(hex("m3"), added + 1n), false);
  assert.equal(m0.group.shouldAskBack(hex("nobody"), 0n), false, "a stranger");
  // An add our state does not hold (`addedAt` left from a branch we stepped back from): no ask back.
  m0.group.state.addedAt.set(hex("nobody"), added);
  assert.equal(m0.group.shouldAskBack(hex("nobody"), added - 1n), false, "not on our roster");
  m0.group.state.addedAt.set(hex("m3"), m0.group.epoch! + 1n);
  assert.equal(m0.group.shouldAskBack(hex("m3"), added), false, "an add after our epoch");
});
