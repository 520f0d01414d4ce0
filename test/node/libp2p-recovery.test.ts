import assert from "node:assert/strict";
import { it } from "node:test";
import { runNet } from "../../src/cli/net.ts";

it("scenario 1 on real libp2p (memory transport): 2 of 6 cut off for 2 epochs catch up, nothing lost", async () => {
  const r = await runNet({ transport: "memory", members: 6, minority: 2, epochs: 2 });
  assert.notEqual(r.recoveredMs, null, JSON.stringify(r));
  assert.equal(Object.keys(r.groups).length, 1);
  assert.equal(r.appLost, 0);
  assert.notEqual(r.detectedMs, null, "the cut-off members saw they were behind");
});

it("scenario 3 on real libp2p (memory transport): 6 members split 2/2/2, every side commits; one reset, one group", async () => {
  const r = await runNet({
    transport: "memory",
    plan: "three-way-split",
    members: 6,
    minority: 0,
    epochs: 1,
    timeoutMs: 90_000,
  });
  assert.notEqual(r.recoveredMs, null, JSON.stringify(r));
  assert.equal(Object.values(r.groups)[0]?.length, 6, JSON.stringify(r.groups));
  assert.ok((r.recoveries.reset ?? 0) > 0, JSON.stringify(r.recoveries));
  assert.equal(r.appLost, 0);
});
