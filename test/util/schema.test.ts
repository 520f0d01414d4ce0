import assert from "node:assert/strict";
import { it } from "node:test";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { decode, encode } from "../../src/util/schema.ts";

const Schema = { epoch: [3, "u64"], list: [6, { n: [1, "u64"] }, "repeated"] } as const;

it("u64 fields encode as protobuf's uint64 varint and decode back, at every magnitude", () => {
  const u64 = fc.oneof(
    fc.bigInt({ min: 0n, max: 2n ** 32n + 5n }),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
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
