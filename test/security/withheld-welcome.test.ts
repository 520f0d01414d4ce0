// A steward that commits a joiner's add and never sends the Welcome (docs/threats.md, "A withheld
// Welcome"): only the committer can send that Welcome, so the members vote the joiner's leaf out and add
// it again; a replay of a welcomed member's old KeyPackage announcement removes nobody.
import assert from "node:assert/strict";
import { it } from "node:test";
import { decodeWelcomeFrame, encodeWelcomeFrame } from "../../src/group/frames.ts";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { isEpochSteward } from "../../src/group/steward-schedule.ts";
import { Insider } from "../../src/node/insider.ts";
import { formedGroup } from "./harness.ts";

/** The group of 4 and the insider: the member that commits the next epoch (the epoch steward). */
async function withStewardInsider(seed: number) {
  const c = await formedGroup(seed, 4);
  const steward = [...c.members.keys()].find((n) => isEpochSteward(c.members.get(n)!.group.core))!;
  const evil = new Insider(c, steward);
  let withheld = 0;
  evil.outgoing = (m) => {
    if (m.kind !== "welcome") return "send";
    const f = decodeWelcomeFrame(m.data);
    if (f.welcome === undefined) return "send";
    withheld++;
    return "drop";
  };
  return { c, steward, evil, withheld: () => withheld };
}

it("a joiner whose Welcome the committing steward withholds is voted out and added again, and gets in", async () => {
  const { c, steward, withheld } = await withStewardInsider(21);
  const honest = [...c.members.keys()].filter((n) => n !== steward);
  const joiner = await c.add("j", "joiner");
  const start = c.now;
  // The add is committed by the insider, and the Welcome goes nowhere.
  const inRoster = () => c.members.get(honest[0]!)!.roster().includes("j");
  for (; !inRoster(); await c.sim.runFor(100)) assert.ok(c.now < start + 30_000, "the add is committed");
  assert.ok(withheld() > 0, "the insider dropped the Welcome");
  assert.equal(joiner.group.group, undefined, "the joiner has no group");
  // Within welcomeWaitMs (5 s in the preset) and a few rounds, the joiner is in the group everyone is
  // in (10.3 s on this seed; without the rule, never).
  let inGroup = false;
  void joiner.ready().then(() => {
    inGroup = true;
  });
  const deadline = start + 30_000;
  for (; !(inGroup && c.distinctStates().size === 1 && c.converged()); await c.sim.runFor(250))
    assert.ok(
      c.now < deadline,
      `the joiner gets in: ${JSON.stringify(Object.fromEntries(c.distinctStates()))}`,
    );
  for (const m of c.members.values()) assert.ok(m.roster().includes("j"), `${m.name} has the joiner`);
  assert.equal(
    c.members
      .get(honest[0]!)!
      .roster()
      .filter((n) => n === "j").length,
    1,
    "one leaf for the joiner",
  );
  await c.chat("j", "in at last");
  for (let t = 0; t < 40 && c.missingChats().size > 0; t++) await c.sim.runFor(250);
  assert.deepEqual([...c.missingChats()], [], "its chat reaches every member");
  assert.deepEqual(c.faults, []);
});

it("a replay of a welcomed member's first KeyPackage announcement removes nobody", async () => {
  const c = await formedGroup(22, 4);
  const joiner = await c.add("j", "joiner");
  const announced = joiner.group.keyPackages.find((k) => !k.lastResort)!.publicBytes;
  const deadline = c.now + 60_000;
  for (; !(joiner.group.group && c.distinctStates().size === 1 && c.converged()); await c.sim.runFor(250))
    assert.ok(c.now < deadline, "the joiner gets in");
  const evil = new Insider(c, "m1");
  const epoch = c.epochOf("m0");
  // Long past welcomeWaitMs, the insider replays the joiner's announcement again and again.
  for (let t = 0; t < 3 * FAST_GROUP_PARAMS.welcomeWaitMs; t += FAST_GROUP_PARAMS.keyPackageResendMs) {
    await evil.send("welcome", encodeWelcomeFrame({ keyPackage: announced }));
    await c.sim.runFor(FAST_GROUP_PARAMS.keyPackageResendMs);
  }
  for (const m of c.members.values()) {
    assert.ok(m.roster().includes("j"), `${m.name} still has the joiner`);
    assert.equal(m.group.state.pendingRejoins.size, 0, `${m.name} proposes no removal`);
  }
  assert.equal(c.epochOf("m0"), epoch, "no epoch passed: nothing was committed");
});
