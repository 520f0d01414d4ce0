// The application votes: a removal waits for `Member.vote` under the default policy (a `proposal` event,
// `pendingProposals()`), its NO keeps the member and its YES removes it; a vote on an unknown or decided
// proposal, or a second vote, is a typed GroupError; a proposal put to the application survives a restart.
import assert from "node:assert/strict";
import { it } from "node:test";
import { GroupError } from "../../src/group/errors.ts";
import { DEFAULT_VOTE_POLICY, votePolicyOf } from "../../src/group/vote-policy.ts";
import { Cluster } from "../../src/node/cluster.ts";
import type { PendingProposal } from "../../src/node/member.ts";

async function until(c: Cluster, ok: () => boolean, ms = 30_000): Promise<void> {
  for (const end = c.now + ms; !ok(); await c.sim.runFor(100)) if (c.now > end) throw new Error("timed out");
}

const refused = (code: string) => (e: unknown) => e instanceof GroupError && e.code === code;

it("the applications' NO keeps a member and their YES removes one; bad votes are typed errors", async () => {
  const c = new Cluster({ seed: 61, votePolicy: DEFAULT_VOTE_POLICY, persist: true });
  await c.bootstrap(4);
  const m = (n: string) => c.members.get(n)!;
  const asked = new Map<string, PendingProposal[]>();
  for (const x of c.members.values())
    x.on("proposal", (p) => asked.set(x.name, [...(asked.get(x.name) ?? []), p]));

  await m("m0").proposeRemove("m3");
  await until(c, () => ["m1", "m2"].every((n) => m(n).pendingProposals().length === 1));
  const p = m("m1").pendingProposals()[0]!;
  assert.deepEqual({ ...p, id: "" }, { id: "", kind: "remove", target: "m3", proposer: "m0" });
  assert.deepEqual(asked.get("m1"), [p], "the `proposal` event named it");
  assert.equal(asked.get("m0"), undefined, "the proposer voted YES when it proposed");
  await assert.rejects(m("m0").vote(p.id, true), refused("DOUBLE_VOTE"));
  await assert.rejects(m("m1").vote("00".repeat(32), true), refused("UNKNOWN_PROPOSAL"));

  // A restart keeps the proposal waiting for m2's application.
  await c.reload("m2");
  assert.deepEqual(m("m2").pendingProposals(), [p]);
  for (const n of ["m1", "m2"]) await m(n).vote(p.id, false);
  await assert.rejects(m("m1").vote(p.id, true), refused("DOUBLE_VOTE"));
  await c.sim.runFor(5_000);
  assert.deepEqual(m("m0").roster().sort(), ["m0", "m1", "m2", "m3"], "NO: m3 stays");
  await assert.rejects(m("m3").vote(p.id, true), refused("SETTLED_PROPOSAL"));

  await m("m0").proposeRemove("m2");
  await until(c, () => ["m1", "m3"].every((n) => m(n).pendingProposals().length === 1));
  for (const n of ["m1", "m3"]) await m(n).vote(m(n).pendingProposals()[0]!.id, true);
  await until(c, () => ["m0", "m1", "m3"].every((n) => m(n).roster().length === 3));
  assert.deepEqual(m("m0").roster().sort(), ["m0", "m1", "m3"], "YES: m2 is removed");
});

it("a vote policy out of range is refused with a typed error", async () => {
  assert.throws(
    () => votePolicyOf({ remove: { vote: "maybe" as "yes", liveness: true } }),
    refused("BAD_PARAMS"),
  );
  assert.throws(
    () => votePolicyOf({ nope: { vote: "yes", liveness: true } } as object),
    refused("BAD_PARAMS"),
  );
  const c = new Cluster({
    seed: 62,
    votePolicy: { add: { vote: "yes", liveness: 1 as unknown as boolean } },
  });
  await assert.rejects(c.bootstrap(2) as Promise<unknown>, refused("BAD_PARAMS"));
});
