// One SDS channel shared by two implementations: our SdsChannel and @waku/sds 0.0.8's MessageChannel,
// over an in-memory link the test drives (it chooses what arrives, and what is dropped). @waku/sds reads
// the clock with Date.now(): node:test's mock timers run its clock and ours, so time only moves when the
// test says. Its sweeps (incoming buffer, repair responses) and its sync messages are driven here, as an
// application would on a timer.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { Message, MessageChannel } from "@waku/sds";
import { SeededRng } from "../../src/net/sim/prng.ts";
import {
  decodeSdsMessage,
  FAST_SDS_CONFIG,
  newSdsState,
  SdsChannel,
  type SdsConfig,
  type SdsEffect,
  wakuCompatible,
} from "../../src/sds/index.ts";

const CHANNEL = "shared";
const START = 1_767_225_600_000; // 2026-01-01, a realistic Lamport clock for both sides
const text = (s: string) => new TextEncoder().encode(s);
const read = (b: Uint8Array) => new TextDecoder().decode(b);
/** @waku/sds with SDS-R timers of our FAST_SDS_CONFIG (its defaults are the spec's 30 s and 120 s). */
const REPAIR = { tMin: FAST_SDS_CONFIG.repairTMinMs, tMax: FAST_SDS_CONFIG.repairTMaxMs };

/** Our side: a channel, what it published (not yet carried), delivered and saw acknowledged. */
class Ours {
  readonly channel: SdsChannel;
  outbox: Uint8Array[] = [];
  readonly delivered: string[] = [];
  readonly acked: string[] = [];

  constructor(config: SdsConfig) {
    this.channel = new SdsChannel(newSdsState("ours", CHANNEL, Date.now(), config), new SeededRng(3), config);
    this.channel.setParticipants(2, ["ours", "waku"]);
  }

  send(content: string): string {
    const { messageId, effects } = this.channel.send(text(content), Date.now());
    this.apply(effects);
    return messageId;
  }

  receive(bytes: Uint8Array): void {
    this.apply(this.channel.receive(bytes, Date.now()));
  }

  tick(): void {
    this.apply(this.channel.tick(Date.now()));
  }

  private apply(effects: SdsEffect[]): void {
    for (const e of effects) {
      if (e.type === "publish") this.outbox.push(e.bytes);
      else if (e.type === "deliver") this.delivered.push(read(e.content));
      else if (e.type === "acknowledged") this.acked.push(e.messageId);
    }
  }
}

/** Their side: a @waku/sds MessageChannel and what its events said. */
class Theirs {
  readonly channel: MessageChannel;
  outbox: Uint8Array[] = [];
  readonly delivered: string[] = [];
  readonly acked: string[] = [];
  readonly possiblyAcked: string[] = [];
  readonly repairRequestsSent: string[] = [];
  readonly errors: unknown[] = [];
  private readonly contents = new Map<string, string>();

  constructor(options: { causalHistorySize?: number } = {}) {
    this.channel = new MessageChannel(CHANNEL, "waku", { ...options, repairConfig: REPAIR });
    const on = (event: string, f: (detail: never) => void) =>
      this.channel.addEventListener(event as never, (e: Event) => f((e as CustomEvent).detail as never));
    on("sds:in:message-received", (m: Message) => this.contents.set(m.messageId, read(m.content!)));
    on("sds:in:message-delivered", (id: string) => this.delivered.push(this.contents.get(id) ?? id));
    on("sds:out:message-acknowledged", (id: string) => this.acked.push(id));
    on("sds:out:message-possibly-acknowledged", (d: { messageId: string }) =>
      this.possiblyAcked.push(d.messageId),
    );
    on("sds:repair:request-sent", (d: { messageIds: string[] }) =>
      this.repairRequestsSent.push(...d.messageIds),
    );
    on("sds:error-task", (d: { error: unknown }) => this.errors.push(d.error));
  }

