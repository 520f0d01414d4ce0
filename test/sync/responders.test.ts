import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { ranksAmongFirst, responderRank } from "../../src/sync/responders.ts";
import { compareBytes } from "../../src/util/bytes.ts";

it("catch-up responders: the early-exit test agrees with a full ranking; k of the holders answer", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8, unit: "binary" }), {
        minLength: 1,
        maxLength: 40,
      }),
      fc.uint8Array({ minLength: 0, maxLength: 16 }),
      fc.integer({ min: 0, max: 5 }),
      (ids, nonce, k) => {
        const order = [...ids].sort((a, b) => compareBytes(responderRank(a, nonce), responderRank(b, nonce)));
        const answering = ids.filter((me) => ranksAmongFirst(me, ids, nonce, k));
        // The holder's own id among the others (a view of itself) changes nothing.
        assert.deepEqual(new Set(answering), new Set(order.slice(0, k)));
        assert.equal(answering.length, Math.min(k, ids.length));
      },
    ),
  );
});
