// The group core as the sync layer sees it: every read of the port is the member's value at that moment,
// never one taken when the port was made.
import assert from "node:assert/strict";
import { it } from "node:test";
import { Cluster } from "../../src/node/cluster.ts";
import { groupPortOf } from "../../src/node/group-port.ts";

it("the port reads the group core live: group, sync keys, commit log, KeyPackages", async () => {
  const c = new Cluster({ seed: 3 });
  await c.form(3);
  const core = c.members.get("m0")!.group;
  const port = groupPortOf(core);
  const before = { group: port.group, key: port.syncKey, log: port.commitLog.length };
  assert.equal(port.group, core.group);
  assert.equal(port.syncKey, core.state.syncKey?.key);
  await c.members.get("m1")!.proposeRefresh();
  for (let t = 0; t < 30 && core.group?.epoch === before.group?.epoch; t++) await c.sim.runFor(500);
  assert.notEqual(core.group, before.group, "the epoch moved");
  assert.equal(port.group, core.group);
  assert.equal(port.commitLog.length, before.log + 1);
  assert.equal(port.commitLog, core.state.commitLog);
  assert.equal(port.previousSyncKeys, core.state.previousSyncKeys);
  assert.equal(port.keyPackages, core.keyPackages);
  assert.equal(port.commitInFlight, core.state.freezeUntil !== undefined);
  assert.deepEqual(port.rosterIds(), core.rosterIds());
  assert.equal(port.memberId, core.memberId);
});
