import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SeededRng } from "../../src/net/sim/prng.ts";
import {
  bloomHasIndices,
  bloomIndices,
  bloomShape,
  DEFAULT_SDS_CONFIG,
  encodeSdsMessage,
  FAST_SDS_CONFIG,
  messageIdOf,
  newRollingBloom,
  newSdsState,
  rollingAdd,
  rollingShape,
  rollingWire,
  SdsChannel,
  type SdsConfig,
  type SdsEffect,
  SdsError,
  validateSdsConfig,
} from "../../src/sds/index.ts";
import { MAX_WIRE_U64 } from "../../src/util/bounds.ts";
import { DemlsError } from "../../src/util/errors.ts";
import { DecodeError } from "../../src/util/proto.ts";
import { CHANNEL, type Participant, SDS_DELIVERY_EXAMPLES, sdsDeliveryProperty, sdsRun } from "./harness.ts";

const text = (s: string) => new TextEncoder().encode(s);

function channel(id: string, config: SdsConfig = DEFAULT_SDS_CONFIG): SdsChannel {
  return new SdsChannel(newSdsState(id, CHANNEL, 1000, config), new SeededRng(id.length), config);
}

function published(effects: SdsEffect[]): Uint8Array[] {
  return effects.flatMap((e) => (e.type === "publish" ? [e.bytes] : []));
}

function delivered(effects: SdsEffect[]): string[] {
  return effects.flatMap((e) => (e.type === "deliver" ? [new TextDecoder().decode(e.content)] : []));
}

