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
