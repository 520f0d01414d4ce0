// Simulations share equal MLS state between members of one process (src/mls/share.ts): the sharing must
// not change what any member computes, and must be off (with secrets zeroed on retirement) by default.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mls from "../../src/mls/index.ts";
import { shareStateAcrossMembers } from "../../src/mls/index.ts";
import { toHex } from "../../src/util/bytes.ts";
import { assertAgree, buildGroup, deliver, newMember, type TestMember } from "./helpers.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Counts tree nodes of `b` that are the very same objects as `a`'s. */
function sameNodes(a: TestMember, b: TestMember): number {
  const x = a.group!.state.ratchetTree;
  const y = b.group!.state.ratchetTree;
  return x.filter((n, i) => n !== undefined && n === y[i]).length;
}

async function chat(from: TestMember, to: TestMember[], text: string): Promise<void> {
  const sent = await mls.encrypt(from.group!, utf8(text));
  from.group = sent.group;
  for (const m of to) {
    const r = await mls.processMessage(m.group!, sent.message);
    assert.equal(r.kind, "application");
    assert.equal(new TextDecoder().decode(r.kind === "application" ? r.plaintext : undefined), text);
    m.group = r.group;
  }
}

test("off by default: every member holds its own copy of the tree", async () => {
  const [, b, c] = await buildGroup(3);
  assert.equal(sameNodes(b!, c!), 0);
  assert.notEqual(b!.group!.state.secretTree, c!.group!.state.secretTree);
});

test("shared: members point to one tree and one secret tree, and still compute the same as alone", async () => {
  shareStateAcrossMembers(true);
  try {
    const members = await buildGroup(4);
    const [a, b, c, d] = members as [TestMember, TestMember, TestMember, TestMember];
    const leaves = b.group!.state.ratchetTree.filter((n) => n?.nodeType === "leaf").length;
    assert.equal(leaves, 4);
    assert.ok(sameNodes(b, c) >= leaves, "joiners share every leaf");
    assert.equal(b.group!.state.secretTree, c.group!.state.secretTree);
    // Sending and reading ratchet each member's own copy: the shared tree stays as it was.
    const before = c.group!.state.secretTree;
    await chat(b, [a, c, d], "hello");
    await chat(c, [a, b, d], "again");
    assert.notEqual(d.group!.state.secretTree, before);
    assert.ok(before.every((n) => n.application.generation === 0 && n.handshake.generation === 0));
    assert.equal(d.group!.state.secretTree[0], before[0], "nodes nobody ratcheted stay shared");
    // Epochs on: path commits by different members, every member agrees and reads the others.
    for (const committer of [a, c, d, b, a, c]) {
      const out = await mls.commit(committer.group!, {});
      committer.group = out.group;
      await deliver(
        out.commit,
        members.filter((m) => m !== committer),
      );
      assertAgree(members);
      await chat(
        committer,
        members.filter((m) => m !== committer),
        `epoch ${committer.group!.epoch}`,
      );
    }
    assert.ok(sameNodes(a, d) >= leaves);
  } finally {
    shareStateAcrossMembers(false);
  }
});

/**
 * A seeded script of commits (path updates, a remove, an add) and chat among 6 members: every byte each
 * member sends and every fingerprint it reaches.
 */
async function scripted(shared: boolean): Promise<string[]> {
  shareStateAcrossMembers(shared);
  mls.seedMlsRandomness("share-equivalence");
  try {
    const members = await buildGroup(6);
    const transcript: string[] = [];
    const everyoneBut = (x: TestMember) => members.filter((m) => m !== x);
    const step = async (committer: TestMember, request: Parameters<typeof mls.commit>[1]) => {
      const out = await mls.commit(committer.group!, request);
      committer.group = out.group;
      await deliver(out.commit, everyoneBut(committer));
      const removed = new Set((request?.removes ?? []).map(toHex));
      for (let i = members.length - 1; i >= 0; i--)
        if (removed.has(toHex(members[i]!.identity.id))) members.splice(i, 1);
      transcript.push(toHex(out.commit), assertAgree(members));
      const sent = await mls.encrypt(committer.group!, utf8(`epoch ${committer.group!.epoch}`));
      committer.group = sent.group;
      for (const m of everyoneBut(committer))
        m.group = (await mls.processMessage(m.group!, sent.message)).group;
      transcript.push(toHex(sent.message));
    };
    const [a, b, c, d, e, f] = members as TestMember[];
    await step(c!, {});
    await step(a!, { removes: [f!.identity.id] });
    await step(d!, {});
    const g = await newMember("m6");
    const add = await mls.commit(b!.group!, { adds: [g.keyPackages[0]!.publicBytes] });
    b!.group = add.group;
    await deliver(add.commit, everyoneBut(b!));
    g.group = (await mls.joinFromWelcome(g.identity, add.welcome!, g.keyPackages)).group;
    members.push(g);
    transcript.push(toHex(add.commit), assertAgree(members));
    await step(e!, {});
    await step(g, {});
    return transcript;
  } finally {
    shareStateAcrossMembers(false);
    mls.seedMlsRandomness(undefined);
  }
}

