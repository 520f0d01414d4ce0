// Chat pulls (docs/chats.md, "Pulls"): sequence numbers show a member the chats it missed; it asks one
// member for them, and a responder serves only what the requester was on its roster to read, within a
// budget.
import assert from "node:assert/strict";
import { it } from "node:test";
import {
  arrivedBefore,
  noteChatArrival,
  noteChatSequence,
  onChatPull,
  owedSequences,
  PULL_ATTEMPTS,
  PULL_SEQUENCES,
  PULL_WINDOW,
} from "../../src/group/chat-pull.ts";
import { newAnswerKey, openAnswer, sealAnswer } from "../../src/group/chat-pull-seal.ts";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { Cluster } from "../../src/node/cluster.ts";
import type { ChatMessage, Member } from "../../src/node/member.ts";
import { FAST_SYNC_PARAMS } from "../../src/sync/params.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";
import { injectPayload } from "./inject.ts";

function messages(m: Member): ChatMessage[] {
  const seen: ChatMessage[] = [];
  m.on("message", (e) => seen.push(e));
  return seen;
}

const served = (m: Member) => m.group.state.counters.CHAT_PULL_SERVED ?? 0;

it("gaps and an announced last sequence are owed; what predates us, lies beyond the window and given-up sequences are not", async () => {
  const c = new Cluster({ seed: 1, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(2);
  const core = c.members.get("m1")!.group.core;
  const m0 = c.members.get("m0")!.group.memberId;
  const seqs = () => core.vol.chatSeqs.get(toHex(m0))!;
  core.vol.chatSeqs.clear();
  // m0's first announcement, heard long after we entered the group (cut off from m0 since): 1-5 are owed
  // (responders refuse what predates our add).
  core.vol.enteredAt = 0;
  noteChatSequence(core, toHex(m0), 5, FAST_GROUP_PARAMS.chatFirstCountMs + 1);
  assert.deepEqual(owedSequences(seqs()), [1, 2, 3, 4, 5]);
  core.vol.chatSeqs.clear();
  // Of a sender with more than the window: the newest window is owed, not its first chats.
  noteChatSequence(core, toHex(m0), 100, FAST_GROUP_PARAMS.chatFirstCountMs + 1);
  assert.equal(seqs().first, 100 - PULL_WINDOW + 1);
  assert.equal(seqs().high, 100);
  core.vol.chatSeqs.clear();
  // m0's first chat to arrive is its third, long after we entered (a split kept 1-2 from us, and m0 never
  // announced a count since): 1-2 are owed too (chaos dead 1473).
  noteChatArrival(core, m0, 3, FAST_GROUP_PARAMS.chatFirstCountMs + 1);
  assert.deepEqual(owedSequences(seqs()), [1, 2]);
  core.vol.chatSeqs.clear();
  // As we entered, the first chat to arrive marks where what we are owed starts.
  noteChatArrival(core, m0, 3, FAST_GROUP_PARAMS.chatFirstCountMs);
  assert.deepEqual(owedSequences(seqs()), []);
  core.vol.chatSeqs.clear();
  // Heard as we entered: 5 sent before, so 1-5 are not ours to ask.
  noteChatSequence(core, toHex(m0), 5, FAST_GROUP_PARAMS.chatFirstCountMs);
  assert.deepEqual(owedSequences(seqs()), []);
  noteChatArrival(core, m0, 6, 0);
  noteChatArrival(core, m0, 9, 0);
  assert.deepEqual(owedSequences(seqs()), [7, 8], "the gap below a chat that arrived");
  noteChatSequence(core, toHex(m0), 11, 0);
  assert.deepEqual(owedSequences(seqs()), [7, 8, 10, 11], "and up to the announced last");
  // A lie far ahead is cut at the window past what arrived; what is owed is capped per pull.
  noteChatSequence(core, toHex(m0), 2 ** 50, 0);
  assert.equal(seqs().high, 9 + PULL_WINDOW);
  assert.equal(owedSequences(seqs()).length, PULL_SEQUENCES);
  // An unsafe or negative number changes nothing.
  const high = seqs().high;
  noteChatSequence(core, toHex(m0), Number.MAX_SAFE_INTEGER + 2, 0);
  noteChatSequence(core, toHex(m0), -1, 0);
  assert.equal(seqs().high, high);
  // A sequence asked PULL_ATTEMPTS times is given up.
  seqs().asked.set(7, PULL_ATTEMPTS);
  assert.ok(!owedSequences(seqs()).includes(7));
  // Announcements of a member not on our roster are ignored.
  noteChatSequence(core, toHex(new TextEncoder().encode("stranger")), 3, 0);
  assert.ok(!core.vol.chatSeqs.has(toHex(new TextEncoder().encode("stranger"))));
});

it("a chat one member never got is pulled and arrives once; without pulls it stays lost", async () => {
  for (const pulls of [true, false]) {
    // SDS brings nothing back here (no resends, no repair requests): what m2 misses stays missed but for
    // the pulls.
    const sds = { ...FAST_GROUP_PARAMS.sds, maxResends: 0, repairTMinMs: 3_600_000, repairTMaxMs: 3_600_000 };
    const c = new Cluster({
      seed: 2,
      groupParams: { ...FAST_GROUP_PARAMS, sds, chatPullMs: pulls ? 1_000 : 3_600_000 },
      syncParams: FAST_SYNC_PARAMS,
    });
    await c.form(3);
    const m2 = c.members.get("m2")!;
    const at2 = messages(m2);
    const m0 = c.members.get("m0")!;
    await m0.sendChat("first");
    await c.sim.runFor(3_000);
    // Every copy of m0's second chat, first sent or sent again by anyone, goes to everyone but m2.
    const lost: Uint8Array[] = [];
    let recording = true;
    const filter = (m: string) => (p: { kind: string; data: Uint8Array }) => {
      if (p.kind !== "app") return "send" as const;
      if (m === "m0" && recording) lost.push(p.data);
      const isLost = lost.some((b) => Buffer.compare(Buffer.from(b), Buffer.from(p.data)) === 0);
      return isLost ? { to: ["m0", "m1"].filter((x) => x !== m) } : ("send" as const);
    };
    c.outgoing.set("m0", filter("m0"));
    c.outgoing.set("m1", filter("m1"));
    await m0.sendChat("second");
    recording = false;
    await c.sim.runFor(15_000);
    const texts = at2.map((m) => m.text).sort();
    if (pulls) assert.deepEqual(texts, ["first", "second"], "the missed chat arrives, once");
    else assert.deepEqual(texts, ["first"], "without pulls it never comes");
  }
});

it("a responder serves only pulls that name it, only chats sent while the requester was on its roster, within a budget", async () => {
  const c = new Cluster({ seed: 3, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(3);
  const m0 = c.members.get("m0")!;
  const m1 = c.members.get("m1")!;
  await m0.sendChat("before the joiner");
  await c.sim.runFor(3_000);
  const id0 = m0.group.memberId;
  // Every pull carries its requester's answer key (a pull without one is refused: see below).
  const key1 = newAnswerKey(m1.group.core);
  // A pull naming another responder: m0 serves nothing.
  await injectPayload(c, "m1", {
    chatPull: {
      sender: id0,
      sequences: [1n],
      responder: c.members.get("m2")!.group.memberId,
      answerKey: key1,
    },
  });
  await c.sim.runFor(1_000);
  assert.equal(served(m0), 0);
  // Naming m0: served once, and a member that had it drops the copy by id.
  await injectPayload(c, "m1", {
    chatPull: { sender: id0, sequences: [1n], responder: id0, answerKey: key1 },
  });
  await c.sim.runFor(1_000);
  assert.equal(served(m0), 1);
  // A joiner asking for what m0 sent before its add gets nothing.
  await c.add("j0", "joiner");
  await c.sim.runFor(15_000);
  assert.ok(c.members.get("j0")!.group.group, "j0 joined");
  const before = served(m0);
  const keyJ = newAnswerKey(c.members.get("j0")!.group.core);
  await injectPayload(c, "j0", {
    chatPull: { sender: id0, sequences: [1n], responder: id0, answerKey: keyJ },
  });
  await c.sim.runFor(1_000);
  assert.equal(served(m0), before, "nothing from before the joiner's add");
  // The budget: at most PULL_SEQUENCES chats per requester per chatPullMs, however many pulls.
  for (let i = 0; i < PULL_SEQUENCES + 4; i++) await m0.sendChat(`chat ${i}`);
  await c.sim.runFor(3_000);
  const b = served(m0);
  const all = Array.from({ length: PULL_SEQUENCES }, (_, i) => BigInt(i + 2));
  for (let k = 0; k < 3; k++)
    await injectPayload(c, "m1", {
      chatPull: { sender: id0, sequences: all, responder: id0, answerKey: key1 },
    });
  await c.sim.runFor(100);
  assert.equal(served(m0) - b, PULL_SEQUENCES);
});

it("another member's count of a quiet sender raises what is owed and makes it the first asked; replays of arrived sequences are refused; non-members are not served", async () => {
  const c = new Cluster({ seed: 5, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(3);
  const m0 = c.members.get("m0")!;
  const core = c.members.get("m1")!.group.core;
  const id0 = m0.group.memberId;
  const id2 = toHex(c.members.get("m2")!.group.memberId);
  core.vol.chatSeqs.clear();
  // m2 says it holds a stranger's chats: nothing. Of m0, a roster member we never heard announce: all of
  // them are owed (responders refuse what predates our add), m2 asked first.
  const stranger = toHex(new TextEncoder().encode("stranger"));
  noteChatSequence(core, stranger, 4, 0, id2);
  assert.ok(!core.vol.chatSeqs.has(stranger));
  noteChatSequence(core, toHex(id0), 2, 0, id2);
  assert.deepEqual(owedSequences(core.vol.chatSeqs.get(toHex(id0))!), [1, 2]);
  core.vol.chatSeqs.clear();
  noteChatArrival(core, id0, 1, 0);
  noteChatSequence(core, toHex(id0), 4, 0, id2);
  const e = core.vol.chatSeqs.get(toHex(id0))!;
  assert.deepEqual(owedSequences(e), [2, 3, 4]);
  assert.equal(e.holder, id2, "m2 is asked first");
  // From a stranger: ignored.
  noteChatSequence(core, toHex(id0), 9, 0, toHex(new TextEncoder().encode("stranger")));
  assert.equal(e.high, 4);
  // A sequence that arrived, or one below the window, is a replay.
  assert.ok(arrivedBefore(core, id0, 1));
  assert.ok(!arrivedBefore(core, id0, 2));
  noteChatArrival(core, id0, 1 + PULL_WINDOW + 5, 0);
  assert.ok(arrivedBefore(core, id0, 3), "below the window now");
  // A pull from a non-member is not served, whatever it names.
  await m0.sendChat("one");
  await c.sim.runFor(2_000);
  const out = await onChatPull(
    m0.group.core,
    { sender: id0, sequences: [1n], responder: id0 },
    new TextEncoder().encode("stranger"),
    c.now,
  );
  assert.deepEqual(out, []);
  assert.equal(served(m0), 0);
});

it("answers are sealed to the requester's answer key: only it opens them, and a chat sent while another member was out is served to it alone", async () => {
  const c = new Cluster({ seed: 7, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(3);
  const [m0, m1, m2] = ["m0", "m1", "m2"].map((n) => c.members.get(n)!.group.core);
  const id = (core: typeof m0) => core!.identity.id;
  const key = newAnswerKey(m1!);
  const relayed = {
    sender: id(m0!),
    chat: { id: new Uint8Array([1, 2, 3]), body: utf8("hello"), after: [] },
  };
  const sealed = sealAnswer(m0!, id(m1!), key, relayed)!;
  const opened = openAnswer(m1!, sealed, id(m0!))?.chat?.body;
  assert.equal(opened && new TextDecoder().decode(opened), "hello", "the requester opens it");
  assert.equal(openAnswer(m2!, sealed, id(m0!)), undefined, "another member does not");
  assert.equal(openAnswer(m2!, { ...sealed, to: id(m2!) }, id(m0!)), undefined, "nor by readdressing it");
  assert.equal(openAnswer(m1!, sealed, id(m2!)), undefined, "bound to its responder");
  const flipped = Uint8Array.from(sealed.ciphertext!, (b, i) => (i === 0 ? b ^ 1 : b));
  assert.equal(openAnswer(m1!, { ...sealed, ciphertext: flipped }, id(m0!)), undefined, "tampered");
  assert.equal(sealAnswer(m0!, id(m1!), new Uint8Array(31), relayed), undefined, "a key of another length");
  // m0 sent a chat while, to m0's knowledge, m2 was out (removed, then back): in the clear of MLS it
  // would reach m2 (and members added since), so a pull without a valid answer key is refused and
  // counted; a sealed one is served, to m1 alone.
  await c.members.get("m0")!.sendChat("while m2 was out");
  await c.sim.runFor(2_000);
  const hex2 = toHex(id(m2!));
  m0!.state.formerMembers.set(hex2, [{ how: "removed", from: 0, key: undefined, to: c.now + 1 }]);
  const pull = { sender: id(m0!), sequences: [1n], responder: id(m0!) };
  assert.deepEqual(await onChatPull(m0!, pull, id(m1!), c.now), [], "refused in the clear");
  const short = { ...pull, answerKey: new Uint8Array(31) };
  assert.deepEqual(await onChatPull(m0!, short, id(m1!), c.now), [], "refused with a malformed key");
  assert.equal((m0!.state.counters as Record<string, number>).CHAT_PULL_UNSEALED, 2);
  const out = await onChatPull(m0!, { ...pull, answerKey: newAnswerKey(m1!) }, id(m1!), c.now);
  assert.ok(out.length > 0, "sealed to m1");
  assert.equal(served(c.members.get("m0")!), 1);
  // m2 asking for it itself is not served: it was out when the chat was sent.
  await c.sim.runFor(FAST_GROUP_PARAMS.chatPullMs);
  assert.deepEqual(await onChatPull(m0!, { ...pull, answerKey: newAnswerKey(m2!) }, id(m2!), c.now), []);
});
