// Our implementation of @waku/sds's bloom filter against the package itself: the same hash, the same bytes
// for the same ids, each side finding the other's ids; and a channel reading filters of either format.
// The package's exports map lists neither its filter with hashing nor the hash, so they are imported from
// its dist files.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DefaultBloomFilter } from "../../node_modules/@waku/sds/dist/bloom_filter/bloom.js";
import { hashN } from "../../node_modules/@waku/sds/dist/nim_hashn/nim_hashn.mjs";
import { SeededRng } from "../../src/net/sim/prng.ts";
import {
  bloomHasIndices,
  bloomIndices,
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
  WAKU_BLOOM_CAPACITY,
  WAKU_BLOOM_ERROR_RATE,
  WAKU_BLOOM_SHAPE,
  wakuCompatible,
  wakuHashN,
  wakuMessageIdOf,
} from "../../src/sds/index.ts";

const WAKU_OPTIONS = { capacity: WAKU_BLOOM_CAPACITY, errorRate: WAKU_BLOOM_ERROR_RATE };
const hexId = fc.uint8Array({ minLength: 16, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));
const anyId = fc.oneof(hexId, fc.string({ unit: "binary", maxLength: 40 }));

/** Our filter of `ids` in @waku/sds's format (one generation: it holds them all). */
function ours(ids: readonly string[]): Uint8Array {
  const f = newRollingBloom(WAKU_BLOOM_SHAPE);
  for (const id of ids) rollingAdd(f, WAKU_BLOOM_SHAPE, ids.length + 1, id);
  return rollingWire(f);
}

function theirs(ids: readonly string[]): DefaultBloomFilter {
  const f = new DefaultBloomFilter(WAKU_OPTIONS);
  for (const id of ids) f.insert(id);
  return f;
}

const has = (bytes: Uint8Array, id: string) =>
  bloomHasIndices(bytes, WAKU_BLOOM_SHAPE, bloomIndices(id, WAKU_BLOOM_SHAPE));

describe("@waku/sds bloom filter format", () => {
  it("has the geometry of @waku/sds's default filter: 150,000 bits, k = 10, 18,752 bytes", () => {
    const f = new DefaultBloomFilter(WAKU_OPTIONS);
    assert.equal(WAKU_BLOOM_SHAPE.bits, f.totalBits);
    assert.equal(WAKU_BLOOM_SHAPE.hashes, f.kHashes);
    assert.equal(WAKU_BLOOM_SHAPE.bytes, f.toBytes().length);
    assert.deepEqual(
      [WAKU_BLOOM_SHAPE.bits, WAKU_BLOOM_SHAPE.hashes, WAKU_BLOOM_SHAPE.bytes],
      [150_000, 10, 18_752],
    );
  });

  it("wakuHashN is @waku/sds's hashN, for any string", () => {
    fc.assert(
      fc.property(
        anyId,
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (item, n, max) => assert.equal(wakuHashN(item, n, max), hashN(item, n, max)),
      ),
      { numRuns: 2000 },
    );
  });

  it("the same ids make the same bytes, and each side finds the other's ids", () => {
    fc.assert(
      fc.property(fc.array(anyId, { maxLength: 60 }), fc.array(anyId, { maxLength: 20 }), (ids, others) => {
        const mine = ours(ids);
        const their = theirs(ids);
        assert.deepEqual(mine, their.toBytes());
        const read = DefaultBloomFilter.fromBytes(mine, WAKU_OPTIONS);
        for (const id of ids) {
          assert.ok(read.lookup(id), "@waku/sds finds our id");
          assert.ok(has(their.toBytes(), id), "we find its id");
        }
        for (const id of others) assert.equal(has(mine, id), their.lookup(id), "same answer for others");
      }),
      { numRuns: 100 },
    );
  });
});

const text = (s: string) => new TextEncoder().encode(s);
const CHANNEL = "filters";

function channel(id: string, config: SdsConfig): SdsChannel {
  const c = new SdsChannel(newSdsState(id, CHANNEL, 1000, config), new SeededRng(7), config);
  c.setParticipants(2);
  return c;
}

