// A rejoin request outlives the rejoin: the member re-announces it until its Welcome arrives, and copies
// reach members who never saw it (those welcomed later, or in the same commit). Acting on such a copy
// removed the member's new leaf again; at 60 members 9 of 24 rejoiners were removed that way.
import assert from "node:assert/strict";
import { it } from "node:test";
import { decodeWelcomeFrame } from "../../src/group/frames.ts";
import { roster } from "../../src/mls/index.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { utf8 } from "../../src/util/bytes.ts";

const hex = (s: string) => Buffer.from(utf8(s)).toString("hex");

it("a rejoin request seen after the member is back (by a member who never saw it) does not remove it again", async () => {
  const c = new Cluster({ seed: 17 });
  await c.form(4);
  const welcomeTopic = c.members.get("m0")!.group.topics.welcome;
  const requests: Uint8Array[] = [];
  c.sim.node("m0").transport.subscribe(welcomeTopic, (d) => {
    if (decodeWelcomeFrame(d.data).rejoin !== undefined) requests.push(d.data);
  });
  const start = c.epochOf("m0");
  await c.members.get("m3")!.requestRejoin();
  // Back: removed and re-added (two epochs), everyone in one state.
  for (let t = 0; t < 60 && !(c.epochOf("m0") >= start + 2n && c.distinctStates().size === 1); t++)
    await c.sim.runFor(500);
  assert.equal(c.distinctStates().size, 1, "m3 is back");
  assert.equal(c.members.get("m3")!.sync.state.counters.FORK_BEYOND_RETAINED, undefined, "asked, not forked");
  assert.ok(requests.length > 0, "m3 announced a rejoin request");
  // m4 joins afterwards: it has seen none of this.
  await c.add("m4", "joiner");
  for (let t = 0; t < 60 && !(c.distinctStates().size === 1 && c.members.size === 5); t++)
    await c.sim.runFor(500);
  const m4 = c.members.get("m4")!;
  assert.ok(m4.group.group, "m4 joined");
  await c.sim.node("m1").transport.publish(welcomeTopic, requests.at(-1)!);
  await c.sim.runFor(8_000);
  assert.equal(m4.group.state.pendingRejoins.has(hex("m3")), false, "m4 did not take up the old request");
  assert.equal(c.distinctStates().size, 1);
  const names = roster(m4.group.group!).map((m) => new TextDecoder().decode(m.memberId));
  assert.deepEqual(names.sort(), ["m0", "m1", "m2", "m3", "m4"]);
});

it("a member that asked to leave and then asks to be re-added no longer leaves again when brought back", async () => {
  const c = new Cluster({ seed: 18 });
  await c.form(4);
  const m3 = c.members.get("m3")!;
  await m3.leave();
  assert.equal(m3.group.state.leaving, true, "the leave is remembered (asked again if undone)");
  await m3.requestRejoin();
  assert.equal(m3.group.state.leaving, false, "the application changed its mind");
});
