// The simulator's promise: a seed replays a run exactly, including the key material of large groups that
// start from one commit (their identities were once made concurrently and drew the seeded randomness in
// the order the thread pool finished).
import assert from "node:assert/strict";
import { it } from "node:test";
import { Cluster } from "../../src/node/cluster.ts";
import { toHex } from "../../src/util/bytes.ts";

async function run(seed: number) {
  const c = new Cluster({ seed });
  await c.bootstrap(12);
  await c.members.get("m1")!.proposeRefresh();
  await c.sim.runFor(5_000);
  const g = c.members.get("m0")!.group.group!;
  return { epoch: g.epoch, fingerprint: toHex(g.fingerprint), trace: c.sim.traceHash() };
}

it("a bootstrapped group replays from its seed: same keys, same epochs, same trace", async () => {
  const a = await run(7);
  assert.ok(a.epoch >= 2n, "the refresh was committed");
  assert.deepEqual(await run(7), a);
  assert.notDeepEqual((await run(8)).fingerprint, a.fingerprint);
});
