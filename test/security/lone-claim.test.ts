// A lie after a split (docs/sync.md, "Lone claims"): in a 5/3 split where both sides commit, the insider
// on the 5 side claims a state nobody holds after the heal and withholds everything else (its real state,
// its votes). The other 4 of the 5 are still the majority of the rest: the 3 realign to them, no reset.
import assert from "node:assert/strict";
import { it } from "node:test";
import { Insider } from "../../src/node/insider.ts";
import { toHex } from "../../src/util/bytes.ts";
import { formedGroup } from "./harness.ts";

it("one insider claiming a made-up state after a 5/3 fork does not turn the realign into a reset", async () => {
  const c = await formedGroup(41, 8);
  const names = [...c.members.keys()];
  const [big, small] = [names.slice(0, 5), names.slice(5)];
  const evil = new Insider(c, big[4]!);
  const honest = names.filter((n) => n !== evil.name);
  const groupId = toHex(c.members.get("m0")!.group.group!.groupId);
  const how = new Map<string, string[]>();
  const statuses = new Set<string>();
  for (const n of honest)
    c.members.get(n)!.on("recovered", (e) => how.set(n, [...(how.get(n) ?? []), e.how]));
  for (const n of honest) c.members.get(n)!.on("status", (e) => statuses.add(e.status));
  c.sim.partition([big, small]);
  await c.members.get(big[0]!)!.proposeRefresh();
  await c.members.get(small[0]!)!.proposeRefresh();
  const forked = () => c.epochOf(big[0]!) > 1n && c.epochOf(small[0]!) > 1n;
  for (let t = 0; t < 60 && !forked(); t++) await c.sim.runFor(500);
  const bigState = toHex(c.members.get(big[0]!)!.group.group!.fingerprint);
  assert.notEqual(toHex(c.members.get(small[0]!)!.group.group!.fingerprint), bigState, "the sides forked");
  // From the heal on, the insider sends nothing of its own on the sync topic, only a made-up state.
  evil.outgoing = (m) => (m.kind === "sync" ? "drop" : "send");
  c.sim.heal();
  const lie = async () => {
    const info = evil.stateInfo();
    const made = { ...info, epoch: info.epoch! + 1n, fingerprint: new Uint8Array(32).fill(7) };
    await evil.sendSync({ info: await evil.signInfo(made) });
  };
  for (let t = 0; t < 60; t++) {
    await lie();
    await c.sim.runFor(500);
    const inOne = new Set(honest.map((n) => toHex(c.members.get(n)!.group.group!.fingerprint))).size === 1;
    if (inOne && honest.every((n) => c.members.get(n)!.status === "IN_SYNC")) break;
  }
  for (const n of honest) {
    const m = c.members.get(n)!;
    assert.equal(toHex(m.group.group!.groupId), groupId, `${n} is still in the group: no reset`);
    assert.equal(m.status, "IN_SYNC", `${n} is in sync`);
  }
  assert.equal(
    new Set(honest.map((n) => toHex(c.members.get(n)!.group.group!.fingerprint))).size,
    1,
    "the honest members are in one state",
  );
  for (const n of small) assert.ok(how.get(n)?.includes("realign"), `${n} re-aligned: ${how.get(n)}`);
  assert.ok(!statuses.has("HARD"), "nobody saw HARD");
  assert.deepEqual(c.faults, []);
});