describe("SDS channel", () => {
  it("delivers the payload once, in causal order even when messages arrive reordered", () => {
    const a = channel("a");
    const b = channel("b");
    const m1 = published(a.send(text("one"), 2000).effects)[0]!;
    const m2 = published(a.send(text("two"), 2001).effects)[0]!;
    assert.deepEqual(delivered(b.receive(m2, 2100)), [], "m2 waits for m1");
    assert.equal(b.missing().length, 1, "m1 is missing");
    const early = b.tick(2100 + DEFAULT_SDS_CONFIG.repairTMinMs - 1);
    assert.ok(
      early.every((e) => e.type !== "publish" || e.message.repairRequest.length === 0),
      "not requested before T_min",
    );
    assert.deepEqual(delivered(b.receive(m1, 2101)), ["one", "two"]);
    assert.deepEqual(delivered(b.receive(m1, 2102)), []);
    assert.deepEqual(delivered(b.receive(m2, 2103)), []);
    assert.equal(b.state.stats.duplicates, 2);
  });

  it("skipMissedHistory: what waits for missed history is delivered, repairs stop, late messages still arrive", () => {
    const a = channel("a");
    const b = channel("b");
    const m1 = published(a.send(text("one"), 2000).effects)[0]!;
    const m2 = published(a.send(text("two"), 2001).effects)[0]!;
    const m3 = published(a.send(text("three"), 2002).effects)[0]!;
    assert.deepEqual(delivered(b.receive(m3, 2100)), [], "m3 waits for m1 and m2");
    assert.equal(b.missing().length, 2);
    assert.deepEqual(delivered(b.skipMissedHistory()), ["three"]);
    assert.equal(b.missing().length, 0, "no repair requested any more");
    // An older message that still arrives is delivered (not taken for a duplicate), without waiting for m1.
    assert.deepEqual(delivered(b.receive(m2, 2200)), ["two"]);
    assert.deepEqual(delivered(b.receive(m1, 2201)), ["one"]);
    // History after the skip is causal again.
    const m4 = published(a.send(text("four"), 9000).effects)[0]!;
    const m5 = published(a.send(text("five"), 9001).effects)[0]!;
    assert.deepEqual(delivered(b.receive(m5, 9100)), [], "five waits for four");
    assert.deepEqual(delivered(b.receive(m4, 9101)), ["four", "five"]);
  });

  it("sets lamport = max(now, lamport + 1) and orders the log by (lamport, id)", () => {
    const a = channel("a");
    a.send(text("x"), 5000);
    a.send(text("y"), 5000);
    assert.deepEqual(
      a.state.log.map((e) => e.lamport),
      [5000n, 5001n],
    );
  });

  it("acknowledges once every other participant is seen holding the message (history or bloom)", () => {
    const [a, b, c, d] = ["a", "b", "c", "d"].map((id) => channel(id));
    a!.setParticipants(4);
    const { messageId, effects } = a!.send(text("one"), 2000);
    const bytes = published(effects)[0]!;
    const acks = (x: SdsChannel, at: number) =>
      a!
        .receive(published(x.send(text(x.state.selfId), at).effects)[0]!, at + 5)
        .filter((e) => e.type === "acknowledged");
    b!.receive(bytes, 2010);
    assert.deepEqual(acks(b!, 2020), [], "named in b's causal history: 1 of 3 holders");
    c!.receive(bytes, 2030);
    c!.send(text("c1"), 2031);
    c!.send(text("c2"), 2032);
    assert.deepEqual(acks(c!, 2040), [], "c holds it (bloom): 2 of 3");
    d!.receive(bytes, 2050);
    assert.deepEqual(acks(d!, 2060), [{ type: "acknowledged", messageId }]);
    assert.equal(a!.state.outgoing.size, 0);
  });

  it("a message whose holders already reach a smaller quorum (a member left) is acknowledged by the next one heard", () => {
    const [a, b, c] = ["a", "b", "c"].map((id) => channel(id));
    a!.setParticipants(4);
    const { messageId, effects } = a!.send(text("one"), 2000);
    for (const [x, at] of [
      [b!, 2010],
      [c!, 2030],
    ] as const) {
      x.receive(published(effects)[0]!, at);
      const reply = published(x.send(text(x.state.selfId), at + 1).effects)[0]!;
      const acked = a!.receive(reply, at + 5).filter((e) => e.type === "acknowledged");
      assert.deepEqual(acked, [], "3 holders needed");
    }
    a!.setParticipants(3); // d left: b and c are all the others
    const ping = published(b!.sendEphemeral(text("typing"), 2100))[0]!; // carries no filter
    assert.deepEqual(
      a!.receive(ping, 2105).filter((e) => e.type === "acknowledged"),
      [{ type: "acknowledged", messageId }],
    );
  });

  it("resends unacknowledged messages with backoff, later as the sync period stretches, then gives up", () => {
    const cfg = {
      ...DEFAULT_SDS_CONFIG,
      resendAfterMs: 100,
      maxResends: 2,
      syncIntervalMs: 1000,
      syncJitterMs: 0,
    };
    const resends = (participants: number) => {
      const a = channel("a", cfg);
      a.setParticipants(participants);
      const { messageId } = a.send(text("x"), 1000);
      const times: number[] = [];
      const events: SdsEffect["type"][] = [];
      for (let t = 1000; t <= 10_000; t += 10)
        for (const e of a.tick(t)) {
          if (e.type !== "publish") events.push(e.type);
          else if (e.message.messageId === messageId) times.push(t);
        }
      assert.ok(a.state.cache.has(messageId), "still served from the repair cache");
      return { times, events };
    };
    // 100 ms, then 200 ms; given up 400 ms later.
    assert.deepEqual(resends(2), { times: [1100, 1300], events: ["unacknowledged"] });
    // 40 participants: the sync period stretches from 1 s to 2 s, and each wait by that second.
    assert.deepEqual(resends(40), { times: [2100, 3300], events: ["unacknowledged"] });
  });

  it("resends a chat at once to a participant back from silence without it, not at its resend time", () => {
    const cfg = { ...DEFAULT_SDS_CONFIG, resendAfterMs: 100, syncIntervalMs: 1000, syncJitterMs: 0 };
    const [a, b, c] = ["a", "b", "c"].map((id) => channel(id, cfg)) as [SdsChannel, SdsChannel, SdsChannel];
    // 100 participants: the first resend waits for the stretched sync period, 4.1 s.
    for (const x of [a, b, c]) x.setParticipants(100);
    const speak = (x: SdsChannel, t: number) => a.receive(published(x.send(text(`${t}`), t).effects)[0]!, t);
    const resent = (t: number) =>
      a.tick(t).flatMap((e) => (e.type === "publish" && e.message.content ? [e.message.messageId] : []));
    speak(b, 1000);
    speak(c, 1000);
    // b is cut off: only c gets the chat and the vote.
    const chat = a.send(text("chat"), 1100, { resendToReturning: true });
    const vote = a.send(text("vote"), 1100);
    for (const m of [chat, vote]) c.receive(published(m.effects)[0]!, 1100);
    speak(c, 3000);
    assert.deepEqual(resent(3000), [], "c is back, holding both");
    speak(b, 3000);
    assert.deepEqual(
      resent(3000),
      [chat.messageId],
      "b is back without them: the chat goes again, the vote waits",
    );
    speak(b, 3500);
    assert.deepEqual(resent(3500), [], "b spoke since the resend: its timer again");
    assert.deepEqual(resent(5200), [vote.messageId], "the vote at its resend time (1.1 + 4.1 s)");
    assert.equal(a.state.stats.resent, 2);
  });

  it("stretches the sync period with the group above syncFullRateParticipants", () => {
    const cfg = { ...DEFAULT_SDS_CONFIG, syncIntervalMs: 1000, syncJitterMs: 0 };
    const syncTimes = (participants: number) => {
      const a = channel("a", cfg);
      a.setParticipants(participants);
      const times: number[] = [];
      for (let t = 1000; t <= 9000; t += 10) if (published(a.tick(t)).length > 0) times.push(t);
      return times;
    };
    assert.deepEqual(syncTimes(20), [2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
    assert.deepEqual(syncTimes(100), [2000, 7000], "every 5 s at 100 participants (the first was set at 1)");
  });

  it("sends sync messages only when nobody else spoke during the backoff", () => {
    const cfg = { ...DEFAULT_SDS_CONFIG, syncIntervalMs: 1000, syncJitterMs: 100 };
    const a = channel("a", cfg);
    const b = channel("b", cfg);
    const sync = published(a.tick(1000 + 1000))[0]!;
    assert.equal(a.state.stats.syncSent, 1);
    const decoded = a.state.stats;
    assert.equal(decoded.syncSent, 1);
    b.receive(sync, 2000);
    assert.deepEqual(published(b.tick(2050)), [], "b heard a within its backoff window");
    assert.equal(b.state.stats.syncSkipped, 1);
  });

  it("delivers ephemeral messages once, without logging or acks", () => {
    const a = channel("a");
    const b = channel("b");
    const bytes = published(a.sendEphemeral(text("typing"), 2000))[0]!;
    assert.deepEqual(delivered(b.receive(bytes, 2001)), ["typing"]);
    assert.deepEqual(delivered(b.receive(bytes, 2002)), []);
    assert.equal(b.state.log.length, 0);
    assert.equal(a.state.outgoing.size, 0);
  });

  it("keeps requesting a missing message at the longest backoff until it is given up as lost", () => {
    const cfg = { ...FAST_SDS_CONFIG, lostAfterMs: 60_000 };
    const a = channel("a", cfg);
    const b = channel("b", cfg);
    const { messageId: missed } = a.send(text("missed"), 2000);
    b.receive(published(a.send(text("two"), 2001).effects)[0]!, 2100);
    const requestedAt: number[] = [];
    for (let now = 2100; now < 2100 + cfg.lostAfterMs; now += 50) {
      const sent = b.tick(now).flatMap((e) => (e.type === "publish" ? e.message.repairRequest : []));
      if (sent.some((r) => r.messageId === missed)) requestedAt.push(now);
    }
    const gaps = requestedAt.slice(1).map((t, i) => t - requestedAt[i]!);
    const longest = cfg.repairTMaxMs * 2 ** (cfg.repairBackoffSteps - 1);
    assert.ok(requestedAt.length > cfg.repairBackoffSteps + 2, `requested ${requestedAt.length} times`);
    assert.ok(
      gaps.every((g) => g <= longest + 50),
      `gaps ${gaps}`,
    );
    assert.ok(2100 + cfg.lostAfterMs - requestedAt.at(-1)! <= longest + 50, "still asked for near the end");
    assert.ok(b.tick(2100 + cfg.lostAfterMs).some((e) => e.type === "lost" && e.messageId === missed));
    assert.equal(b.missing().length, 0, "no request left once it is lost");
  });

  it("marks a dependency lost after the timeout and delivers what waited for it", () => {
    const cfg = { ...DEFAULT_SDS_CONFIG, lostAfterMs: 10_000 };
    const a = channel("a", cfg);
    const b = channel("b", cfg);
    const { messageId: gone } = a.send(text("gone"), 2000);
    const m2 = published(a.send(text("two"), 2001).effects)[0]!;
    b.receive(m2, 2100);
    const effects = b.tick(12_100);
    assert.deepEqual(
      effects.filter((e) => e.type === "lost"),
      [{ type: "lost", messageId: gone }],
    );
    assert.deepEqual(delivered(effects), ["two"]);
  });

  it("rejects malformed and foreign messages with a typed error and changes nothing", () => {
    const a = channel("a");
    const b = channel("b");
    b.receive(published(a.send(text("one"), 2000).effects)[0]!, 2001);
    const before = structuredClone(b.state);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
        try {
          b.receive(junk, 3000);
        } catch (e) {
          assert.ok(e instanceof DecodeError || e instanceof SdsError, String(e));
          assert.deepEqual(b.state, before);
          return;
        }
        // Some random bytes happen to be valid protobuf of a message for this channel: then they count.
        Object.assign(b.state, structuredClone(before));
      }),
      { numRuns: 2000 },
    );
    const foreign = encodeSdsMessage({
      senderId: "x",
      messageId: "m",
      channelId: "other",
      lamportTimestamp: 1n,
      causalHistory: [],
      repairRequest: [],
      content: text("hi"),
    });
    assert.throws(
      () => b.receive(foreign, 3000),
      (e: unknown) => e instanceof SdsError && e.code === "WRONG_CHANNEL",
    );
    assert.deepEqual(b.state, before);
  });

  it("bounds every peer value before using it: a Lamport clock of 2^53-1 or 2^64-1, oversized histories and ids change nothing", () => {
    const a = channel("a");
    const b = channel("b");
    b.receive(published(a.send(text("one"), 2000).effects)[0]!, 2001);
    const before = structuredClone(b.state);
    const forged = (fields: Partial<Parameters<typeof encodeSdsMessage>[0]>) =>
      encodeSdsMessage({
        senderId: "intruder",
        messageId: "m",
        channelId: CHANNEL,
        lamportTimestamp: MAX_WIRE_U64,
        causalHistory: [],
        repairRequest: [],
        content: text("hi"),
        ...fields,
      });
    const refused = (bytes: Uint8Array, code: string) => {
      assert.throws(
        () => b.receive(bytes, 3000),
        (e: unknown) => e instanceof DemlsError && e.code === code,
      );
      assert.deepEqual(b.state, before, `${code}: nothing adopted`);
    };
    refused(forged({}), "LAMPORT_AHEAD");
    // Beyond a safe integer the decoder refuses it (every layer's uint64 fields alike).
    refused(forged({ lamportTimestamp: 2n ** 64n - 1n }), "MALFORMED");
    refused(forged({ content: undefined }), "LAMPORT_AHEAD"); // a sync message too
    refused(
      forged({ lamportTimestamp: 3000n + BigInt(DEFAULT_SDS_CONFIG.maxLamportAheadMs) + 1n }),
      "LAMPORT_AHEAD",
    );
    const entries = Array.from({ length: DEFAULT_SDS_CONFIG.maxHistoryEntries + 1 }, (_, i) => ({
      messageId: `${i}`,
    }));
    refused(forged({ lamportTimestamp: 3000n, causalHistory: entries }), "OVERSIZED_HISTORY");
    refused(forged({ lamportTimestamp: 3000n, repairRequest: entries }), "OVERSIZED_REPAIR");
    refused(forged({ lamportTimestamp: 3000n, senderId: "x".repeat(257) }), "OVERSIZED_ID");
    // Content under an id that is not its hash (a forged copy racing a genuine message).
    refused(
      forged({ lamportTimestamp: 3000n, messageId: messageIdOf(CHANNEL, "a", 3000n, text("hi")) }),
      "ID_MISMATCH",
    );
    // b still sends, with a timestamp that fits.
    const next = b.send(text("two"), 3000);
    assert.equal(published(next.effects).length, 1);
    assert.ok(b.state.lamport < 2n ** 63n);
    // A timestamp within the bound is adopted as before.
    b.receive(
      forged({
        lamportTimestamp: 3_500_000n,
        messageId: messageIdOf(CHANNEL, "intruder", 3_500_000n, text("hi")),
      }),
      3000,
    );
    assert.equal(b.state.lamport, 3_500_000n);
  });

  it("refuses a config out of range with a typed error, where a channel takes it in", () => {
    for (const c of [DEFAULT_SDS_CONFIG, FAST_SDS_CONFIG]) assert.equal(validateSdsConfig(c), c);
    const invalid = (e: unknown) => e instanceof SdsError && e.code === "INVALID_CONFIG";
    for (const bad of [
      { bloomFpRate: 1 },
      { syncJitterMs: -1 },
      { syncIntervalMs: 0 },
      { maxRepairEntriesPerMessage: 0 },
      { repairTMinMs: 2, repairTMaxMs: 1 },
      { maxHistoryEntries: 1 },
      { maxLamportAheadMs: 0.5 },
      { ephemeralSeenLimit: Number.NaN },
    ]) {
      const config = { ...DEFAULT_SDS_CONFIG, ...bad };
      assert.throws(() => validateSdsConfig(config), invalid, JSON.stringify(bad));
      assert.throws(() => newSdsState("a", CHANNEL, 1000, config), invalid);
      const state = newSdsState("a", CHANNEL, 1000, DEFAULT_SDS_CONFIG);
      assert.throws(() => new SdsChannel(state, new SeededRng(1), config), invalid);
    }
  });

  it("acks count only from participants the layer above names", () => {
    const a = channel("a");
    a.setParticipants(2, ["a", "b"]);
    const { messageId } = a.send(text("x"), 1000);
    const all = new Uint8Array(a.state.bloom.current.length * 2).fill(0xff);
    const claim = (senderId: string) =>
      encodeSdsMessage({
        senderId,
        messageId: `${senderId}-sync`,
        channelId: CHANNEL,
        lamportTimestamp: 1001n,
        causalHistory: [{ messageId }],
        repairRequest: [],
        bloomFilter: all,
      });
    const acked = (bytes: Uint8Array) => a.receive(bytes, 1001).some((e) => e.type === "acknowledged");
    assert.equal(acked(claim("intruder")), false, "an id outside the roster acks nothing");
    assert.ok(a.state.outgoing.has(messageId));
    assert.equal(acked(claim("b")), true, "the participant does");
  });

  it("a chat (resendToReturning) is never given up while unacknowledged: its resends outlast a long split", () => {
    const cfg = { ...DEFAULT_SDS_CONFIG, resendAfterMs: 100, maxResends: 2, syncJitterMs: 0 };
    const a = channel("a", cfg);
    const b = channel("b", cfg);
    a.setParticipants(2, ["a", "b"]);
    a.send(text("chat"), 1000, { resendToReturning: true });
    const vote = a.send(text("vote"), 1000);
    const given: string[] = [];
    // Split for a minute: every resend is lost. The vote is given up after its two resends.
    for (let t = 1000; t < 61_000; t += 50)
      for (const e of a.tick(t)) if (e.type === "unacknowledged") given.push(e.messageId);
    assert.deepEqual(given, [vote.messageId]);
    // Healed: the next resend of the chat reaches b.
    let got: string[] = [];
    for (let t = 61_000; t < 63_000 && got.length === 0; t += 50)
      for (const bytes of published(a.tick(t))) got = delivered(b.receive(bytes, t));
    assert.deepEqual(got, ["chat"]);
  });

  it("keeps at most keepUnacknowledged chats; beyond, the oldest is given up", () => {
    const a = channel("a", { ...DEFAULT_SDS_CONFIG, keepUnacknowledged: 2 });
    a.setParticipants(2, ["a", "b"]);
    const ids = [1, 2, 3].map((i) => a.send(text(`c${i}`), 1000 + i, { resendToReturning: true }));
    assert.deepEqual(
      ids[2]!.effects
        .filter((e) => e.type === "unacknowledged")
        .map((e) => (e as { messageId: string }).messageId),
      [ids[0]!.messageId],
    );
    assert.deepEqual([...a.state.outgoing.keys()], [ids[1]!.messageId, ids[2]!.messageId]);
  });

  it("the rolling bloom filter keeps the newest ids and forgets the oldest", () => {
    const shape = rollingShape(100, 0.01);
    const f = newRollingBloom(shape);
    const ids = Array.from({ length: 300 }, (_, i) => `m${i}`);
    for (const id of ids) rollingAdd(f, shape, 100, id);
    const has = (id: string) => bloomHasIndices(rollingWire(f), shape, bloomIndices(id, shape));
    assert.ok(ids.slice(200).every(has), "the newest generation is always covered");
    const stale = ids.slice(0, 100).filter(has).length;
    assert.ok(stale < 10, `${stale} of 100 rolled-out ids still match`);
  });

  it("an id's bit positions depend on the filter's shape only, also once many ids were seen", () => {
    const small = bloomShape(10, 0.1);
    const large = bloomShape(1000, 0.001);
    const first = [...bloomIndices("m1", small)];
    const inLarge = bloomIndices("m1", large);
    assert.equal(inLarge.length, large.hashes);
    assert.ok(inLarge.every((i) => i < large.bits));
    assert.notDeepEqual([...inLarge], first);
    for (let i = 0; i < 40_000; i++) bloomIndices(`other${i}`, small); // past the memo's bound
    assert.deepEqual([...bloomIndices("m1", small)], first);
    assert.equal(first.length, small.hashes);
  });

  it("sizes the bloom filter for its window, not 150,000 bits", () => {
    const a = channel("a");
    const bytes = published(a.send(text("x"), 2000).effects)[0]!;
    const shape = bloomShape(2 * DEFAULT_SDS_CONFIG.bloomCapacity, DEFAULT_SDS_CONFIG.bloomFpRate);
    assert.equal(shape.bits / 8, 614);
    assert.ok(bytes.length < 700, `${bytes.length} bytes`);
  });
});

