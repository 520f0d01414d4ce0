// The delivery order of chats (docs/chats.md): each chat carries its sender's sequence number, the
// sender's timestamp and its causal predecessors; receivers deliver causally, hold a chat whose
// predecessors have not arrived (also across a catch-up), and deliver it anyway after `chatHoldMs`.
import assert from "node:assert/strict";
import { it } from "node:test";
import { MAX_CHAT_AFTER } from "../../src/group/chat-order.ts";
import { FAST_GROUP_PARAMS, type GroupParams } from "../../src/group/params.ts";
import { Cluster } from "../../src/node/cluster.ts";
import type { ChatMessage, Member } from "../../src/node/member.ts";
import { FAST_SYNC_PARAMS } from "../../src/sync/params.ts";
import { heal, partition } from "../../src/testing.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";
import { injectPayload } from "./inject.ts";

function messages(m: Member): ChatMessage[] {
  const seen: ChatMessage[] = [];
  m.on("message", (e) => seen.push(e));
  return seen;
}

async function until(c: Cluster, ok: () => boolean, ms = 60_000): Promise<void> {
  for (const end = c.now + ms; !ok(); await c.sim.runFor(100)) if (c.now > end) throw new Error("timed out");
}

/**
 * m2 is cut off while m0 and m1 move on one epoch and m0 sends five chats; right after the heal m0 sends
 * a sixth, which reaches m2 before the five (they come with its catch-up).
 */
async function chatsAcrossCatchUp(groupParams: GroupParams, seed: number): Promise<ChatMessage[]> {
  const c = new Cluster({ seed, groupParams, syncParams: FAST_SYNC_PARAMS });
  await c.form(3);
  const m0 = c.members.get("m0")!;
  const at2 = messages(c.members.get("m2")!);
  partition(c, [["m0", "m1"], ["m2"]]);
  await m0.proposeRefresh();
  const before = c.epochOf("m0");
  await until(c, () => c.epochOf("m0") > before && c.epochOf("m1") > before);
  for (let i = 1; i <= 5; i++) {
    await m0.sendChat(`chat ${i}`);
    await c.sim.runFor(50);
  }
  heal(c);
  await m0.sendChat("chat 6");
  await until(c, () => at2.length === 6);
  return at2;
}

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

it("chats sent while a member was cut off reach it in the sender's order after its catch-up, numbered 1..6", async () => {
  for (const seed of SEEDS) {
    const got = await chatsAcrossCatchUp(FAST_GROUP_PARAMS, seed);
    assert.deepEqual(
      got.map((m) => [m.text, m.sequence, m.outOfOrder]),
      [1, 2, 3, 4, 5, 6].map((i) => [`chat ${i}`, i, false]),
      `seed ${seed}`,
    );
    for (const [i, m] of got.entries()) {
      assert.equal(m.from, "m0");
      assert.ok(m.sentAt > 0, "the sender's timestamp");
      if (i > 0) assert.ok(m.sentAt >= got[i - 1]!.sentAt, "sent later, stamped later");
    }
  }
});

it("without holding (chatHoldMs 0) the same runs deliver out of order, and say so: the hold is what orders them", async () => {
  let disordered = 0;
  for (const seed of SEEDS) {
    const got = await chatsAcrossCatchUp({ ...FAST_GROUP_PARAMS, chatHoldMs: 0 }, seed);
    assert.deepEqual(got.map((m) => m.sequence).sort(), [1, 2, 3, 4, 5, 6], "all six, once each");
    if (got.some((m, i) => m.sequence !== i + 1)) disordered++;
    // The flag marks where the order breaks: a chat delivered before the one it directly follows.
    for (const [i, m] of got.entries()) {
      const early = got.slice(i + 1).some((later) => later.sequence === m.sequence - 1);
      assert.equal(
        m.outOfOrder,
        early,
        `seed ${seed}, chat ${m.sequence}: flagged exactly when its predecessor came later`,
      );
    }
  }
  assert.ok(disordered > 0, "some run delivers out of the sender's order without the hold");
});

