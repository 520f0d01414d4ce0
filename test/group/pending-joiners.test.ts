// Joiners' KeyPackages queued for an add go stale when what we know of the group moves past them: a
// KeyPackage queued before its member left our roster, and what a member queued before it entered a
// group by Welcome, are dropped (chaos churn 1713: a leaver re-added from its old rejoin KeyPackage by a
// member that queued it in the group before a reset stayed in the roster, out by its own word).
import assert from "node:assert/strict";
import { it } from "node:test";
import { AUTO_YES } from "../../src/group/vote-policy.ts";
import { createIdentity, generateKeyPackages } from "../../src/mls/index.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";

const hex = (name: string) => toHex(utf8(name));

async function until(c: Cluster, ok: () => boolean, ms = 60_000): Promise<void> {
  for (const end = c.now + ms; !ok(); await c.sim.runFor(100))
    if (c.now > end) throw new Error(`timed out: ${JSON.stringify([...c.distinctStates()])}`);
}

it("a KeyPackage queued before its member left is dropped with the leave: the leaver is not re-added from it", async () => {
  // Every kind of change passes at once: a re-add from the old KeyPackage would go through.
  const c = new Cluster({ seed: 61, votePolicy: { add: AUTO_YES, remove: AUTO_YES, readmit: AUTO_YES } });
  await c.bootstrap(5);
  const m4 = c.members.get("m4")!;
  // m4's KeyPackage, as a member queues it from an announcement (a rejoin of m4 on another branch).
  const [kp] = await generateKeyPackages(m4.group.core.identity, 1, { lastResort: true });
  const others = [...c.members.values()].filter((m) => m !== m4);
  for (const m of others)
    m.group.state.pendingKeyPackages.set(hex("m4"), {
      bytes: kp!.publicBytes,
      epoch: m.group.group!.epoch,
      seenAt: c.now,
    });
  await m4.leave();
  await until(c, () => others.every((m) => !m.roster().includes("m4")));
  for (const m of others)
    assert.equal(m.group.state.pendingKeyPackages.has(hex("m4")), false, `${m.name} dropped m4's KeyPackage`);
  await c.sim.runFor(20_000);
  for (const m of others) assert.ok(!m.roster().includes("m4"), `${m.name}: m4 stays out`);
});

it("a member entering a group by Welcome drops the KeyPackages it queued before", async () => {
  const c = new Cluster({ seed: 62 });
  await c.bootstrap(3);
  const j = await c.add("j0", "joiner");
  // A KeyPackage it queued in a group it was in before (it had no way to learn of that member's leave).
  const [kp] = await generateKeyPackages(await createIdentity("x9"), 1);
  j.group.state.pendingKeyPackages.set(hex("x9"), { bytes: kp!.publicBytes, epoch: 0n, seenAt: c.now });
  await until(c, () => j.group.group !== undefined);
  assert.equal(j.group.state.pendingKeyPackages.size, 0);
});
