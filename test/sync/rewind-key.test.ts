// The sync key of a rewound state (docs/sync.md, "The key of a rewound state"): a side that removed a
// member rotated its key; when it re-aligns to the branch that did not, it must seal under that branch's
// key again, or the members that never derived the rotated key (and the joiners it shares its key with)
// cannot read it.
import assert from "node:assert/strict";
import { it } from "node:test";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { AUTO_YES, SIMULATION_VOTE_POLICY } from "../../src/group/vote-policy.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { FAST_SYNC_PARAMS } from "../../src/sync/params.ts";
import { bytesEqual, toHex } from "../../src/util/bytes.ts";

it("a side that rotated its key by a removal takes the majority's key again when it re-aligns", async () => {
  // Removals pass on the votes of the side that sees them (silence counts YES), as in the chaos harness.
  const c = new Cluster({
    seed: 91,
    groupParams: FAST_GROUP_PARAMS,
    syncParams: FAST_SYNC_PARAMS,
    votePolicy: { ...SIMULATION_VOTE_POLICY, remove: AUTO_YES },
  });
  await c.form(5);
  await c.sim.runFor(3_000);
  const m = (name: string) => c.members.get(name)!;
  const before = m("m0").group.state.syncKey!.key;
  c.sim.partition([
    ["m0", "m1", "m2"],
    ["m3", "m4"],
  ]);
  // The minority removes m0: its key re-anchors at that commit.
  await m("m3").proposeRemove("m0");
  for (let t = 0; t < 80 && bytesEqual(m("m3").group.state.syncKey!.key, before); t++)
    await c.sim.runFor(250);
  const rotated = m("m3").group.state.syncKey!.key;
  assert.ok(!bytesEqual(rotated, before), "the removal rotated the minority's key");
  // The majority commits a refresh, which keeps its key.
  const epoch = c.epochOf("m0");
  await m("m0").proposeRefresh();
  for (let t = 0; t < 80 && c.epochOf("m0") <= epoch; t++) await c.sim.runFor(250);
  assert.ok(bytesEqual(m("m0").group.state.syncKey!.key, before), "a refresh keeps the key");
  const majority = m("m0").group.group!.fingerprint;
  c.sim.heal();
  // Once m3 and m4 re-aligned to the majority's state (before the removal, still approved there, is
  // committed again and re-anchors everyone's key), they hold its key.
  const realigned = (name: string) => bytesEqual(m(name).group.group!.fingerprint, majority);
  for (let t = 0; t < 600 && !(realigned("m3") && realigned("m4")); t++) await c.sim.runFor(50);
  for (const name of ["m3", "m4"]) {
    assert.ok(realigned(name), `${name} re-aligned to the majority`);
    const s = m(name).group.state;
    assert.equal(toHex(s.syncKey!.key), toHex(before), `${name} seals under the majority's key`);
    assert.ok(
      s.previousSyncKeys.some((k) => bytesEqual(k, rotated)),
      `${name} still reads the branch it left`,
    );
  }
  assert.deepEqual(c.faults, []);
});
