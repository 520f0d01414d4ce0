// The simulator's promise: a seed replays a run exactly, including the key material of large groups that
// start from one commit (their identities were once made concurrently and drew the seeded randomness in
// the order the thread pool finished). And the cluster's crashes: between two inputs, and for good.
import assert from "node:assert/strict";
import { it } from "node:test";
import { Cluster } from "../../src/node/cluster.ts";
import { runUntilSettled } from "../../src/testing.ts";
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

it("a member crashed between two inputs restarts from its store; the group settles", async () => {
  const c = new Cluster({ seed: 5, persist: (name) => name === "m2" });
  await c.form(5);
  const before = c.members.get("m2")!;
  const inputs = c.sim.inputs("m2");
  c.crashAfterInputs("m2", 3, 2_000);
  await c.members.get("m0")!.proposeRefresh();
  for (let t = 0; t < 100 && c.sim.isUp("m2"); t++) await c.sim.runFor(20);
  assert.equal(c.sim.isUp("m2"), false, "down after its third input");
  assert.equal(c.sim.inputs("m2") - inputs, 3);
  await c.chat("m1", "while m2 is down");
  assert.notEqual(await runUntilSettled(c, { timeoutMs: 60_000 }), null, JSON.stringify(c.summary(), big));
  assert.notEqual(c.members.get("m2"), before, "a new process, restored from the store");
  assert.deepEqual([...c.dead], []);
});

it("a joiner crashed right after its Welcome comes back in the group", async () => {
  const c = new Cluster({ seed: 6, persist: (name) => name === "m4" });
  await c.form(4);
  const joiner = await c.add("m4", "joiner");
  joiner.once("joined", () => c.crashAfterInputs("m4", 1, 1_500));
  for (let t = 0; t < 120 && c.sim.isUp("m4"); t++) await c.sim.runFor(250);
  assert.equal(c.sim.isUp("m4"), false, "it crashed after joining");
  assert.notEqual(await runUntilSettled(c, { timeoutMs: 60_000 }), null, JSON.stringify(c.summary(), big));
  assert.ok(c.members.get("m0")!.roster().includes("m4"));
});

it("a member killed for good leaves the running members; the live ones settle with it in the roster", async () => {
  const c = new Cluster({ seed: 7 });
  await c.form(5);
  c.kill("m4", c.now);
  await c.sim.runFor(10);
  assert.deepEqual([...c.dead], ["m4"]);
  assert.equal(c.members.has("m4"), false);
  assert.equal(c.sim.isUp("m4"), false);
  await c.members.get("m1")!.proposeRefresh();
  await c.chat("m0", "after m4 died");
  assert.notEqual(await runUntilSettled(c, { timeoutMs: 60_000 }), null, JSON.stringify(c.summary(), big));
  assert.ok(c.members.get("m0")!.roster().includes("m4"), "nobody removed it: that takes a vote");
  assert.ok(c.members.get("m0")!.group.epoch! >= 2n, "the live four committed without it");
});

const big = (_: string, v: unknown) => (typeof v === "bigint" ? `${v}` : v);
