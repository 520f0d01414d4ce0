// One member cannot move everyone's sync key: a share of another key than ours is some member's word
// (only a member without a key takes one), so the group keeps reading its sync channel.
import assert from "node:assert/strict";
import { it } from "node:test";
import { Insider } from "../../src/node/insider.ts";
import { runUntilSettled } from "../../src/testing.ts";
import { bytesEqual } from "../../src/util/bytes.ts";
import { formedGroup } from "./harness.ts";

it("an insider's share of a key of its own changes no member's sync key; the group goes on", async () => {
  const c = await formedGroup(61, 5);
  const keys = new Map([...c.members].map(([n, m]) => [n, m.group.state.syncKey!.key]));
  const evil = new Insider(c, "m4");
  const epoch = c.members.get("m0")!.group.group!.epoch;
  await evil.sendPayload({ syncKey: { anchorEpoch: epoch, key: new Uint8Array(32).fill(0xee) } });
  await c.sim.runFor(1_000);
  for (const [name, m] of c.members) {
    if (name === "m4") continue;
    assert.ok(bytesEqual(m.group.state.syncKey!.key, keys.get(name)!), `${name} kept its key`);
    assert.equal(m.group.state.counters.SYNC_KEY_REFUSED, 1, `${name} counted the share`);
  }
  await c.members.get("m0")!.proposeRefresh();
  await c.chat("m1", "after the share");
  assert.notEqual(await runUntilSettled(c, { timeoutMs: 20_000 }), null);
  assert.ok(c.members.get("m0")!.group.group!.epoch > epoch);
});