test("shared tree hashes, secret trees, key derivations and decryptions: every commit, ciphertext and fingerprint is byte for byte the unshared one", async () => {
  const alone = await scripted(false);
  assert.deepEqual(await scripted(true), alone);
  // The script is deterministic (so the comparison means something) and ran every step.
  assert.deepEqual(await scripted(false), alone);
  assert.equal(alone.length, 17);
});

test("shared decryptions: each member gets its own copy of a plaintext, unless it only reads it", () => {
  shareStateAcrossMembers(true);
  try {
    let opened = 0;
    const open = () => {
      opened++;
      return utf8("plaintext");
    };
    const parts = [utf8("key"), utf8("nonce"), utf8("aad"), utf8("ciphertext")];
    const mine = mls.sharedOpen("test", parts, open);
    mine.fill(0); // a member may zero what it got
    assert.deepEqual(mls.sharedOpen("test", parts, open), utf8("plaintext"));
    assert.equal(mls.sharedOpen("test", parts, open, true), mls.sharedOpen("test", parts, open, true));
    assert.equal(opened, 1);
  } finally {
    shareStateAcrossMembers(false);
  }
});

test("shared decryptions: a tampered copy of a message another member read is still rejected", async () => {
  shareStateAcrossMembers(true);
  try {
    const [a, b, c] = (await buildGroup(3)) as [TestMember, TestMember, TestMember];
    const sent = await mls.encrypt(a.group!, utf8("once"));
    a.group = sent.group;
    b.group = (await mls.processMessage(b.group!, sent.message)).group;
    const tampered = sent.message.slice();
    tampered[tampered.length - 1]! ^= 1;
    await assert.rejects(mls.processMessage(c.group!, tampered), mls.MlsProtocolError);
    const r = await mls.processMessage(c.group!, sent.message);
    assert.equal(new TextDecoder().decode(r.kind === "application" ? r.plaintext : undefined), "once");
  } finally {
    shareStateAcrossMembers(false);
  }
});

test("secrets consumed by the messages of an epoch go with it into retention", async () => {
  const consumedBy = async (messages: number) => {
    const [a] = await buildGroup(1);
    for (let i = 0; i < messages; i++) a!.group = (await mls.encrypt(a!.group!, utf8(`m${i}`))).group;
    a!.group = (await mls.commit(a!.group!, {})).group;
    return a!.group!.retained[0]!.consumed.length;
  };
  const none = await consumedBy(0);
  // Each message consumes its ratchet secret and its key (ts-mls), in this epoch's entry.
  assert.equal(await consumedBy(3), none + 6);
});

test("retired secrets are zeroed, but not while shared (another member may still use them)", async () => {
  for (const shared of [false, true]) {
    shareStateAcrossMembers(shared);
    try {
      const [a] = await buildGroup(1);
      a!.group = (await mls.commit(a!.group!, {})).group;
      const oldest = a!.group!.retained[0]!;
      assert.ok(oldest.consumed.length > 0);
      for (let i = 0; i < 5; i++) a!.group = (await mls.commit(a!.group!, {})).group;
      assert.ok(!a!.group!.retained.includes(oldest), "the entry left the retention window");
      const zeroed = oldest.consumed.every((s) => s.every((x) => x === 0));
      assert.equal(zeroed, !shared);
    } finally {
      shareStateAcrossMembers(false);
    }
  }
});

test("shared signature verdicts: a changed message, signature or key is checked again", async () => {
  shareStateAcrossMembers(true);
  try {
    const alice = await mls.createIdentity("alice");
    const mallory = await mls.createIdentity("mallory");
    const body = utf8("vote yes");
    const sig = await mls.sign(alice, "vote", body);
    for (let i = 0; i < 2; i++) assert.ok(await mls.verify(alice.signaturePublicKey, "vote", body, sig));
    const forged = sig.slice();
    forged[0]! ^= 1;
    assert.ok(!(await mls.verify(alice.signaturePublicKey, "vote", body, forged)));
    assert.ok(!(await mls.verify(alice.signaturePublicKey, "vote", utf8("vote no"), sig)));
    assert.ok(!(await mls.verify(mallory.signaturePublicKey, "vote", body, sig)));
    assert.ok(await mls.verify(alice.signaturePublicKey, "vote", body, sig));
  } finally {
    shareStateAcrossMembers(false);
  }
});
