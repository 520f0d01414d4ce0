import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { AUTO_YES } from "../../src/group/vote-policy.ts";
import { LiveCluster } from "../../src/node/live-cluster.ts";

describe("de-MLS group on real libp2p (memory transport, wall clock)", () => {
  // The removal passes without the applications' votes.
  const c = new LiveCluster({ transport: "memory", votePolicy: { remove: AUTO_YES } });
  after(() => c.close());

  it("5 members: joins through votes, a key refresh, a removal, every chat delivered", async () => {
    await c.form(5);
    assert.equal(c.distinctStates().size, 1);
    const before = c.epochOf("m0");
    for (const n of c.members.keys()) await c.chat(n, `hello from ${n}`);
    await c.members.get("m2")!.proposeRefresh();
    assert.ok(
      await c.waitFor(() => c.epochOf("m0") > before && c.distinctStates().size === 1, 20_000),
      JSON.stringify([...c.distinctStates()]),
    );
    await c.members.get("m1")!.proposeRemove("m4");
    const stay = ["m0", "m1", "m2", "m3"];
    assert.ok(
      await c.waitFor(
        () =>
          stay.every((n) => c.members.get(n)!.group.rosterIds().length === 4) && c.missingChats().size === 0,
        20_000,
      ),
      JSON.stringify({ states: [...c.distinctStates()], missing: [...c.missingChats()] }),
    );
    c.retire("m4");
    await c.chat("m3", "after the removal");
    assert.ok(await c.waitFor(() => c.missingChats().size === 0 && c.distinctStates().size === 1, 10_000));
    assert.equal(c.duplicateChats(), 0);
  });
});
