// A member removed on the majority's branch while it was forked on a side of its own never applied its
// removal, and reads none of the keys the removal rotated to: members that removed it lately answer its
// gossip under its key, so it sees the majority's branch, re-aligns and applies the removal (chaos churn
// 1469: two members removed while forked together went on alone for good, UNKNOWN).
import assert from "node:assert/strict";
import { it } from "node:test";
import { AUTO_YES } from "../../src/group/vote-policy.ts";
import { Cluster } from "../../src/node/cluster.ts";

async function until(c: Cluster, ok: () => boolean, ms = 60_000): Promise<boolean> {
  for (const end = c.now + ms; !ok(); await c.sim.runFor(250)) if (c.now > end) return false;
  return true;
}

it("a member removed while forked on its own side learns its removal once the split heals", async () => {
  const c = new Cluster({ seed: 71, votePolicy: { remove: AUTO_YES } });
  await c.bootstrap(5);
  const four = ["m0", "m1", "m2", "m3"];
  const m4 = c.members.get("m4")!;
  c.sim.partition([four, ["m4"]]);
  // m4 commits alone (a refresh passes at the timeout), so it is forked, not merely behind.
  const start = c.epochOf("m4");
  await m4.proposeRefresh();
  assert.ok(await until(c, () => c.epochOf("m4") > start), "m4 committed on its side");
  await c.members.get("m0")!.proposeRemove("m4");
  assert.ok(
    await until(c, () => four.every((n) => !c.members.get(n)!.roster().includes("m4"))),
    "m4 removed",
  );
  c.sim.heal();
  assert.ok(await until(c, () => m4.status === "REMOVED"), `m4 is ${m4.status}, not REMOVED`);
  assert.ok(await until(c, () => four.every((n) => c.members.get(n)!.status === "IN_SYNC")));
});
