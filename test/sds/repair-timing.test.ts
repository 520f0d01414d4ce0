import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import {
  inResponseGroup,
  repairHash,
  requestTime,
  responseGroups,
  responseTime,
} from "../../src/sds/repair-timing.ts";

describe("SDS-R timing", () => {
  it("H is the first 8 bytes of SHA-256 over the concatenation, big-endian", () => {
    const d = sha256(new TextEncoder().encode("alicemsg-1"));
    const expected = d.slice(0, 8).reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
    assert.equal(repairHash("alice", "msg-1"), expected);
    assert.equal(repairHash("alice", "msg-1"), repairHash("alicemsg-1"));
    // Any strings, non-ASCII and lone surrogates included (both encoders write U+FFFD for those).
    const reference = (s: string) =>
      sha256(new TextEncoder().encode(s))
        .slice(0, 8)
        .reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), (a, b) => {
        assert.equal(repairHash(a, b), reference(a + b));
      }),
      { numRuns: 500 },
    );
  });

  it("request times fall in [now + tMin, now + tMax) and differ between participants", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.integer({ min: 0, max: 1e12 }), (self, msg, now) => {
        const t = requestTime(self, msg, now, 30_000, 120_000);
        assert.ok(t >= now + 30_000 && t < now + 120_000);
        assert.equal(t, requestTime(self, msg, now, 30_000, 120_000), "deterministic");
      }),
    );
    const times = new Set(
      Array.from({ length: 50 }, (_, i) => requestTime(`p${i}`, "m", 0, 30_000, 120_000)),
    );
    assert.ok(times.size > 45, "spread out");
  });

  it("the original sender answers at once; others within tMax", () => {
    assert.equal(responseTime("s", "s", "m", 1000, 120_000), 1000);
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (self, sender, msg) => {
        fc.pre(self !== sender);
        const t = responseTime(self, sender, msg, 0, 120_000);
        assert.ok(t >= 0 && t < 120_000);
      }),
    );
  });

  it("one response group per 128 participants; the sender is always in its own group", () => {
    assert.deepEqual([0, 1, 127, 128, 255, 256, 1000].map(responseGroups), [1, 1, 1, 2, 2, 3, 8]);
    const ids = Array.from({ length: 1000 }, (_, i) => `p${i}`);
    for (const msg of ["a", "b", "c"]) {
      assert.ok(inResponseGroup("p7", "p7", msg, 1000));
      const members = ids.filter((p) => inResponseGroup(p, "p7", msg, 1000)).length;
      assert.ok(members > 1000 / 8 / 2 && members < (1000 / 8) * 2, `group of ${members} for 8 groups`);
    }
  });
});
