// A member stopped while it processes an input saves and sends nothing more: its store may be closed
// right after `stop()` (a process shutting down), and what it was doing must not reach it.
import assert from "node:assert/strict";
import { it } from "node:test";
import { deserialize } from "node:v8";
import { Cluster } from "../../src/node/cluster.ts";

it("a member stopped in the middle of a step saves nothing and sends nothing; its store can close at once", async () => {
  const c = new Cluster({ seed: 3, persist: true });
  await c.form(2);
  const m = c.members.get("m1")!;
  const sent = { ...m.bytesOut };
  const chat = m.sendChat("after stop");
  await null; // the queued step has begun (it awaits inside MLS encryption) when stop() comes
  m.stop();
  c.stores.get("m1")!.close();
  await chat; // it used to save into the closed store: "database is not open"
  assert.deepEqual(m.bytesOut, sent, "nothing published");
});

it("an input nobody outside sees is saved within SAVE_LAG_MS, at once by close(), and not by a stop (a crash)", async () => {
  const c = new Cluster({ seed: 4, persist: true });
  await c.form(3);
  await c.sim.runFor(2_000);
  const saved = (name: string) => {
    const snap = deserialize(c.stores.get(name)!.load()!) as { core: { counters: Record<string, number> } };
    return snap.core.counters.SDS_MALFORMED ?? 0;
  };
  const outsider = c.sim.addNode("outsider");
  await outsider.transport.publish(c.members.get("m0")!.group.topics.app, new Uint8Array([0xff, 0xff]));
  await c.sim.runFor(100);
  for (const name of ["m0", "m1", "m2"]) {
    assert.equal(c.members.get(name)!.group.state.counters.SDS_MALFORMED, 1, `${name} counted it`);
    assert.equal(saved(name), 0, `${name} has not saved it yet`);
  }
  await c.members.get("m1")!.close();
  c.members.get("m2")!.stop();
  assert.equal(saved("m1"), 1, "close() saved it");
  await c.sim.runFor(1_000);
  assert.equal(saved("m0"), 1, "saved within SAVE_LAG_MS");
  assert.equal(saved("m2"), 0, "a crash lost it: it was never acknowledged nor acted on");
});
