// Sync messages are sealed under the sync key (src/sync/seal.ts): what a receiver gets back, and the typed
// error for each kind of bad envelope, with and without simulated members sharing decryptions.
import assert from "node:assert/strict";
import { test } from "node:test";
import { shareStateAcrossMembers } from "../../src/mls/index.ts";
import { SeededRng } from "../../src/net/sim/prng.ts";
import { open, seal } from "../../src/sync/seal.ts";
import { DemlsError } from "../../src/util/errors.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const key = new Uint8Array(32).fill(1);
const oldKey = new Uint8Array(32).fill(2);
const aad = utf8("topic");

const rejects = (f: () => unknown, code: string) =>
  assert.throws(f, (e: unknown) => e instanceof DemlsError && e.code === code);

for (const shared of [false, true])
  test(`open returns what was sealed; wrong key, tampering and garbage are typed errors (sharing ${shared ? "on" : "off"})`, () => {
    shareStateAcrossMembers(shared);
    try {
      const sealed = seal(key, utf8("state"), new SeededRng(1), aad);
      const r = open([oldKey, key], sealed, aad);
      assert.equal(new TextDecoder().decode(r.plaintext), "state");
      assert.equal(r.key, key);
      // Opened once (remembered while sharing): a tampered copy or another topic must still fail.
      const tampered = sealed.slice();
      tampered[tampered.length - 1]! ^= 1;
      rejects(() => open([key], tampered, aad), "UNDECRYPTABLE");
      rejects(() => open([key], sealed, utf8("other topic")), "UNDECRYPTABLE");
      rejects(() => open([oldKey], sealed, aad), "UNKNOWN_KEY");
      rejects(() => open([key], utf8("not an envelope"), aad), "MALFORMED");
      assert.equal(new TextDecoder().decode(open([key], sealed, aad).plaintext), "state");
      // A large message (a catch-up answer) is remembered by its bytes' region: a tampered copy of it, or
      // a tampered byte in the middle, still fails after the original was opened.
      const big = new Uint8Array(64 * 1024).fill(7);
      const sealedBig = seal(key, big, new SeededRng(2), aad);
      assert.deepEqual(open([key], sealedBig, aad).plaintext, big);
      for (const at of [sealedBig.length - 1, sealedBig.length >> 1]) {
        const t = sealedBig.slice();
        t[at]! ^= 1;
        rejects(() => open([key], t, aad), "UNDECRYPTABLE");
      }
      assert.deepEqual(open([key], sealedBig, aad).plaintext, big);
      // Sync payloads are only read: while sharing, every member gets the one plaintext, not a copy each.
      const [a, b] = [open([key], sealedBig, aad).plaintext, open([key], sealedBig, aad).plaintext];
      assert.equal(a === b, shared);
    } finally {
      shareStateAcrossMembers(false);
    }
  });