/** A content message from `sender` carrying `bloomFilter`, with a history that acks nothing. */
function from(sender: string, content: string, bloomFilter: Uint8Array, lamport = 1500n): Uint8Array {
  const body = text(content);
  return encodeSdsMessage({
    senderId: sender,
    messageId: messageIdOf(CHANNEL, sender, lamport, body),
    channelId: CHANNEL,
    lamportTimestamp: lamport,
    causalHistory: [],
    bloomFilter,
    repairRequest: [],
    content: body,
  });
}

const types = (effects: SdsEffect[]) => effects.map((e) => e.type);

describe("a channel reads filters of either format", () => {
  for (const format of ["demls", "waku"] as const) {
    const config: SdsConfig = { ...FAST_SDS_CONFIG, bloomFormat: format };
    it(`in ${format} format: a @waku/sds filter and a small one both ack; another length is counted, the message still taken`, () => {
      const small = rollingShape(config.bloomCapacity, config.bloomFpRate);
      const filters = {
        waku: (id: string) => ours([id]),
        demls: (id: string) => {
          const f = newRollingBloom(small);
          rollingAdd(f, small, config.bloomCapacity, id);
          return rollingWire(f);
        },
      };
      for (const [i, [peerFormat, filter]] of Object.entries(filters).entries()) {
        const a = channel("a", config);
        const { messageId } = a.send(text("hello"), 1000);
        const effects = a.receive(from("b", `reply ${i}`, filter(messageId)), 1100);
        assert.deepEqual(types(effects), ["acknowledged", "deliver"], `${peerFormat} filter acks`);
        assert.equal(a.state.stats.unreadableFilters, 0);
      }
      const a = channel("a", config);
      a.send(text("hello"), 1000);
      const effects = a.receive(from("b", "odd", new Uint8Array(7).fill(0xff)), 1100);
      assert.deepEqual(types(effects), ["deliver"], "an all-ones filter of no known length acks nothing");
      assert.equal(a.state.stats.unreadableFilters, 1);
      assert.equal(a.state.outgoing.size, 1, "still waiting for its ack");
    });
  }

  it("sends the filter of its format: 614 bytes by default, 18,752 in waku format", () => {
    for (const [config, bytes] of [
      [DEFAULT_SDS_CONFIG, 614],
      [wakuCompatible(DEFAULT_SDS_CONFIG), 18_752],
    ] as const) {
      const publish = channel("a", config)
        .send(text("x"), 1000)
        .effects.find((e) => e.type === "publish");
      assert.equal(publish?.type === "publish" && publish.message.bloomFilter?.length, bytes);
    }
  });

  it("a state made in one format is refused by a channel of the other", () => {
    const state = newSdsState("a", CHANNEL, 1000, DEFAULT_SDS_CONFIG);
    const waku = wakuCompatible(DEFAULT_SDS_CONFIG);
    assert.throws(() => new SdsChannel(state, new SeededRng(1), waku), RangeError);
    assert.throws(
      () => newSdsState("a", CHANNEL, 1000, { ...DEFAULT_SDS_CONFIG, bloomFormat: "bits" as "waku" }),
      (e: unknown) => e instanceof SdsError && e.code === "INVALID_CONFIG" && /bloomFormat/.test(e.message),
    );
  });

  it("takes @waku/sds's content ids (SHA-256 of the content) only with wakuMessageIds, and only for that content", () => {
    const body = text("from js-waku");
    const message = (messageId: string) =>
      encodeSdsMessage({
        senderId: "w",
        messageId,
        channelId: CHANNEL,
        lamportTimestamp: 1500n,
        causalHistory: [],
        repairRequest: [],
        content: body,
      });
    const mismatch = (e: unknown) => e instanceof SdsError && e.code === "ID_MISMATCH";
    assert.throws(
      () => channel("a", FAST_SDS_CONFIG).receive(message(wakuMessageIdOf(body)), 1100),
      mismatch,
    );
    const compatible = channel("a", wakuCompatible(FAST_SDS_CONFIG));
    assert.deepEqual(types(compatible.receive(message(wakuMessageIdOf(body)), 1100)), ["deliver"]);
    assert.throws(() => compatible.receive(message(wakuMessageIdOf(text("other"))), 1100), mismatch);
  });
});
