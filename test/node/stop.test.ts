// A member stopped while it processes an input saves and sends nothing more: its store may be closed
// right after `stop()` (a process shutting down), and what it was doing must not reach it.
import assert from "node:assert/strict";
import { it } from "node:test";
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
