import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as mls from "../../src/mls/index.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";
import { assertAgree, buildGroup, deliver, newMember, type TestMember } from "./helpers.ts";

/** Small deterministic PRNG so the operation mix is reproducible. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * Runs `epochs` commits over a group that grows to `target` members, then keeps adding, removing and
 * updating. After each epoch every member must agree, and an application message from a random
 * member must decrypt for every other member of that epoch.
 */
async function churn(target: number, epochs: number, seed: number): Promise<void> {
  const rand = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  let members: TestMember[] = await buildGroup(1, `churn-${target}`);
  let nextName = 1;
  const seen = new Set<string>();
  for (let e = 0; e < epochs; e++) {
    const committer = pick(members);
    const op = members.length < target ? "add" : pick(["add", "remove", "update"] as const);
    let request: mls.CommitRequest = {};
    const joiners: TestMember[] = [];
    let removed: TestMember | undefined;
    if (op === "add") {
      const count = Math.min(target - members.length, 1 + Math.floor(rand() * 4)) || 1;
      for (let i = 0; i < count; i++) joiners.push(await newMember(`j${nextName++}`));
      request = { adds: joiners.map((j) => j.keyPackages[0]!.publicBytes) };
    } else if (op === "remove" && members.length > 2) {
      removed = pick(members.filter((m) => m !== committer));
      request = { removes: [removed.identity.id] };
    }
    const out = await mls.commit(committer.group!, request);
    committer.group = out.group;
    const others = members.filter((m) => m !== committer);
    for (const m of others) {
      const r = await mls.processMessage(m.group!, out.commit);
      assert.equal(r.kind, "commit");
      if (r.kind === "commit") {
        assert.equal(toHex(r.sender), toHex(committer.identity.id));
        assert.equal(r.removedSelf, m === removed);
      }
      m.group = r.group;
    }
    if (removed) {
      assert.equal(mls.isActive(removed.group!), false);
      members = members.filter((m) => m !== removed);
    }
    for (const j of joiners) {
      j.group = (await mls.joinFromWelcome(j.identity, out.welcome!, j.keyPackages)).group;
      members.push(j);
    }
    const fp = assertAgree(members);
    assert.ok(!seen.has(fp), "a new epoch has a new fingerprint");
    seen.add(fp);
    for (const m of members) {
      const r = mls.roster(m.group!);
      assert.deepEqual(
        r.map((x) => toHex(x.memberId)).sort(),
        members.map((x) => toHex(x.identity.id)).sort(),
      );
      for (const x of r) assert.equal(mls.rosterMember(m.group!, x.memberId), x);
      if (removed) assert.equal(mls.rosterMember(m.group!, removed.identity.id), undefined);
    }

    const sender = pick(members);
    const text = `epoch ${committer.group!.epoch} from ${sender.identity.id}`;
    const sent = await mls.encrypt(sender.group!, utf8(text));
    sender.group = sent.group;
    for (const m of members.filter((x) => x !== sender)) {
      const r = await mls.processMessage(m.group!, sent.message);
      assert.equal(r.kind, "application");
      if (r.kind === "application") {
        assert.equal(new TextDecoder().decode(r.plaintext), text);
        assert.equal(toHex(r.sender), toHex(sender.identity.id));
      }
      m.group = r.group;
    }
  }
}