  async send(content: string): Promise<string> {
    let id = "";
    this.channel.pushOutgoingMessage(text(content), async (m) => {
      id = m.messageId;
      this.outbox.push(m.encode());
      return { success: true };
    });
    await this.channel.processTasks();
    return id;
  }

  async receive(bytes: Uint8Array): Promise<void> {
    const m = Message.decode(bytes);
    assert.ok(m, "@waku/sds decodes our message");
    this.channel.pushIncomingMessage(m, undefined);
    await this.channel.processTasks();
    this.channel.sweepIncomingBuffer();
  }

  /** A sync message (it carries due repair requests) and due repair responses, as its app's timer would. */
  async tick(): Promise<void> {
    await this.channel.pushOutgoingSyncMessage(async (m) => {
      this.outbox.push(m.encode());
      return true;
    });
    await this.channel.sweepRepairIncomingBuffer(async (m) => {
      this.outbox.push(m.encode());
      return true;
    });
  }

  /** Own messages it keeps in its outgoing buffer (to resend), by ack status. */
  outgoing(): { unacknowledged: string[]; possiblyAcknowledged: string[] } {
    const { unacknowledged, possiblyAcknowledged } = this.channel.sweepOutgoingBuffer();
    return {
      unacknowledged: unacknowledged.map((m) => m.messageId),
      possiblyAcknowledged: possiblyAcknowledged.map((m) => m.messageId),
    };
  }
}

/** Carries everything `from` published to `to`, except what `drop` picks. */
async function carry(
  from: Ours | Theirs,
  to: Ours | Theirs,
  drop: (bytes: Uint8Array) => boolean = () => false,
): Promise<void> {
  const out = from.outbox;
  from.outbox = [];
  for (const bytes of out) if (!drop(bytes)) await to.receive(bytes);
}

function setup(t: TestContext, ours: SdsConfig, theirs: { causalHistorySize?: number } = {}) {
  t.mock.timers.enable({ apis: ["Date"], now: START });
  return { a: new Ours(ours), b: new Theirs(theirs), advance: (ms: number) => t.mock.timers.tick(ms) };
}

/** Resends late enough that what the repair tests recover is SDS-R's doing. */
const COMPATIBLE = wakuCompatible({ ...FAST_SDS_CONFIG, resendAfterMs: 60_000 });

