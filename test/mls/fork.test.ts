import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as mls from "../../src/mls/index.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";
import { assertAgree, buildGroup, deliver } from "./helpers.ts";

/** How far a member's own sending chains went at its current state (ts-mls internals, tests only). */
function ownGenerations(group: mls.MlsGroup): { application: number; handshake: number } {
  const node = group.state.secretTree[2 * group.state.privatePath.leafIndex]!;
  return { application: node.application.generation, handshake: node.handshake.generation };
}

describe("forks, fingerprints and rewinding", () => {
  it("two valid commits for one epoch split the group; relation tells the branches apart", async () => {
    const members = await buildGroup(6);
    const [a, b, c, d, e, f] = members as [(typeof members)[0], ...typeof members];
    const base = a.group!.epoch;
    const A = await mls.commit(a.group!);
    const B = await mls.commit(d!.group!);
    a.group = A.group;
    d!.group = B.group;
    await deliver(A.commit, [b!, c!]);
    await deliver(B.commit, [e!, f!]);
    const fpA = assertAgree([a, b!, c!]);
    const fpB = assertAgree([d!, e!, f!]);
    assert.notEqual(fpA, fpB);
    assert.equal(a.group!.epoch, base + 1n);

    const ra = a.group!;
    const rd = d!.group!;
    assert.equal(mls.relation(ra.history, rd.epoch, rd.fingerprint, mls.ancestry(rd.history)), "FORKED");
    assert.equal(mls.relation(rd.history, ra.epoch, ra.fingerprint), "FORKED");
    assert.equal(mls.relation(ra.history, b!.group!.epoch, b!.group!.fingerprint), "SAME");

    // Along branch A: a moves two epochs ahead of c.
    const A2 = await mls.commit(a.group!);
    const A3 = await mls.commit(A2.group);
    a.group = A3.group;
    const behind = c!.group!;
    assert.equal(mls.relation(a.group.history, behind.epoch, behind.fingerprint), "I_AM_AHEAD");
    assert.equal(
      mls.relation(behind.history, a.group.epoch, a.group.fingerprint, mls.ancestry(a.group.history)),
      "I_AM_BEHIND",
    );
    // Branch B members are forked from a at every depth.
    assert.equal(mls.relation(a.group.history, rd.epoch, rd.fingerprint), "FORKED");
    assert.equal(
      mls.relation(rd.history, a.group.epoch, a.group.fingerprint, mls.ancestry(a.group.history)),
      "FORKED",
    );
    // A peer further back than our history cannot be placed.
    assert.equal(mls.relation(a.group.history.slice(-1), rd.epoch, rd.fingerprint), "UNKNOWN");
  });

  it("a forked member rewinds to the fork point and applies the other branch's commits", async () => {
    const members = await buildGroup(4);
    const [a, b, c, d] = members;
    const forkEpoch = a!.group!.epoch;
    // Majority branch: a commits twice, b and c follow.
    const M1 = await mls.commit(a!.group!);
    const M2 = await mls.commit(M1.group);
    a!.group = M2.group;
    await deliver(M1.commit, [b!, c!]);
    await deliver(M2.commit, [b!, c!]);
    // Minority: d commits on its own branch, twice, and sends a message there.
    const D1 = await mls.commit(d!.group!);
    const D2 = await mls.commit(D1.group);
    d!.group = (await mls.encrypt(D2.group, utf8("on the abandoned branch"))).group;
    assert.equal(
      mls.relation(d!.group.history, a!.group.epoch, a!.group.fingerprint, mls.ancestry(a!.group.history)),
      "FORKED",
    );

    // The majority's commit for the fork epoch is rejected by d's current state...
    await assert.rejects(mls.processMessage(d!.group, M1.commit), { code: "WRONG_EPOCH" });
    // ...but d rewinds to its retained fork-point state and takes the majority branch.
    assert.ok(mls.retainedEpochs(d!.group).includes(forkEpoch));
    d!.group = mls.rewind(d!.group, forkEpoch);
    assert.equal(d!.group.epoch, forkEpoch);
    await deliver(M1.commit, [d!]);
    await deliver(M2.commit, [d!]);
    assertAgree([a!, b!, c!, d!]);
    // And it is a full member again: messages flow both ways.
    const hello = await mls.encrypt(d!.group!, utf8("back"));
    const r = await mls.processMessage(a!.group!, hello.message);
    assert.equal(r.kind === "application" && new TextDecoder().decode(r.plaintext), "back");
    const next = await mls.commit(d!.group!);
    await deliver(next.commit, [a!, b!, c!]);
    d!.group = next.group;
    assertAgree([a!, b!, c!, d!]);
  });

  it("a member entering again a state it left sends past the generations it used there", async () => {
    const [a, b, c] = await buildGroup(3);
    const forkEpoch = a!.group!.epoch;
    const M1 = await mls.commit(a!.group!);
    a!.group = M1.group;
    await deliver(M1.commit, [b!, c!]);
    // b sends twice at the new state, and a and c read both (their copies of b's chain move on).
    for (const text of ["one", "two"]) {
      const sent = await mls.encrypt(b!.group!, utf8(text));
      b!.group = sent.group;
      for (const m of [a!, c!]) m.group = (await mls.processMessage(m.group!, sent.message)).group;
    }
    // b commits alone (a handshake generation spent), loses, rewinds to the fork point and takes M1 again:
    // the same state, whose secret tree starts afresh. Restored from storage, it still knows how far it went.
    b!.group = (await mls.commit(b!.group!)).group;
    b!.group = mls.restoreGroup(mls.serializeGroup(mls.rewind(b!.group, forkEpoch)));
    await deliver(M1.commit, [b!]);
    assertAgree([a!, b!, c!]);
    assert.deepEqual(ownGenerations(b!.group!), { application: 2, handshake: 1 });
    const again = await mls.encrypt(b!.group!, utf8("three"));
    b!.group = again.group;
    for (const m of [a!, c!]) {
      const r = await mls.processMessage(m.group!, again.message);
      assert.equal(r.kind === "application" && new TextDecoder().decode(r.plaintext), "three");
      m.group = r.group;
    }
    const next = await mls.commit(b!.group!);
    await deliver(next.commit, [a!, c!]);
    b!.group = next.group;
    assertAgree([a!, b!, c!]);
  });

  it("our own commit, entered after we sent at its parent state, rewinds to that state as it is now", async () => {
    const [a, b] = await buildGroup(2);
    const parentEpoch = a!.group!.epoch;
    // a commits, and while the commit is a candidate sends at the state it was built on; b reads.
    const out = await mls.commit(a!.group!);
    a!.group = out.sameEpoch;
    assert.deepEqual(ownGenerations(a!.group), { application: 0, handshake: 1 });
    const x = await mls.encrypt(a!.group, utf8("x"));
    a!.group = x.group;
    b!.group = (await mls.processMessage(b!.group!, x.message)).group;
    // The commit is selected; later both rewind to its parent state, and a sends there again.
    a!.group = await mls.enterOwnCommit(a!.group, out.group);
    // What building the commit consumed retires with the state it left, as `commit` files it.
    const filed = new Set(a!.group.retained.at(-1)!.consumed);
    assert.ok(out.group.retained.at(-1)!.consumed.length > 0);
    assert.ok(out.group.retained.at(-1)!.consumed.every((s) => filed.has(s)));
    await deliver(out.commit, [b!]);
    assertAgree([a!, b!]);
    a!.group = mls.rewind(a!.group, parentEpoch);
    b!.group = mls.rewind(b!.group!, parentEpoch);
    const y = await mls.encrypt(a!.group, utf8("y"));
    const r = await mls.processMessage(b!.group, y.message);
    assert.equal(r.kind === "application" && new TextDecoder().decode(r.plaintext), "y");
    // Not built on this state (a moved on since): refused.
    await assert.rejects(mls.enterOwnCommit(out.group, out.group), { code: "WRONG_EPOCH" });
  });

  it("serialize, restore and continue gives identical fingerprints", async () => {
    const members = await buildGroup(5);
    const [a, b] = members;
    for (let i = 0; i < 3; i++) {
      const out = await mls.commit(a!.group!);
      a!.group = out.group;
      await deliver(out.commit, members.slice(1));
    }
    const sent = await mls.encrypt(b!.group!, utf8("before the snapshot"));
    b!.group = sent.group;
    const bytes = mls.serializeGroup(b!.group);
    const restored = mls.restoreGroup(bytes);
    assert.equal(restored.epoch, b!.group.epoch);
    assert.equal(toHex(restored.fingerprint), toHex(b!.group.fingerprint));
    assert.deepEqual(mls.retainedEpochs(restored), mls.retainedEpochs(b!.group));
    assert.deepEqual(mls.serializeGroup(restored), bytes, "serialization is stable");

    // The restored member keeps sending (its ratchet moved on) and follows the next commits.
    const more = await mls.encrypt(restored, utf8("after"));
    const got = await mls.processMessage(a!.group!, more.message);
    assert.equal(got.kind === "application" && new TextDecoder().decode(got.plaintext), "after");
    b!.group = more.group;
    for (let i = 0; i < 2; i++) {
      const out = await mls.commit(a!.group!);
      a!.group = out.group;
      await deliver(out.commit, members.slice(1));
    }
    assertAgree(members);
    // A restored member can still rewind into its retained epochs.
    const again = mls.restoreGroup(mls.serializeGroup(b!.group!));
    const back = mls.rewind(again, again.epoch - 1n);
    assert.equal(toHex(back.fingerprint), toHex(mls.fingerprintAt(again.history, again.epoch - 1n)!));
  });
});

describe("retirement", () => {
  it("a commit built and never taken zeroes nothing the live state still retains", async () => {
    const [a, b] = await buildGroup(2);
    for (let i = 0; i < 5; i++) {
      const out = await mls.commit(a!.group!);
      a!.group = out.group;
      await deliver(out.commit, [b!]);
    }
    const oldest = mls.retainedEpochs(a!.group!)[0]!;
    assert.equal(mls.retainedEpochs(a!.group!).length, 4, "the window is full");
    // a builds a commit (a steward's candidate), which retires its oldest retained epoch; the group
    // takes b's commit at that oldest epoch instead, and a rewinds there to take it.
    await mls.commit(a!.group!);
    const other = await mls.commit(mls.rewind(b!.group!, oldest));
    a!.group = mls.rewind(a!.group!, oldest);
    const r = await mls.processMessage(a!.group, other.commit);
    assert.equal(r.kind, "commit");
    b!.group = other.group;
    a!.group = r.group;
    assertAgree([a!, b!]);
  });
});
