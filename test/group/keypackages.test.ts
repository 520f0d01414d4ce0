import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeKeyPackageSet } from "../../src/group/frames.ts";
import { toWire } from "../../src/group/keypackage-store.ts";
import { AUTO_YES } from "../../src/group/vote-policy.ts";
import { createIdentity, generateKeyPackages } from "../../src/mls/index.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { MemoryKeyPackageService } from "../../src/store/keypackage-service.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";
import { injectPayload } from "./inject.ts";

const hex = (name: string) => toHex(utf8(name));

/** Runs until every member's store holds a set of every roster member, or for at most `ms`. */
async function storesFull(c: Cluster, ms = 10_000): Promise<void> {
  const end = c.sim.now + ms;
  const n = () => c.members.size;
  while (c.sim.now < end && ![...c.members.values()].every((m) => m.group.state.keyPackageSets.size === n()))
    await c.sim.runFor(250);
}

describe("KeyPackage store", () => {
  it("every member keeps the newest set of every roster member, in sqlite and in a storage service", async () => {
    const service = new MemoryKeyPackageService();
    // The removal at the end passes without the applications' votes.
    const c = new Cluster({
      seed: 41,
      persist: true,
      keyPackageService: service,
      votePolicy: { remove: AUTO_YES },
    });
    await c.form(5);
    await storesFull(c);
    await c.sim.runFor(1_000); // a set that arrived with nothing to send is saved within SAVE_LAG_MS
    const names = [...c.members.keys()];
    for (const [name, m] of c.members) {
      assert.deepEqual([...m.group.state.keyPackageSets.keys()].sort(), names.map(hex).sort(), name);
      const rows = c.stores.get(name)!.keyPackageSets();
      assert.deepEqual(rows.map((r) => r.memberId).sort(), names.map(hex).sort(), `${name}'s sqlite store`);
      for (const r of rows) assert.equal(decodeKeyPackageSet(r.set).version, r.version);
    }
    assert.deepEqual(service.members(), names.map(hex).sort());

    // A removed member's set leaves every store.
    const before = c.epochOf("m0");
    await c.members.get("m0")!.proposeRemove("m4");
    for (let t = 0; t < 40 && c.epochOf("m0") <= before; t++) await c.sim.runFor(250);
    await c.sim.runFor(500);
    for (const name of ["m0", "m1", "m2", "m3"]) {
      assert.equal(c.members.get(name)!.group.keyPackageSet(hex("m4")), undefined, name);
      assert.ok(
        !c.stores
          .get(name)!
          .keyPackageSets()
          .some((r) => r.memberId === hex("m4")),
      );
    }
  });

  it("a joiner gets the store from the member that added it, and from the service", async () => {
    const service = new MemoryKeyPackageService();
    const c = new Cluster({ seed: 42, keyPackageService: service });
    await c.form(3);
    await storesFull(c);
    const fetchesBefore = service.fetches;
    await c.add("m3", "joiner");
    for (let t = 0; t < 60 && c.members.get("m3")!.group.state.keyPackageSets.size < 4; t++)
      await c.sim.runFor(250);
    assert.equal(c.members.get("m3")!.group.state.keyPackageSets.size, 4);
    assert.ok(service.fetches > fetchesBefore, "the joiner asked the service");
  });

  it("a set in another member's name, a stale set and a non-member's set are refused and change nothing", async () => {
    const c = new Cluster({ seed: 43 });
    await c.form(4);
    await storesFull(c);
    const m0 = c.members.get("m0")!.group;
    const stored = m0.keyPackageSet(hex("m2"))!;
    const rejected = () => m0.state.counters.BAD_KEY_PACKAGE ?? 0;

    // m1 builds KeyPackages for the identity "m2" under its own key, and a newer version number.
    const fake = await createIdentity("m2");
    const kps = await generateKeyPackages(fake, 1, { lastResort: true });
    const forged = {
      member: utf8("m2"),
      version: stored.version + 1n,
      keyPackages: [kps[0]!.publicBytes],
      lastResort: kps[1]!.publicBytes,
    };
    await injectPayload(c, "m1", { keyPackageSets: [forged] });
    // An old set of m2 replayed, and a set for someone outside the group.
    const older = { ...toWire(stored), version: stored.version - 1n };
    const outsider = await createIdentity("mallory");
    const okps = await generateKeyPackages(outsider, 0, { lastResort: true });
    await injectPayload(c, "m1", { keyPackageSets: [older] });
    await injectPayload(c, "m1", {
      keyPackageSets: [
        { member: outsider.id, version: 1n, keyPackages: [], lastResort: okps[0]!.publicBytes },
      ],
    });
    await c.sim.runFor(2000);
    assert.ok(rejected() >= 1, "forged set counted");
    assert.ok((m0.state.counters.NOT_A_MEMBER ?? 0) >= 1, "outsider's set counted");
    assert.deepEqual(m0.keyPackageSet(hex("m2")), stored, "m2's stored set unchanged");
    assert.equal(m0.keyPackageSet(toHex(outsider.id)), undefined);
    assert.equal(c.distinctStates().size, 1);
  });
});
