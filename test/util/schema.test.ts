import assert from "node:assert/strict";
import { it } from "node:test";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { MAX_WIRE_U64 } from "../../src/util/bounds.ts";
import { DecodeError } from "../../src/util/proto.ts";
import { decode, encode } from "../../src/util/schema.ts";

const Schema = { epoch: [3, "u64"], list: [6, { n: [1, "u64"] }, "repeated"] } as const;

it("u64 fields encode as protobuf's uint64 varint and decode back, at every magnitude up to 2^53-1", () => {
  const u64 = fc.oneof(
    fc.bigInt({ min: 0n, max: 2n ** 32n + 5n }),
    fc.bigInt({ min: 0n, max: MAX_WIRE_U64 }),
  );
  fc.assert(
    fc.property(u64, fc.array(u64, { maxLength: 4 }), (epoch, ns) => {
      const bytes = encode(Schema, { epoch, list: ns.map((n) => ({ n })) });
      const reference = new BinaryWriter().tag(3, WireType.Varint).uint64(epoch);
      for (const n of ns)
        reference
          .tag(6, WireType.LengthDelimited)
          .bytes(new BinaryWriter().tag(1, WireType.Varint).uint64(n).finish());
      assert.deepEqual(bytes, reference.finish());
      const back = decode(Schema, bytes, "Test");
      assert.equal(back.epoch, epoch);
      assert.deepEqual(
        back.list.map((e) => e.n),
        ns,
      );
    }),
  );
});

it("a u64 above 2^53-1, top-level or nested, is MALFORMED when decoded (it still encodes: tests forge it)", () => {
  const big = fc.bigInt({ min: MAX_WIRE_U64 + 1n, max: 2n ** 64n - 1n });
  const malformed = (e: unknown) => e instanceof DecodeError && e.code === "MALFORMED";
  fc.assert(
    fc.property(big, (n) => {
      assert.throws(() => decode(Schema, encode(Schema, { epoch: n }), "Test"), malformed);
      assert.throws(() => decode(Schema, encode(Schema, { list: [{ n: 1n }, { n }] }), "Test"), malformed);
    }),
  );
});
