// The simulation kit (`demls/testing`) as a test outside this repository uses it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Cluster, heal, partition, runUntilSettled, SIMULATION_PRESETS, sides } from "../src/testing.ts";

describe("demls/testing", () => {
  it("sides cuts names into consecutive sides, the rest forming a last side", () => {
    const names = ["a", "b", "c", "d", "e"];
    assert.deepEqual(sides(names, 2), [
      ["a", "b"],
      ["c", "d", "e"],
    ]);
    assert.deepEqual(sides(names, 1, 2), [["a"], ["b", "c"], ["d", "e"]]);
    assert.deepEqual(sides(names, 5), [names]);
  });

  it("a split with a commit on one side does not settle until healed, then settles and measures detection", async () => {
    const c = new Cluster({
      seed: 11,
      groupParams: SIMULATION_PRESETS.group,
      syncParams: SIMULATION_PRESETS.sync,
    });
    await c.form(5);
    partition(c, sides([...c.members.keys()], 3));
    await c.members.get("m0")!.proposeRefresh();
    await c.chat("m1", "while split");
    assert.equal(await runUntilSettled(c, { timeoutMs: 5_000 }), null, "split: not settled");
    heal(c);
    const after = await runUntilSettled(c, { timeoutMs: 30_000 });
    assert.notEqual(after, null, "settled after the heal");
    assert.equal(c.distinctStates().size, 1);
    assert.notEqual(c.detectionMs(), null, "the heal was marked: detection is measured");
  });
});
