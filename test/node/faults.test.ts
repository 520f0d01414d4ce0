// No exception escapes a member: a step of its input queue that throws is counted, reported and dropped,
// and the member goes on; a member a commit removed sends nothing more on its group's channel.
import assert from "node:assert/strict";
import { it } from "node:test";
import { GroupError } from "../../src/group/errors.ts";
import { isActive } from "../../src/mls/index.ts";
import { formedGroup } from "../security/harness.ts";

it("a step that throws is counted (INTERNAL, or a typed error's code), reported, and the member goes on", async () => {
  const c = await formedGroup(41, 3);
  const m1 = c.members.get("m1")!;
  const heard: { code: string; detail: string }[] = [];
  m1.on("fault", (f) => heard.push(f));
  const receive = m1.sync.receive.bind(m1.sync);
  let throws: Error[] = [new TypeError("a bug"), new GroupError("NO_GROUP", "a typed one")];
  m1.sync.receive = async (bytes, now) => {
    const e = throws.shift();
    if (e) throw e;
    return receive(bytes, now);
  };
  // Two sync messages: the two steps that read them throw.
  await c.sim.runFor(3_000);
  assert.equal(throws.length, 0, "both steps ran");
  assert.equal(m1.sync.state.counters.INTERNAL, 1);
  assert.equal(m1.sync.state.counters.NO_GROUP, 1);
  assert.deepEqual(
    heard.map((f) => f.code),
    ["INTERNAL", "NO_GROUP"],
  );
  assert.match(heard[0]!.detail, /^message: TypeError: a bug/);
  assert.deepEqual(
    c.faults.map((f) => f.code),
    ["INTERNAL", "NO_GROUP"],
  );
  // The member goes on: it commits and chats.
  const epoch = m1.group.epoch!;
  await c.members.get("m0")!.proposeRefresh();
  for (let t = 0; t < 20 && m1.group.epoch === epoch; t++) await c.sim.runFor(500);
  assert.equal(m1.group.epoch, epoch + 1n);
  await c.chat("m1", "still here");
  for (let t = 0; t < 20 && c.missingChats().size > 0; t++) await c.sim.runFor(500);
  assert.deepEqual([...c.missingChats()], []);
  throws = [];
});

it("a timer step that throws every time does not spin the member: it retries a second later", async () => {
  const c = await formedGroup(42, 3);
  const m2 = c.members.get("m2")!;
  const tick = m2.group.tick.bind(m2.group);
  m2.group.tick = async () => {
    throw new RangeError("always");
  };
  await c.sim.runFor(5_000);
  const n = m2.sync.state.counters.INTERNAL ?? 0;
  assert.ok(n >= 4 && n <= 6, `one fault per second, not one per millisecond: ${n}`);
  m2.group.tick = tick;
  const epoch = m2.group.epoch!;
  await c.members.get("m0")!.proposeRefresh();
  for (let t = 0; t < 20 && m2.group.epoch === epoch; t++) await c.sim.runFor(500);
  assert.equal(m2.group.epoch, epoch + 1n, "with its timer back it takes part again");
});

it("a removed member sends nothing more on its group's channels (its state on the sync channel only while it checks its removal), throws nothing, and refuses commands", async () => {
  const c = await formedGroup(43, 4);
  const m3 = c.members.get("m3")!;
  await c.members.get("m0")!.proposeRemove("m3");
  // Removals wait for the applications' votes: m1 and m2 approve (m3 does not need to).
  for (let t = 0; t < 20 && c.members.get("m1")!.pendingProposals().length === 0; t++)
    await c.sim.runFor(100);
  for (const name of ["m1", "m2"]) {
    const m = c.members.get(name)!;
    for (const p of m.pendingProposals()) await m.vote(p.id, true);
  }
  for (let t = 0; t < 40 && isActive(m3.group.group!); t++) await c.sim.runFor(250);
  assert.equal(isActive(m3.group.group!), false, "m3 processed its removal");
  await c.sim.runFor(1_000);
  const sent = { ...m3.bytesOut };
  // A joiner announces itself: the removed member must neither propose it nor vote on it.
  await c.add("m4", "joiner");
  for (let t = 0; t < 60 && c.members.get("m4")!.group.group === undefined; t++) await c.sim.runFor(500);
  await c.sim.runFor(5_000);
  assert.ok(c.members.get("m4")!.group.group, "the group added the joiner");
  assert.equal(m3.bytesOut.app, sent.app, "m3 published nothing on the application channel");
  assert.equal(m3.bytesOut.welcome, sent.welcome, "nor on the welcome channel");
  // On the sync channel, probes from its state before the removal while it checks the removal (a group
  // that never took the removal answers it there; docs/sync.md), then nothing once the check ends. A probe
  // is never taken as where the member is.
  const m3Id = Buffer.from("m3").toString("hex");
  const seenAt = c.members.get("m0")!.sync.state.views.get(m3Id)?.receivedAt;
  await c.sim.runFor(20_000);
  assert.ok(m3.bytesOut.sync > sent.sync, "m3 probed while it checked its removal");
  assert.equal(c.members.get("m0")!.sync.state.views.get(m3Id)?.receivedAt, seenAt, "no view from a probe");
  await c.sim.runFor(100_000);
  const later = m3.bytesOut.sync;
  await c.sim.runFor(30_000);
  assert.equal(m3.bytesOut.sync, later, "nothing on the sync channel once its removal check ended");
  assert.equal((m3.sync.state.counters as Record<string, number>).REMOVAL_UNDONE, undefined);
  assert.deepEqual(c.faults, [], "no step threw");
  await assert.rejects(
    m3.sendChat("hello?"),
    (e: unknown) => e instanceof GroupError && e.code === "REMOVED",
  );
  await assert.rejects(m3.proposeRefresh(), (e: unknown) => e instanceof GroupError && e.code === "REMOVED");
});
