// A member alone on a state one commit ahead of the majority (its own commit that nobody else selected)
// must not stay there: the majority never adopts a commit it did not select, so the member steps back.
import assert from "node:assert/strict";
import { it } from "node:test";
import { commit } from "../../src/mls/index.ts";
import { Cluster } from "../../src/node/cluster.ts";

it("a member alone AHEAD on a commit nobody else applied steps back to the majority's state; its chat arrives", async () => {
  const c = new Cluster({ seed: 41 });
  await c.form(5);
  const before = c.epochOf("m0");
  const lone = c.members.get("m4")!;
  // m4 applies a commit of its own that never reaches anyone (as when it lost selection everywhere else).
  lone.group.replaceGroup((await commit(lone.group.group!)).group, c.sim.now);
  assert.equal(c.epochOf("m4"), before + 1n);
  await c.chat("m4", "sent while ahead");
  const statuses: string[] = [];
  for (let t = 0; t < 40; t++) {
    await c.sim.runFor(500);
    statuses.push(lone.sync.state.status);
    if (c.distinctStates().size === 1 && c.missingChats().size === 0) break;
  }
  assert.ok(statuses.includes("AHEAD"), `m4 saw it was ahead: ${statuses}`);
  assert.equal(lone.sync.state.counters.STEPPED_BACK, 1);
  assert.deepEqual([...c.distinctStates().values()], [["m0", "m1", "m2", "m3", "m4"]]);
  assert.equal(c.epochOf("m4"), before, "back at the majority's epoch");
  assert.deepEqual([...c.missingChats()], [], "its chat was re-sent at the majority's state");
});
