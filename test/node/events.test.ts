// The typed events an application subscribes to on a Member (`message`, `sent`, `delivered`, `lost`,
// `status`, `memberJoined`, `memberLeft`, `recovered`, `epoch`), as they come out of real protocol runs
// on the simulator.
import assert from "node:assert/strict";
import { it } from "node:test";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { Cluster } from "../../src/node/cluster.ts";
import type { Member, MemberEvents } from "../../src/node/member.ts";
import { FAST_SYNC_PARAMS } from "../../src/sync/params.ts";

type Seen = { [K in keyof MemberEvents]: MemberEvents[K][] };

/** Every event of `m`, by name, in order. */
function record(m: Member): Seen {
  const seen: Seen = {
    message: [],
    sent: [],
    delivered: [],
    lost: [],
    status: [],
    memberJoined: [],
    memberLeft: [],
    recovered: [],
    epoch: [],
    proposal: [],
    joined: [],
    removed: [],
    fault: [],
  };
  for (const k of Object.keys(seen) as (keyof MemberEvents)[]) m.on(k, (e) => (seen[k] as unknown[]).push(e));
  return seen;
}

async function until(c: Cluster, ok: () => boolean, ms = 30_000): Promise<void> {
  for (const end = c.now + ms; !ok(); await c.sim.runFor(100)) if (c.now > end) throw new Error("timed out");
}

it("a chat: sendChat's id is the one `sent`, every other member's `message` and the sender's `delivered` name", async () => {
  const c = new Cluster({ seed: 31, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(3);
  const [m0, m1, m2] = ["m0", "m1", "m2"].map((n) => record(c.members.get(n)!));
  const sentAt = c.now;
  const id = await c.members.get("m1")!.sendChat("hello");
  assert.match(id, /^[0-9a-f]{32,}$/);
  assert.deepEqual(
    m1!.sent.map((s) => s.id),
    [id],
  );
  await until(c, () => m1!.delivered.length > 0);
  assert.deepEqual(m1!.delivered, [{ id }]);
  for (const seen of [m0!, m2!]) {
    assert.equal(seen.message.length, 1);
    assert.deepEqual(
      { ...seen.message[0]!, body: undefined },
      {
        id,
        from: "m1",
        text: "hello",
        body: undefined,
        epoch: c.epochOf("m1"),
        sequence: 1,
        sentAt,
        outOfOrder: false,
      },
    );
  }
  assert.equal(m1!.message.length, 0, "no echo of our own chat");
  assert.deepEqual([m0!.lost, m1!.lost, m2!.lost], [[], [], []]);
});

it("membership and recovery: `memberJoined`, `epoch` on join, `status` and `recovered` after a cut, `memberLeft` on both sides of a removal", async () => {
  const c = new Cluster({ seed: 32, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(3);
  const m0 = record(c.members.get("m0")!);
  const m3 = await c.add("m3", "joiner");
  const seen3 = record(m3);
  let ready = false;
  void m3.ready().then(() => {
    ready = true;
  });
  await until(c, () => m3.roster().length === 4 && c.distinctStates().size === 1);
  assert.equal(seen3.joined.length, 1, "`joined` once");
  assert.ok(ready, "ready() resolved once it joined");
  assert.deepEqual(m0.memberJoined, [{ member: "m3" }]);
  assert.deepEqual(
    seen3.epoch.map((e) => e.via),
    ["join"],
  );
  assert.deepEqual(seen3.memberJoined, [], "not for the roster it joined with");

  c.sim.partition([["m0", "m1", "m2"], ["m3"]]);
  await c.members.get("m0")!.proposeRefresh();
  const epoch = c.epochOf("m3");
  await until(c, () => c.epochOf("m0") === epoch + 1n);
  await c.sim.runFor(5_000);
  c.sim.heal();
  await until(c, () => c.settled());
  assert.deepEqual(seen3.recovered, [{ how: "catch-up", epochs: 1 }]);
  assert.ok(
    seen3.status.some((s) => s.status === "BEHIND"),
    JSON.stringify(seen3.status),
  );
  assert.equal(seen3.status.at(-1)!.status, "IN_SYNC");
  for (const s of seen3.status) assert.notEqual(s.status, s.previous);

  const seen2 = record(c.members.get("m2")!);
  const seen1 = record(c.members.get("m1")!);
  await c.members.get("m0")!.proposeRemove("m2");
  // A removal waits for the applications' votes (the simulation policy passes adds only).
  const voters = ["m1", "m3"].map((n) => c.members.get(n)!);
  await until(c, () => voters.every((m) => m.pendingProposals().length > 0));
  const asked = seen1.proposal[0]!;
  assert.deepEqual({ ...asked, id: "" }, { id: "", kind: "remove", target: "m2", proposer: "m0" });
  assert.deepEqual(c.members.get("m1")!.pendingProposals(), [asked]);
  for (const m of voters) await m.vote(asked.id, true);
  await until(c, () => c.members.get("m0")!.roster().length === 3 && seen2.memberLeft.length > 0);
  assert.deepEqual(m0.memberLeft, [{ member: "m2" }]);
  assert.deepEqual(seen2.memberLeft, [{ member: "m2" }], "the removed member hears it left");
  const removed = c.members.get("m2")!;
  assert.equal(seen2.removed.length, 1, "`removed` once");
  assert.equal(removed.removed, true);
  assert.equal(removed.status, "REMOVED", "a removed member says so, not IN_SYNC");
});

it("`lost`: a chat given up before every member acknowledged it (beyond the kept unacknowledged chats)", async () => {
  const groupParams = { ...FAST_GROUP_PARAMS, sds: { ...FAST_GROUP_PARAMS.sds, keepUnacknowledged: 1 } };
  const c = new Cluster({ seed: 33, groupParams, syncParams: FAST_SYNC_PARAMS });
  await c.form(3);
  const m0 = c.members.get("m0")!;
  const seen = record(m0);
  c.sim.partition([["m0", "m1"], ["m2"]]);
  const ids = [await m0.sendChat("a"), await m0.sendChat("b"), await m0.sendChat("c")];
  await c.sim.runFor(1_000);
  assert.deepEqual(
    seen.lost.map((l) => l.id),
    ids.slice(0, 2),
    "the two oldest, which m2 never acknowledged",
  );
  assert.deepEqual(seen.delivered, []);
});