/** Transmissions of SDS-R answers: one per direct answer, one per other participant per broadcast one. */
function answerTransmissions(participants: readonly Participant[], n: number): number {
  return participants.reduce((sum, p) => {
    const st = p.endpoint.channel.state.stats;
    return sum + st.repairDirectSent + (st.repairResponsesSent - st.repairDirectSent) * (n - 1);
  }, 0);
}

describe("SDS-R over the simulator", () => {
  const cfg: SdsConfig = { ...FAST_SDS_CONFIG, resendAfterMs: 1e9 };
  // Timers where T_max is large against the link latency, as with the spec defaults (T_max 120 s).
  const spread: SdsConfig = { ...cfg, repairTMinMs: 500, repairTMaxMs: 10_000 };

  it("a member that missed messages gets them back, from another member when the sender is offline", async () => {
    const run = sdsRun(6, cfg, 11);
    const [p0, p1, p2] = run.participants;
    run.sim.partition([["p1"], ["p0", "p2", "p3", "p4", "p5"]]);
    const missed = [run.send(p0!), run.send(p0!), run.send(p0!)];
    await run.sim.runFor(500);
    run.sim.heal();
    run.sim.crash("p0");
    run.send(p2!); // its causal history names what p1 missed
    await run.sim.runFor(10_000);
    for (const id of missed) assert.ok(p1!.delivered.includes(id), `p1 got ${id}`);
    assert.ok(p1!.endpoint.channel.state.stats.repaired >= 1);
    const tx = answerTransmissions(run.participants, 6);
    assert.ok(tx >= 1 && tx <= 6 * 5, `answer transmissions ${tx}`);
  });

  it("duplicate repair responses stay rare", async () => {
    const run = sdsRun(20, spread, 5);
    const ids = run.participants.map((p) => p.id);
    run.sim.partition([ids.slice(0, 3), ids.slice(3)]);
    for (let i = 0; i < 20; i++) {
      run.send(run.participants[3 + (i % 17)]!);
      await run.sim.runFor(50);
    }
    run.sim.heal();
    run.send(run.participants[4]!);
    await run.sim.runFor(60_000);
    for (const p of run.participants.slice(0, 3)) assert.equal(p.delivered.length, 21, p.id);
    const repaired = run.participants.reduce((s, p) => s + p.endpoint.channel.state.stats.repaired, 0);
    // 3 members lack 20 messages: answered to each of them directly (one transmission each), or by
    // broadcast, where the first answer cancels the others' (they hear it).
    assert.equal(repaired, 3 * 20);
    const tx = answerTransmissions(run.participants, 20);
    assert.ok(tx <= 1.25 * 20 * 19, `answer transmissions ${tx} for 20 missing messages`);
  });

  it("property: with loss up to 30%, reordering and a healed partition, every message reaches every other participant exactly once, causally ordered", async () => {
    await fc.assert(sdsDeliveryProperty, { numRuns: 25, examples: SDS_DELIVERY_EXAMPLES });
  });
});
