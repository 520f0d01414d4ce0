import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Message } from "@waku/sds";
import fc from "fast-check";
import {
  decodeSdsMessage,
  encodeSdsMessage,
  type HistoryEntry,
  type SdsMessage,
} from "../../src/sds/wire.ts";
import { MAX_WIRE_U64 } from "../../src/util/bounds.ts";
import { DecodeError } from "../../src/util/proto.ts";

const id = fc.string({ minLength: 1, maxLength: 40 });
const entry: fc.Arbitrary<HistoryEntry> = fc.record(
  { messageId: id, retrievalHint: fc.uint8Array({ maxLength: 16 }), senderId: fc.string({ maxLength: 20 }) },
  { requiredKeys: ["messageId"] },
);
const message: fc.Arbitrary<SdsMessage> = fc
  .record(
    {
      senderId: id,
      messageId: id,
      channelId: fc.string({ maxLength: 40 }),
      lamportTimestamp: fc.bigInt({ min: 0n, max: MAX_WIRE_U64 }),
      causalHistory: fc.array(entry, { maxLength: 4 }),
      bloomFilter: fc.uint8Array({ maxLength: 64 }),
      repairRequest: fc.array(entry, { maxLength: 3 }),
      content: fc.uint8Array({ minLength: 1, maxLength: 100 }),
    },
    { requiredKeys: ["senderId", "messageId", "channelId", "causalHistory", "repairRequest"] },
    // Every SDS message kind has a lamport timestamp (content, sync) or content (ephemeral).
  )
  .filter((m) => m.lamportTimestamp !== undefined || m.content !== undefined);

/** Field-wise view of a @waku/sds message, absent fields omitted, for comparison with ours. */
function plain(m: {
  senderId: string;
  messageId: string;
  channelId: string;
  lamportTimestamp?: bigint | undefined;
  causalHistory: readonly HistoryEntry[];
  bloomFilter?: Uint8Array | undefined;
  repairRequest: readonly HistoryEntry[];
  content?: Uint8Array | undefined;
}) {
  const entries = (es: readonly HistoryEntry[]) =>
    es.map((e) => ({
      messageId: e.messageId,
      retrievalHint: e.retrievalHint ? [...e.retrievalHint] : undefined,
      senderId: e.senderId,
    }));
  return {
    senderId: m.senderId,
    messageId: m.messageId,
    channelId: m.channelId,
    lamportTimestamp: m.lamportTimestamp,
    causalHistory: entries(m.causalHistory),
    bloomFilter: m.bloomFilter ? [...m.bloomFilter] : undefined,
    repairRequest: entries(m.repairRequest),
    content: m.content ? [...m.content] : undefined,
  };
}

describe("SDS wire format", () => {
  it("our encoding round-trips and @waku/sds reads it", () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = encodeSdsMessage(m);
        assert.deepEqual(plain(decodeSdsMessage(bytes)), plain(m));
        const theirs = Message.decode(bytes);
        assert.ok(theirs, "@waku/sds decodes it");
        assert.deepEqual(plain(theirs), plain(m));
      }),
      { numRuns: 500 },
    );
  });

  it("we read what @waku/sds encodes", () => {
    fc.assert(
      fc.property(message, (m) => {
        const theirs = new Message(
          m.messageId,
          m.channelId,
          m.senderId,
          [...m.causalHistory],
          m.lamportTimestamp,
          m.bloomFilter,
          m.content,
          [...m.repairRequest],
        );
        const bytes = theirs.encode();
        assert.deepEqual(plain(decodeSdsMessage(bytes)), plain(m));
        assert.deepEqual(bytes, encodeSdsMessage(m), "byte-identical encodings");
      }),
      { numRuns: 500 },
    );
  });

  it("a known field with the wrong wire type is MALFORMED, named by its field", () => {
    const ok = encodeSdsMessage({
      senderId: "a",
      messageId: "m",
      channelId: "c",
      causalHistory: [],
      repairRequest: [],
    });
    // Field 10 (lamport timestamp, a varint) sent length-delimited, after well-typed string fields.
    const bad = new Uint8Array([...ok, (10 << 3) | 2, 1, 7]);
    assert.throws(
      () => decodeSdsMessage(bad),
      (e: unknown) =>
        e instanceof DecodeError && e.code === "MALFORMED" && /field 10 has wire type 2/.test(e.message),
    );
    // The same bytes as a varint decode.
    assert.equal(decodeSdsMessage(new Uint8Array([...ok, (10 << 3) | 0, 7])).lamportTimestamp, 7n);
  });

  it("a Lamport timestamp above 2^53-1 is MALFORMED: no peer value beyond a safe integer gets in", () => {
    const base = { senderId: "a", messageId: "m", channelId: "c", causalHistory: [], repairRequest: [] };
    for (const lamportTimestamp of [MAX_WIRE_U64 + 1n, 2n ** 64n - 2n, 2n ** 64n - 1n])
      assert.throws(
        () => decodeSdsMessage(encodeSdsMessage({ ...base, lamportTimestamp })),
        (e: unknown) => e instanceof DecodeError && e.code === "MALFORMED",
      );
    assert.equal(
      decodeSdsMessage(encodeSdsMessage({ ...base, lamportTimestamp: MAX_WIRE_U64 })).lamportTimestamp,
      MAX_WIRE_U64,
    );
  });

  it("garbage is a typed DecodeError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeSdsMessage(bytes);
        } catch (e) {
          assert.ok(e instanceof DecodeError, String(e));
          assert.equal(e.code, "MALFORMED");
        }
      }),
      { numRuns: 5000 },
    );
  });
});
