// Values a peer controls are bounded before they are used: an SDS message from a non-member with a
// Lamport timestamp of 2^64-1 made every member adopt that clock, and no member could send again.
import assert from "node:assert/strict";
import { it } from "node:test";
import { encodeGroupFrame } from "../../src/group/frames.ts";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { encodeSdsMessage, messageIdOf } from "../../src/sds/index.ts";
import { FAST_SYNC_PARAMS } from "../../src/sync/params.ts";
import { MAX_WIRE_U64 } from "../../src/util/bounds.ts";

/** Publishes SDS messages on the group's app topic from a node that is not a member. */
async function fromIntruder(
  c: Cluster,
  messages: { messageId: string; lamportTimestamp: bigint; content?: Uint8Array }[],
): Promise<void> {
  const m0 = c.members.get("m0")!;
  const intruder = c.sim.addNode("intruder");
  const channelId = m0.group.channel!.state.channelId;
  for (const m of messages) {
    // A content message's id is the hash SDS checks (anyone can compute it): what is tested is the rest.
    const messageId = m.content
      ? messageIdOf(channelId, "intruder", m.lamportTimestamp, m.content)
      : m.messageId;
    await intruder.transport.publish(
      m0.group.topics.app,
      encodeSdsMessage({
        senderId: "intruder",
        channelId,
        causalHistory: [],
        repairRequest: [],
        ...m,
        messageId,
      }),
    );
  }
  await c.sim.runFor(500);
}

/** A member proposes a key refresh: the group commits it and ends in one state. */
async function assertGroupCommits(c: Cluster): Promise<void> {
  const epoch = c.epochOf("m0");
  await c.members.get("m2")!.proposeRefresh();
  for (let t = 0; t < 20 && c.epochOf("m0") === epoch; t++) await c.sim.runFor(500);
  await c.sim.runFor(3_000);
  assert.equal(c.epochOf("m0"), epoch + 1n, "the group commits");
  assert.equal(c.distinctStates().size, 1);
}

it("an SDS message with a Lamport clock of 2^53-1 or 2^64-1 from a non-member is refused and counted; the group goes on", async () => {
  const c = new Cluster({ seed: 8, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(4);
  await fromIntruder(c, [
    { messageId: "forged", lamportTimestamp: MAX_WIRE_U64, content: new Uint8Array([1, 2, 3]) },
    { messageId: "forged-sync", lamportTimestamp: MAX_WIRE_U64 },
    { messageId: "forged-64", lamportTimestamp: 2n ** 64n - 1n, content: new Uint8Array([1, 2, 3]) },
  ]);
  for (const m of c.members.values()) {
    assert.equal(m.group.state.counters.SDS_LAMPORT_AHEAD, 2, `${m.name} refused both`);
    assert.equal(m.group.state.counters.SDS_MALFORMED, 1, `${m.name} could not even decode 2^64-1`);
    assert.ok(m.group.channel!.state.lamport < 2n ** 63n, `${m.name} kept its clock`);
  }
  await c.chat("m1", "still here");
  await assertGroupCommits(c);
  assert.deepEqual([...c.missingChats()], [], "the chat reached everyone");
});

it("forged commit headers from a non-member (epoch 2^64-1, a flood for the next epoch) are refused and counted; nothing grows, the group commits", async () => {
  const c = new Cluster({ seed: 9, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(4);
  const m0 = c.members.get("m0")!;
  const real = m0.group.state.commitLog.at(-1)!.commit;
  const groupIdLength = m0.group.group!.groupId.length;
  const epoch = c.epochOf("m0");
  // MLSMessage: version (2), wire format (2), group id (1-byte length + bytes), then the epoch (u64).
  const forge = (e: bigint, tail: number) => {
    const f = real.slice();
    new DataView(f.buffer).setBigUint64(5 + groupIdLength, e);
    f[f.length - 1] = tail;
    return f;
  };
  const forged = [forge(2n ** 64n - 1n, 0), ...Array.from({ length: 20 }, (_, i) => forge(epoch + 1n, i))];
  await fromIntruder(
    c,
    forged.map((commit, i) => ({
      messageId: `forged-commit-${i}`,
      lamportTimestamp: BigInt(Math.floor(c.now)),
      content: encodeGroupFrame({ commit }),
    })),
  );
  for (const m of c.members.values()) {
    const { counters, observedCommits } = m.group.state;
    assert.equal(counters.FAR_EPOCH, 1, `${m.name} refused the commit for epoch 2^64-1`);
    assert.equal(counters.OBSERVED_FULL, 12, `${m.name} kept 8 of the 20 commits for the next epoch`);
    assert.equal(observedCommits.get(epoch + 1n)?.length, 8);
    assert.equal(observedCommits.has(2n ** 64n - 1n), false);
  }
  await assertGroupCommits(c); // past the 8 forged candidates kept for this epoch
});