it("a reply is delivered after the chat it answers, to a member that got the reply first", async () => {
  const c = new Cluster({ seed: 11, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(3);
  const at2 = messages(c.members.get("m2")!);
  const epoch = c.epochOf("m0");
  const question = { id: utf8("question"), body: utf8("who?"), sequence: 1n, sentAt: 1n, after: [] };
  const answer = {
    id: utf8("answer"),
    body: utf8("me"),
    sequence: 1n,
    sentAt: 2n,
    after: [{ id: question.id, epoch }],
  };
  // The answer travels first (m1 read the question on another path): nothing in SDS ties the two.
  await injectPayload(c, "m1", { chat: answer });
  await c.sim.runFor(500);
  assert.equal(at2.length, 0, "the answer waits for the question");
  await injectPayload(c, "m0", { chat: question });
  await until(c, () => at2.length === 2);
  assert.deepEqual(
    at2.map((m) => [m.from, m.text, m.outOfOrder]),
    [
      ["m0", "who?", false],
      ["m1", "me", false],
    ],
  );
  // m2's next chat comes after both: the newest chat of each sender it delivered.
  await c.members.get("m2")!.sendChat("and me");
  const sent = c.members.get("m2")!.group.state.sentChats.at(-1)!;
  assert.deepEqual(sent.after?.map((m) => new TextDecoder().decode(m.id)).sort(), ["answer", "question"]);
});

it("chats that become deliverable at once go by the sender's timestamp, then sender, sequence and id", async () => {
  const c = new Cluster({ seed: 15, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(3);
  const at2 = messages(c.members.get("m2")!);
  const epoch = c.epochOf("m0");
  const root = { id: utf8("root"), body: utf8("root"), sequence: 1n, sentAt: 5n, after: [] };
  const after = [{ id: root.id, epoch }];
  const reply = (from: string, name: string, sentAt: bigint) =>
    injectPayload(c, from, { chat: { id: utf8(name), body: utf8(name), sequence: 1n, sentAt, after } });
  await reply("m1", "m1 at 30", 30n);
  await reply("m0", "m0 at 20", 20n);
  await reply("m1", "m1 at 20", 20n);
  await c.sim.runFor(500);
  assert.equal(at2.length, 0);
  await injectPayload(c, "m0", { chat: root });
  await until(c, () => at2.length === 4);
  assert.deepEqual(
    at2.map((m) => m.text),
    ["root", "m0 at 20", "m1 at 20", "m1 at 30"],
  );
});

it("a chat naming a predecessor that never comes is delivered after chatHoldMs, marked out of order", async () => {
  const c = new Cluster({ seed: 12, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(3);
  const at0 = messages(c.members.get("m0")!);
  const epoch = c.epochOf("m1");
  const chat = {
    id: utf8("orphan"),
    body: utf8("after a chat nobody has"),
    sequence: 2n,
    sentAt: BigInt(c.now),
    after: [{ id: utf8("missing"), epoch }],
  };
  await injectPayload(c, "m1", { chat });
  await c.sim.runFor(FAST_GROUP_PARAMS.chatHoldMs / 2);
  assert.equal(at0.length, 0, "held while its predecessor may still come");
  await until(c, () => at0.length === 1, FAST_GROUP_PARAMS.chatHoldMs * 2);
  assert.deepEqual(
    [at0[0]!.text, at0[0]!.sequence, at0[0]!.outOfOrder],
    ["after a chat nobody has", 2, true],
  );
});

it(`a chat naming more than ${MAX_CHAT_AFTER} predecessors is refused as MALFORMED and delivered to nobody`, async () => {
  const c = new Cluster({ seed: 13, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(3);
  const at0 = messages(c.members.get("m0")!);
  const epoch = c.epochOf("m1");
  const after = Array.from({ length: MAX_CHAT_AFTER + 1 }, (_, i) => ({ id: utf8(`p${i}`), epoch }));
  await injectPayload(c, "m1", { chat: { id: utf8("big"), body: utf8("x"), after } });
  await c.sim.runFor(FAST_GROUP_PARAMS.chatHoldMs * 2);
  assert.equal(at0.length, 0);
  const m0 = c.members.get("m0")!;
  assert.ok((m0.group.state.counters.MALFORMED ?? 0) > 0, "counted as malformed");
  assert.equal(
    m0.group.state.heldChats.some((h) => toHex(h.id) === toHex(utf8("big"))),
    false,
    "not held either",
  );
});

it("held chats survive a restart: saved with the state, delivered in order afterwards", async () => {
  const c = new Cluster({
    seed: 14,
    groupParams: FAST_GROUP_PARAMS,
    syncParams: FAST_SYNC_PARAMS,
    persist: true,
  });
  await c.form(3);
  const epoch = c.epochOf("m1");
  const first = { id: utf8("first"), body: utf8("one"), sequence: 1n, sentAt: 1n, after: [] };
  const second = {
    id: utf8("second"),
    body: utf8("two"),
    sequence: 2n,
    sentAt: 2n,
    after: [{ id: first.id, epoch }],
  };
  await injectPayload(c, "m1", { chat: second });
  await c.sim.runFor(200);
  assert.equal(c.members.get("m0")!.group.state.heldChats.length, 1, "the second waits");
  await c.reload("m0");
  const at0 = messages(c.members.get("m0")!);
  assert.equal(c.members.get("m0")!.group.state.heldChats.length, 1, "still waiting after the restart");
  await injectPayload(c, "m1", { chat: first });
  await until(c, () => at0.length === 2);
  assert.deepEqual(
    at0.map((m) => [m.text, m.outOfOrder]),
    [
      ["one", false],
      ["two", false],
    ],
  );
});