describe("mls group lifecycle", () => {
  it("3 members: adds, removes and updates over 30 epochs stay in agreement", async () => {
    await churn(3, 30, 1);
  });

  it("20 members: adds, removes and updates over 30 epochs stay in agreement", async () => {
    await churn(20, 30, 2);
  });

  it("the roster follows a tree changed in place (it is cached per tree)", async () => {
    const [a, b] = await buildGroup(3);
    const tree = a!.group!.state.ratchetTree as unknown[];
    assert.equal(mls.roster(a!.group!).length, 3);
    const leafB = mls.rosterMember(a!.group!, b!.identity.id)!.leafIndex;
    const saved = tree[2 * leafB];
    tree[2 * leafB] = undefined;
    assert.equal(mls.roster(a!.group!).length, 2);
    assert.equal(mls.rosterMember(a!.group!, b!.identity.id), undefined);
    tree[2 * leafB] = saved;
    assert.equal(mls.rosterMember(a!.group!, b!.identity.id)?.leafIndex, leafB);
  });

  it("keeps a fingerprint history of H epochs and a retained window of K", async () => {
    const [a] = await buildGroup(1);
    let g = await mls.createGroup(a!.identity, utf8("h"), a!.keyPackages[0]!, {
      historySize: 5,
      retainedEpochs: 2,
    });
    for (let i = 0; i < 8; i++) g = (await mls.commit(g)).group;
    assert.equal(g.epoch, 8n);
    assert.deepEqual(
      g.history.map((h) => h.epoch),
      [4n, 5n, 6n, 7n, 8n],
    );
    assert.deepEqual(mls.retainedEpochs(g), [6n, 7n]);
    assert.throws(() => mls.rewind(g, 5n), { code: "NOT_RETAINED" });
  });

  it("application messages from the previous epoch still decrypt after a commit", async () => {
    const [a, b] = await buildGroup(2);
    const sent = await mls.encrypt(a!.group!, utf8("late"));
    const out = await mls.commit(sent.group);
    await deliver(out.commit, [b!]);
    const r = await mls.processMessage(b!.group!, sent.message);
    assert.equal(r.kind, "application");
    if (r.kind === "application") assert.equal(r.epoch, 1n);
  });

  it("a message for a future epoch is a WRONG_EPOCH error the caller can keep", async () => {
    const [a, b, c] = await buildGroup(3);
    const first = await mls.commit(a!.group!);
    const second = await mls.commit(first.group);
    await assert.rejects(mls.processMessage(b!.group!, second.commit), (e) => mls.isFutureEpoch(e));
    const app = await mls.encrypt(second.group, utf8("x"));
    await assert.rejects(mls.processMessage(c!.group!, app.message), (e) => mls.isFutureEpoch(e));
    await deliver(first.commit, [b!]);
    await deliver(second.commit, [b!]);
    assert.equal(toHex(b!.group!.fingerprint), toHex(second.group.fingerprint));
  });

  it("a KeyPackage survives serialization and still opens its Welcome", async () => {
    const [a] = await buildGroup(1);
    const joiner = await newMember("joiner");
    const restored = await mls.restoreKeyPackage(
      mls.serializeKeyPackage(joiner.keyPackages[1]!),
      joiner.identity,
    );
    assert.equal(restored.lastResort, true);
    const out = await mls.commit(a!.group!, { adds: [joiner.keyPackages[1]!.publicBytes] });
    const { group, usedKeyPackage } = await mls.joinFromWelcome(joiner.identity, out.welcome!, [restored]);
    assert.equal(toHex(usedKeyPackage), toHex(restored.ref));
    assert.equal(toHex(group.fingerprint), toHex(out.group.fingerprint));
    const other = await newMember("other");
    await assert.rejects(
      mls.restoreKeyPackage(mls.serializeKeyPackage(joiner.keyPackages[0]!), other.identity),
      {
        code: "INVALID",
      },
    );
  });

  it("signatures by the member's signature key verify only under the same label and key", async () => {
    const a = await newMember("a");
    const b = await newMember("b");
    const sig = await mls.sign(a.identity, "vote", utf8("yes"));
    assert.equal(await mls.verify(a.identity.signaturePublicKey, "vote", utf8("yes"), sig), true);
    assert.equal(await mls.verify(a.identity.signaturePublicKey, "sync", utf8("yes"), sig), false);
    assert.equal(await mls.verify(b.identity.signaturePublicKey, "vote", utf8("yes"), sig), false);
    assert.equal(await mls.verify(utf8("garbage"), "vote", utf8("yes"), sig), false);
  });
});
