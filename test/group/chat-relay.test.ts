// Chats of a sender that cannot send them again are relayed, signed by their sender (docs/chats.md,
// "Relays"): a member cut off while a sender chatted and then died gets the chats from the members that
// answer its catch-up; a relay cannot forge or alter a chat.
import assert from "node:assert/strict";
import { it } from "node:test";
import { signChat } from "../../src/group/chat-signature.ts";
import { FAST_GROUP_PARAMS, type GroupParams } from "../../src/group/params.ts";
import { Cluster } from "../../src/node/cluster.ts";
import type { ChatMessage, Member } from "../../src/node/member.ts";
import { FAST_SYNC_PARAMS } from "../../src/sync/params.ts";
import { heal, partition } from "../../src/testing.ts";
import { utf8 } from "../../src/util/bytes.ts";
import { injectPayload } from "./inject.ts";

function messages(m: Member): ChatMessage[] {
  const seen: ChatMessage[] = [];
  m.on("message", (e) => seen.push(e));
  return seen;
}

async function until(c: Cluster, ok: () => boolean, ms = 60_000): Promise<boolean> {
  for (const end = c.now + ms; !ok(); await c.sim.runFor(100)) if (c.now > end) return false;
  return true;
}

/**
 * m3 is cut off while the others move on one epoch and m0 sends three chats, then m0 dies for good; after
 * the heal m3 catches up. Returns what m3 got, once it is back in sync.
 */
async function deadSenderRun(groupParams: GroupParams, seed: number): Promise<ChatMessage[]> {
  const c = new Cluster({ seed, groupParams, syncParams: FAST_SYNC_PARAMS });
  await c.form(4);
  const m0 = c.members.get("m0")!;
  const m3 = c.members.get("m3")!;
  const at3 = messages(m3);
  partition(c, [["m0", "m1", "m2"], ["m3"]]);
  await m0.proposeRefresh();
  const before = c.epochOf("m0");
  assert.ok(await until(c, () => ["m0", "m1", "m2"].every((m) => c.epochOf(m) > before)));
  for (let i = 1; i <= 3; i++) {
    await m0.sendChat(`chat ${i}`);
    await c.sim.runFor(50);
  }
  await c.sim.runFor(2_000);
  c.sim.crash("m0");
  // Long enough that m0 is no longer heard: nobody counts on it to send its chats again.
  await c.sim.runFor(30_000);
  heal(c);
  await until(c, () => c.epochOf("m3") === c.epochOf("m1") && at3.length >= 3, 60_000);
  await c.sim.runFor(5_000);
  return at3;
}

it("a cut-off member gets the chats of a sender that died meanwhile, relayed and signed by their sender", async () => {
  for (const seed of [1, 2, 3]) {
    const got = await deadSenderRun(FAST_GROUP_PARAMS, seed);
    assert.deepEqual(
      got.map((m) => [m.from, m.text]).sort(),
      [1, 2, 3].map((i) => ["m0", `chat ${i}`]),
      `seed ${seed}: each once, as m0's`,
    );
  }
});

it("without relays (relayChatsKept 0) the same runs lose some (SDS repair brings the others): the relays are what brings them all", async () => {
  let lost = 0;
  for (const seed of [1, 2, 3])
    lost += 3 - (await deadSenderRun({ ...FAST_GROUP_PARAMS, relayChatsKept: 0 }, seed)).length;
  assert.ok(lost > 0, "some chat of the dead sender never arrives");
});

it("a relay cannot forge or alter a chat: a bad signature, a changed body or an unknown sender change nothing", async () => {
  const c = new Cluster({ seed: 4, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(3);
  const m0 = c.members.get("m0")!.group;
  const m2 = c.members.get("m2")!;
  const at2 = messages(m2);
  const genuine = await signChat(m0.core, {
    id: utf8("chat-id-16-bytes"),
    body: utf8("what m0 said"),
    sequence: 1n,
    sentAt: BigInt(c.now),
    after: [],
  });
  const cases: [string, Parameters<typeof injectPayload>[2]][] = [
    [
      "INVALID_SIGNATURE",
      { relayed: { sender: m0.memberId, chat: { ...genuine, body: utf8("not what m0 said") } } },
    ],
    [
      "INVALID_SIGNATURE",
      { relayed: { sender: m0.memberId, chat: { ...genuine, signature: new Uint8Array(64) } } },
    ],
    ["NOT_MEMBER", { relayed: { sender: utf8("nobody"), chat: genuine } }],
    ["MALFORMED", { relayed: { sender: m0.memberId } }],
  ];
  for (const [code, payload] of cases) {
    const before = m2.group.state.counters[code as "MALFORMED"] ?? 0;
    await injectPayload(c, "m1", payload);
    await c.sim.runFor(1_000);
    assert.equal(m2.group.state.counters[code as "MALFORMED"], before + 1, code);
  }
  assert.equal(at2.length, 0, "nothing delivered");

  // The genuine chat, relayed by m1, is m0's.
  await injectPayload(c, "m1", { relayed: { sender: m0.memberId, chat: genuine } });
  await c.sim.runFor(1_000);
  assert.deepEqual(
    at2.map((m) => [m.from, m.text]),
    [["m0", "what m0 said"]],
  );
});

it("a relayed chat its sender signed longer ago than relayMaxAgeMs is refused (a replay), a recent one taken", async () => {
  const c = new Cluster({
    seed: 5,
    groupParams: { ...FAST_GROUP_PARAMS, relayMaxAgeMs: 500 },
    syncParams: FAST_SYNC_PARAMS,
  });
  await c.form(3);
  const m0 = c.members.get("m0")!.group;
  const m2 = c.members.get("m2")!;
  const at2 = messages(m2);
  const chat = (id: string, sentAt: number) =>
    signChat(m0.core, { id: utf8(id), body: utf8(id), sequence: 1n, sentAt: BigInt(sentAt), after: [] });
  await injectPayload(c, "m1", {
    relayed: { sender: m0.memberId, chat: await chat("old-chat-id-16by", c.now - 1_000) },
  });
  await c.sim.runFor(200);
  assert.equal(m2.group.state.counters.STALE_RELAY, 1);
  await injectPayload(c, "m1", {
    relayed: { sender: m0.memberId, chat: await chat("new-chat-id-16by", c.now) },
  });
  await c.sim.runFor(200);
  assert.deepEqual(
    at2.map((m) => m.text),
    ["new-chat-id-16by"],
  );
});