describe("one SDS channel shared with @waku/sds 0.0.8", () => {
  it("without the waku filter format, @waku/sds throws on our filter and never delivers our message", async (t) => {
    const { a, b } = setup(t, { ...FAST_SDS_CONFIG, wakuMessageIds: true });
    a.send("small filter");
    await carry(a, b);
    assert.deepEqual(b.delivered, []);
    assert.equal(b.errors.length, 1);
    assert.ok(b.errors[0] instanceof RangeError, String(b.errors[0]));
  });

  it("delivers each other's content, and acks each other through causal history", async (t) => {
    const { a, b, advance } = setup(t, COMPATIBLE);
    const ours1 = a.send("ours 1");
    await carry(a, b);
    assert.deepEqual(b.delivered, ["ours 1"]);
    advance(10);
    const theirs1 = await b.send("theirs 1");
    assert.equal(decodeSdsMessage(b.outbox[0]!).causalHistory.at(-1)?.messageId, ours1);
    await carry(b, a);
    assert.deepEqual(a.delivered, ["theirs 1"]);
    assert.deepEqual(a.acked, [ours1], "named in its causal history");
    advance(10);
    a.send("ours 2");
    await carry(a, b);
    assert.deepEqual(b.delivered, ["ours 1", "ours 2"]);
    assert.deepEqual(b.acked, [theirs1], "named in our causal history");
    assert.deepEqual(b.outgoing(), { unacknowledged: [], possiblyAcknowledged: [] });
    assert.deepEqual(b.errors, []);
  });

  it("acks each other through the bloom filter where causal history does not name the message", async (t) => {
    // @waku/sds's history names its newest message only; ours names none. (Its causalHistorySize 0 would
    // name everything: `slice(-0)`.)
    const { a, b, advance } = setup(t, { ...COMPATIBLE, causalHistorySize: 0 }, { causalHistorySize: 1 });
    const ours1 = a.send("ours 1");
    const ours2 = a.send("ours 2");
    await carry(a, b);
    advance(10);
    const theirs1 = await b.send("theirs 1");
    assert.deepEqual(
      decodeSdsMessage(b.outbox[0]!).causalHistory.map((e) => e.messageId),
      [ours2],
    );
    await carry(b, a);
    assert.deepEqual(a.acked, [ours1, ours2], "ours 1 found in @waku/sds's filter");
    const unacked = a.send("ours 3");
    await carry(a, b, () => true); // lost: nobody acks it
    advance(COMPATIBLE.resendAfterMs + 1);
    a.tick();
    const resent = a.outbox.map((bytes) => decodeSdsMessage(bytes).messageId);
    assert.ok(resent.includes(unacked), "what is not acknowledged is resent");
    assert.ok(!resent.includes(ours1), "what the filter acked is not");
    a.outbox = [];
    // @waku/sds takes an ack from filters once two of them hold the id (its possibleAcksThreshold).
    a.send("ours 4");
    await carry(a, b);
    assert.deepEqual(b.possiblyAcked, [theirs1]);
    assert.deepEqual(
      b.outgoing(),
      { unacknowledged: [], possiblyAcknowledged: [theirs1] },
      "one filter is not enough for it",
    );
    a.send("ours 5");
    await carry(a, b);
    assert.deepEqual(b.acked, [theirs1], "found in our filter twice");
    assert.deepEqual(
      b.outgoing(),
      { unacknowledged: [], possiblyAcknowledged: [] },
      "out of its outgoing buffer: it no longer resends it",
    );
    assert.deepEqual(b.delivered, ["ours 1", "ours 2", "ours 4", "ours 5"]);
    assert.deepEqual(b.errors, []);
  });

  it("SDS-R: @waku/sds asks for a message of ours it missed, we answer, it delivers in order", async (t) => {
    const { a, b, advance } = setup(t, COMPATIBLE);
    const lost = a.send("ours 1");
    advance(10);
    a.send("ours 2");
    await carry(a, b, (bytes) => decodeSdsMessage(bytes).messageId === lost);
    assert.deepEqual(b.delivered, [], "ours 2 waits for ours 1");
    advance(REPAIR.tMax);
    await b.tick();
    assert.deepEqual(b.repairRequestsSent, [lost]);
    await carry(b, a);
    a.tick(); // the original sender answers at once
    assert.equal(a.channel.state.stats.repairResponsesSent, 1);
    await carry(a, b);
    assert.deepEqual(b.delivered, ["ours 1", "ours 2"]);
    assert.deepEqual(b.errors, []);
  });

  it("SDS-R: we ask for a message of @waku/sds's we missed, it answers, we deliver in order", async (t) => {
    const { a, b, advance } = setup(t, COMPATIBLE);
    const lost = await b.send("theirs 1");
    advance(10);
    await b.send("theirs 2");
    await carry(b, a, (bytes) => decodeSdsMessage(bytes).messageId === lost);
    assert.deepEqual(a.delivered, [], "theirs 2 waits for theirs 1");
    assert.deepEqual(a.channel.missing(), [lost]);
    advance(COMPATIBLE.repairTMaxMs);
    a.tick();
    const request = a.outbox.map(decodeSdsMessage).flatMap((m) => m.repairRequest);
    assert.deepEqual(request, [{ messageId: lost, senderId: "waku" }]);
    await carry(a, b);
    await b.tick(); // its repair response is due at once: it is the original sender
    await carry(b, a);
    assert.deepEqual(a.delivered, ["theirs 1", "theirs 2"]);
    assert.equal(a.channel.state.stats.repaired, 1);
    assert.deepEqual(b.errors, []);
  });
});
