import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  ancestry,
  type EpochFingerprint,
  fingerprintAt,
  pushFingerprint,
  relation,
} from "../../src/mls/fingerprint.ts";

/** A synthetic chain: fingerprint of epoch e on branch `b` after fork point `f` is [b, e] (0 before f). */
function chain(
  from: number,
  to: number,
  branch = 0,
  forkAt = Number.POSITIVE_INFINITY,
  h = 64,
): EpochFingerprint[] {
  let hist: EpochFingerprint[] = [];
  for (let e = from; e <= to; e++) {
    hist = pushFingerprint(
      hist,
      { epoch: BigInt(e), fingerprint: new Uint8Array([e > forkAt ? branch : 0, e]) },
      h,
    ) as EpochFingerprint[];
  }
  return hist;
}

describe("fingerprint history", () => {
  it("keeps the newest H entries and cuts on rewind", () => {
    const h = chain(0, 100, 0, Number.POSITIVE_INFINITY, 10);
    assert.deepEqual(
      h.map((e) => Number(e.epoch)),
      [91, 92, 93, 94, 95, 96, 97, 98, 99, 100],
    );
    const rewound = pushFingerprint(h, { epoch: 95n, fingerprint: new Uint8Array([9, 95]) }, 10);
    assert.deepEqual(
      rewound.map((e) => Number(e.epoch)),
      [91, 92, 93, 94, 95],
    );
    assert.deepEqual(fingerprintAt(rewound, 95n), new Uint8Array([9, 95]));
    assert.equal(fingerprintAt(rewound, 96n), undefined);
  });

  it("gossips e-1 .. e-16, then a skip list e-32, e-64, ... within history", () => {
    const dense = Array.from({ length: 16 }, (_, i) => 99 - i);
    assert.deepEqual(
      ancestry(chain(0, 100)).map((e) => Number(e.epoch)),
      [...dense, 68], // the history holds 64 epochs: 37..100
    );
    assert.deepEqual(
      ancestry(chain(90, 100)).map((e) => Number(e.epoch)),
      dense.slice(0, 10),
    );
  });

  it("relation is consistent from both sides on random chains", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 220 }),
        fc.boolean(),
        (ea, eb, fork, sameBranch) => {
          const a = chain(0, ea, 1, fork);
          const b = chain(0, eb, sameBranch ? 1 : 2, fork);
          const ab = relation(a, BigInt(eb), b.at(-1)!.fingerprint, ancestry(b));
          const ba = relation(b, BigInt(ea), a.at(-1)!.fingerprint, ancestry(a));
          const diverged = !sameBranch && Math.min(ea, eb) > fork;
          if (ab === "SAME") assert.equal(ba, "SAME");
          if (ab === "I_AM_AHEAD") assert.ok(ba === "I_AM_BEHIND" || ba === "UNKNOWN");
          if (ab === "I_AM_BEHIND") assert.equal(ba, "I_AM_AHEAD");
          if (ab === "FORKED" || ba === "FORKED")
            assert.ok(diverged || (!sameBranch && Math.max(ea, eb) > fork));
          if (diverged) {
            assert.equal(ab === "FORKED" || ab === "UNKNOWN", true);
            assert.notEqual(ab, "SAME");
          }
          if (!diverged && ea === eb && sameBranch) assert.equal(ab, "SAME");
          if (sameBranch && ea > eb && ea - eb < 64)
            assert.equal(ab, "I_AM_AHEAD", "a full history places any older peer of its branch");
        },
      ),
      { numRuns: 2000 },
    );
  });
});
