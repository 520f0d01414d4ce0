// SDS-R answers addressed to their requesters: who answers which ask, to whom, and over the simulator that
// a member that missed a message gets it back from a direct answer while nobody else gets a copy.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SeededRng } from "../../src/net/sim/prng.ts";
import {
  answersFirstAsk,
  DEFAULT_SDS_CONFIG,
  decodeSdsMessage,
  encodeSdsMessage,
  FAST_SDS_CONFIG,
  newSdsState,
  SdsChannel,
  type SdsConfig,
  type SdsEffect,
} from "../../src/sds/index.ts";
import { CHANNEL, sdsRun, TOPIC } from "./harness.ts";

const cfg = DEFAULT_SDS_CONFIG;
const text = (s: string) => new TextEncoder().encode(s);

function channel(id: string, participants: number): SdsChannel {
  const c = new SdsChannel(newSdsState(id, CHANNEL, 1000, cfg), new SeededRng(7), cfg);
  c.setParticipants(participants);
  return c;
}

/** A sync message of `requester` asking for `messageId` (sent by `senderId`). */
function ask(requester: string, messageId: string, senderId: string, k: number): Uint8Array {
  return encodeSdsMessage({
    senderId: requester,
    messageId: `sync-${requester}-${k}`,
    channelId: CHANNEL,
    lamportTimestamp: 2000n,
    causalHistory: [],
    repairRequest: [{ messageId, senderId }],
  });
}

/** The answers among `effects`: to whom each goes (`*`: everyone). */
function answers(effects: SdsEffect[]): string[] {
  return effects.flatMap((e) => (e.type === "publish" && e.message.content ? [e.to?.join(",") ?? "*"] : []));
}

describe("SDS-R answers to the requester", () => {
  it("the sender answers a requester's first asks to it alone, then to everyone", () => {
    const a = channel("a", 10);
    const { messageId } = a.send(text("x"), 2000);
    const round = (t: number, ...requesters: string[]) => {
      for (const r of requesters) a.receive(ask(r, messageId, "a", t), t);
      return answers(a.tick(t));
    };
    assert.deepEqual(round(3000, "r"), ["r"]);
    assert.deepEqual(round(4000, "r"), ["r"], "asked again: its answer was lost");
    assert.deepEqual(round(5000, "r"), ["*"], "a third time: broadcast (a wrong route costs one retry)");
    assert.deepEqual(round(6000, "s", "t"), ["s,t"], "two requesters share one answer");
    assert.deepEqual(round(7000, "u", "v", "w", "x", "y"), ["*"], "more than half of the others: broadcast");
    assert.equal(a.state.stats.repairResponsesSent, 5);
    assert.equal(a.state.stats.repairDirectSent, 3);
  });

  it("a responder other than the sender answers a first ask only if it is due early; any second ask", () => {
    const sender = channel("a", 5);
    const { messageId, effects } = sender.send(text("x"), 2000);
    const bytes = effects.find((e) => e.type === "publish")!.bytes;
    // Five participants: one response group, every holder a responder.
    const names = Array.from({ length: 40 }, (_, i) => `b${i}`);
    const early = names.find((n) => answersFirstAsk(n, "a", messageId, cfg.repairTMaxMs))!;
    const late = names.find((n) => !answersFirstAsk(n, "a", messageId, cfg.repairTMaxMs))!;
    assert.ok(early && late);
    for (const [name, first] of [
      [early, ["r"]],
      [late, []],
    ] as const) {
      const b = channel(name, 5);
      b.receive(bytes, 2100);
      b.receive(ask("r", messageId, "a", 1), 3000);
      assert.deepEqual(answers(b.tick(3000 + cfg.repairTMaxMs)), first, name);
      b.receive(ask("r", messageId, "a", 2), 200_000);
      assert.deepEqual(answers(b.tick(200_000 + cfg.repairTMaxMs)), ["r"], `${name}, second ask`);
    }
  });

  it("a pending answer is cancelled when the message is seen on the wire; asks are bounded per message", () => {
    const a = channel("a", 10);
    const { messageId, effects } = a.send(text("x"), 2000);
    const bytes = effects.find((e) => e.type === "publish")!.bytes;
    const b = channel("b", 10);
    b.receive(bytes, 2100);
    const small: SdsConfig = { ...cfg, maxAskersPerMessage: 2 };
    const c = new SdsChannel(newSdsState("a", CHANNEL, 1000, small), new SeededRng(1), small);
    c.setParticipants(10);
    const own = c.send(text("y"), 2000).messageId;
    for (const r of ["p", "q", "z"]) c.receive(ask(r, own, "a", 1), 3000);
    assert.deepEqual(answers(c.tick(3000)), ["*"], "a third requester beyond the bound: broadcast");
    assert.equal(c.state.repairAsks.get(own)!.size, 2);
    // b (not the sender) holds an answer for r; a copy of the message on the wire cancels it.
    b.receive(ask("r", messageId, "a", 1), 3000);
    b.receive(ask("r", messageId, "a", 2), 3001);
    assert.ok(b.state.repairResponses.has(messageId));
    b.receive(bytes, 3002);
    assert.equal(b.state.repairResponses.has(messageId), false);
    assert.equal(b.state.repairTargets.has(messageId), false);
  });
});

describe("SDS-R direct answers over the simulator", () => {
  it("a member that missed a message gets it from a direct answer; nobody else gets a copy", async () => {
    // No resends: the answer is the only way back.
    const run = sdsRun(8, { ...FAST_SDS_CONFIG, resendAfterMs: 1e9 }, 3, { loss: 0 });
    const [p0, p1, , p3] = run.participants;
    // Sync messages teach routes: two in a row from one node (idle members skip many of theirs).
    const routed = () =>
      run.participants.every((p) => p.id === "p3" || p.endpoint.routes.nodeOf("p3") === "p3");
    for (let t = 0; t < 60 && !routed(); t++) await run.sim.runFor(1_000);
    assert.ok(routed(), "every member has a route to p3");
    const copies = new Map<string, number>();
    const seen = (who: string, id: string) =>
      copies.set(`${who}/${id}`, (copies.get(`${who}/${id}`) ?? 0) + 1);
    for (const p of run.participants)
      run.sim.node(p.id).transport.subscribe(TOPIC, (d) => {
        const m = decodeSdsMessage(d.data);
        if (m.content?.length) seen(p.id, m.messageId);
      });
    run.sim.cutOneWay(["p0"], ["p3"]);
    const missed = run.send(p0!);
    await run.sim.runFor(200);
    run.sim.restoreOneWay(["p0"], ["p3"]);
    run.send(p1!); // its causal history names what p3 missed
    await run.sim.runFor(10_000);
    assert.ok(p3!.delivered.includes(missed), "p3 got it back");
    const stats = run.participants.map((p) => p.endpoint.channel.state.stats);
    const answered = stats.reduce((s, x) => s + x.repairResponsesSent, 0);
    const direct = stats.reduce((s, x) => s + x.repairDirectSent, 0);
    assert.ok(answered >= 1 && answered === direct, `${answered} answers, ${direct} direct`);
    for (const p of run.participants)
      if (p.id !== "p0" && p.id !== "p3") assert.equal(copies.get(`${p.id}/${missed}`), 1, p.id);
    assert.ok((copies.get(`p3/${missed}`) ?? 0) >= 1);
  });
});
