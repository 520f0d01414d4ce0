import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import fc from "fast-check";
import * as mls from "../../src/mls/index.ts";
import { toHex } from "../../src/util/bytes.ts";
import { buildGroup, type TestMember } from "./helpers.ts";

/** Asserts `p` rejects with a typed MlsProtocolError (and nothing else). */
async function rejectsTyped(p: Promise<unknown>, code?: mls.MlsErrorCode): Promise<mls.MlsErrorCode> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof mls.MlsProtocolError, `expected MlsProtocolError, got ${e}`);
    if (code) assert.equal(e.code, code);
    return e.code;
  }
  assert.fail("expected a rejection");
}

describe("bad input never changes state and only raises typed errors", () => {
  let members: TestMember[];
  let receiver: mls.MlsGroup;
  let snapshot: Uint8Array;
  let good: mls.CommitOutput;

  before(async () => {
    members = await buildGroup(3);
    receiver = members[1]!.group!;
    snapshot = mls.serializeGroup(receiver);
    good = await mls.commit(members[0]!.group!);
  });

  /** The receiver is byte-for-byte what it was and still accepts the genuine commit. */
  async function assertUnchanged(): Promise<void> {
    assert.deepEqual(mls.serializeGroup(receiver), snapshot);
    const r = await mls.processMessage(receiver, good.commit);
    assert.equal(toHex(r.group.fingerprint), toHex(good.group.fingerprint));
  }

  it("a commit for a past or future epoch is WRONG_EPOCH", async () => {
    const next = await mls.commit(good.group);
    const e = await rejectsTyped(mls.processMessage(receiver, next.commit), "WRONG_EPOCH");
    assert.equal(e, "WRONG_EPOCH");
    const advanced = (await mls.processMessage(receiver, good.commit)).group;
    await rejectsTyped(mls.processMessage(advanced, good.commit), "WRONG_EPOCH");
    await assertUnchanged();
  });

  it("every single-byte tampering of a commit is rejected", async () => {
    const codes = new Set<string>();
    for (let i = 0; i < good.commit.length; i++) {
      const bad = good.commit.slice();
      bad[i] = (bad[i] as number) ^ 0x41;
      codes.add(await rejectsTyped(mls.processMessage(receiver, bad)));
    }
    assert.ok(codes.has("INVALID_SIGNATURE") && codes.has("MALFORMED"), [...codes].join(","));
    await assertUnchanged();
  });

  it("a commit the caller's policy refuses is INVALID; the policy sees who committed what", async () => {
    let seen: { sender: string; added: number; removed: number } | undefined;
    const refuse: mls.CommitPolicy = (c) => {
      seen = { sender: new TextDecoder().decode(c.sender), added: c.added.length, removed: c.removed.length };
      return false;
    };
    await rejectsTyped(mls.processMessage(receiver, good.commit, refuse), "INVALID");
    assert.deepEqual(seen, { sender: "m0", added: 0, removed: 0 });
    await assertUnchanged();
  });

  it("a commit from another group is WRONG_GROUP", async () => {
    const other = await buildGroup(2, "another-group");
    const foreign = await mls.commit(other[0]!.group!);
    await rejectsTyped(mls.processMessage(receiver, foreign.commit), "WRONG_GROUP");
    await assertUnchanged();
  });

  it("10,000 random byte strings: typed errors from every entry point", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 400 }), async (bytes) => {
        await rejectsTyped(mls.processMessage(receiver, bytes));
        await rejectsTyped(mls.readKeyPackage(bytes));
        await rejectsTyped(mls.joinFromWelcome(members[2]!.identity, bytes, members[2]!.keyPackages));
        await rejectsTyped(mls.restoreKeyPackage(bytes, members[2]!.identity));
        assert.throws(() => mls.restoreGroup(bytes), mls.MlsProtocolError);
        try {
          mls.peek(bytes);
        } catch (e) {
          assert.ok(e instanceof mls.MlsProtocolError);
        }
      }),
      { numRuns: 10_000 },
    );
    await assertUnchanged();
  });

  it("random ciphertext under a valid header is rejected", async () => {
    // Keep the header (group id, epoch, content type) so decoding gets as far as decryption.
    const headerLen = good.commit.length - 64;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 64, maxLength: 64 }), async (tail) => {
        const bad = new Uint8Array(good.commit.length);
        bad.set(good.commit.subarray(0, headerLen));
        bad.set(tail, headerLen);
        await rejectsTyped(mls.processMessage(receiver, bad));
      }),
      { numRuns: 300 },
    );
    await assertUnchanged();
  });

  it("a Welcome for somebody else is NO_MATCHING_KEY_PACKAGE", async () => {
    const stranger = await buildGroup(1, "s");
    const out = await mls.commit(members[0]!.group!, { adds: [stranger[0]!.keyPackages[0]!.publicBytes] });
    await rejectsTyped(
      mls.joinFromWelcome(members[2]!.identity, out.welcome!, members[2]!.keyPackages),
      "NO_MATCHING_KEY_PACKAGE",
    );
  });

  it("removing a non-member is NOT_MEMBER and adding a forged KeyPackage is INVALID_SIGNATURE", async () => {
    await rejectsTyped(
      mls.commit(members[0]!.group!, { removes: [new TextEncoder().encode("nobody")] }),
      "NOT_MEMBER",
    );
    const kp = (await buildGroup(1, "x"))[0]!.keyPackages[0]!.publicBytes.slice();
    kp[kp.length - 3] = (kp[kp.length - 3] as number) ^ 1; // inside the signature
    await rejectsTyped(mls.commit(members[0]!.group!, { adds: [kp] }), "INVALID_SIGNATURE");
  });
});
