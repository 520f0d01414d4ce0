// Values a peer controls are bounded before they are used: an SDS message from a non-member with a
// Lamport timestamp of 2^64-1 made every member adopt that clock, and no member could send again.
import assert from "node:assert/strict";
import { it } from "node:test";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { encodeSdsMessage } from "../../src/sds/index.ts";
import { FAST_SYNC_PARAMS } from "../../src/sync/core.ts";

it("an SDS message with a Lamport clock of 2^64-1 from a non-member is refused and counted; the group goes on", async () => {
  const c = new Cluster({ seed: 8, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(4);
  const m0 = c.members.get("m0")!;
  const intruder = c.sim.addNode("intruder");
  const channelId = m0.group.channel!.state.channelId;
  for (const content of [new Uint8Array([1, 2, 3]), undefined])
    await intruder.transport.publish(
      m0.group.topics.app,
      encodeSdsMessage({
        senderId: "intruder",
        messageId: content ? "forged" : "forged-sync",
        channelId,
        lamportTimestamp: 2n ** 64n - 1n,
        causalHistory: [],
        repairRequest: [],
        ...(content ? { content } : {}),
      }),
    );
  await c.sim.runFor(500);
  for (const m of c.members.values()) {
    assert.equal(m.group.state.counters.SDS_LAMPORT_AHEAD, 2, `${m.name} refused both`);
    assert.ok(m.group.channel!.state.lamport < 2n ** 63n, `${m.name} kept its clock`);
  }
  const epoch = c.epochOf("m0");
  await c.chat("m1", "still here");
  await c.members.get("m2")!.proposeRefresh();
  for (let t = 0; t < 20 && c.epochOf("m0") === epoch; t++) await c.sim.runFor(500);
  await c.sim.runFor(3_000);
  assert.equal(c.epochOf("m0"), epoch + 1n, "the group commits");
  assert.equal(c.distinctStates().size, 1);
  assert.deepEqual([...c.missingChats()], [], "the chat reached everyone");
});
