// Membership changes need the applications' consent under the default vote policy: an insider with a
// valid key cannot remove honest members (its removals are refused in the vote, and its commit of them
// is refused at selection); a removed member that asks to come back (after a restart, as over TCP) is
// re-added only once the applications vote YES, and then gets none of the chats sent while it was out;
// a member's own rejoin (its signed request) passes with no application voting.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { GroupCore } from "../../src/group/state.ts";
import { AUTO_YES, DEFAULT_VOTE_POLICY, votePolicyOf } from "../../src/group/vote-policy.ts";
import { Cluster } from "../../src/node/cluster.ts";
import type { Member } from "../../src/node/member.ts";

const name = (id: Uint8Array) => new TextDecoder().decode(id);

async function until(c: Cluster, ok: () => boolean, ms = 60_000): Promise<void> {
  for (const end = c.now + ms; !ok(); await c.sim.runFor(100))
    if (c.now > end) throw new Error(`timed out: ${JSON.stringify([...c.distinctStates()])}`);
}

it("an insider's removals of honest members fail under the default policy: they stay, the group chats on", async () => {
  const c = new Cluster({ seed: 51, votePolicy: DEFAULT_VOTE_POLICY });
  await c.bootstrap(6);
  const all = [...c.members.keys()].sort();
  // The insider is the epoch steward, so that it can commit what it proposes; it runs a policy under
  // which its own removals pass at the timeout (silent voters count YES) and then commits them.
  const insider = c.members.get(name(c.members.get("m0")!.group.stewards(0)[0]!))!;
  (insider.group.core as { policy: GroupCore["policy"] }).policy = votePolicyOf({ remove: AUTO_YES });
  const honest = [...c.members.values()].filter((m) => m !== insider);
  const asked = new Map<string, string[]>();
  for (const m of honest) m.on("proposal", (p) => asked.set(m.name, [...(asked.get(m.name) ?? []), p.kind]));
  const targets = honest.slice(0, 3).map((m) => m.name);
  for (const t of targets) await insider.proposeRemove(t);
  await c.sim.runFor(20_000);

  for (const m of honest) {
    assert.deepEqual(m.roster().sort(), all, `${m.name} still has everyone`);
    assert.deepEqual(asked.get(m.name), ["remove", "remove", "remove"], `${m.name}'s application was asked`);
    assert.deepEqual(m.pendingProposals(), [], "decided NO at the timeout: silence is no consent");
  }
  assert.ok(insider.group.state.counters.UNAPPROVED_CHANGE === undefined, "the insider took its own commit");
  assert.ok(
    honest.some((m) => (m.group.state.counters.UNAPPROVED_CHANGE ?? 0) > 0),
    "the insider's commit of the removals was refused at selection",
  );
  const from = honest.at(-1)!.name;
  await c.chat(from, "still here");
  await until(c, () =>
    honest.every((m) => m.name === from || c.chats.received.get(m.name)?.includes("still here")),
  );
  const epoch = c.epochOf(from);
  await c.members.get(from)!.proposeRefresh();
  await until(c, () => honest.every((m) => c.epochOf(m.name) > epoch));
  // The insider, alone on its own commit, steps back to the group's state.
  await until(c, () => c.distinctStates().size === 1);
});

/** Every member of `voters` votes `yes` on the one proposal waiting for it, once it has one. */
async function voteAll(c: Cluster, voters: readonly Member[], yes: boolean, kind: string): Promise<void> {
  await until(c, () => voters.every((m) => m.pendingProposals().some((p) => p.kind === kind)));
  for (const m of voters) await m.vote(m.pendingProposals().find((p) => p.kind === kind)!.id, yes);
}

for (const refreshes of [0, 5]) {
  const path = refreshes === 0 ? "a young group: re-sends everything" : "re-sends recent chats";
  it(`a removed member asking back is re-added only on the applications' YES, with none of the chats sent while it was out (${path})`, async () => {
    const c = new Cluster({
      seed: 52 + refreshes,
      votePolicy: DEFAULT_VOTE_POLICY,
      persist: (n) => n === "m3",
    });
    await c.bootstrap(4);
    const [m0, m1, m2, m3] = ["m0", "m1", "m2", "m3"].map((n) => c.members.get(n)!) as Member[];
    for (let i = 0; i < refreshes; i++) {
      const epoch = c.epochOf("m0");
      await m0!.proposeRefresh();
      await until(c, () => c.distinctStates().size === 1 && c.epochOf("m0") > epoch);
    }
    await c.chat("m1", "before");
    await until(c, () => c.chats.received.get("m3")?.includes("before") === true);
    const left: string[] = [];
    m3!.on("memberLeft", ({ member }) => left.push(member));
    await m0!.proposeRemove("m3");
    await voteAll(c, [m1!, m2!], true, "remove");
    await until(c, () => [m0!, m1!, m2!].every((m) => m.roster().length === 3));
    await c.chat("m0", "while out 1");
    await c.chat("m2", "while out 2");

    // As over TCP: the removed member restarts from its store, then asks to rejoin.
    await until(c, () => left.includes("m3"));
    await c.reload("m3");
    const back = c.members.get("m3")!;
    await back.requestRejoin();
    const members = [m0!, m1!, m2!];
    await until(c, () => members.every((m) => m.pendingProposals().length > 0));
    for (const m of members)
      assert.deepEqual(
        m.pendingProposals().map((p) => [p.kind, p.target]),
        [["readmit", "m3"]],
        `${m.name}'s application is asked`,
      );
    // Nobody answers: the consensus timeout decides NO, and m3 stays out.
    await c.sim.runFor(10_000);
    for (const m of members) {
      assert.deepEqual(m.roster().sort(), ["m0", "m1", "m2"], `${m.name}: not re-added without a vote`);
      assert.deepEqual(m.pendingProposals(), []);
    }
    assert.equal(back.group.group, undefined, "m3 waits for a Welcome");

    // Its request is proposed again once the refused proposal expired: now the applications say YES.
    await voteAll(c, members, true, "readmit");
    await until(c, () => c.distinctStates().size === 1 && back.roster().length === 4);
    await c.chat("m1", "after");
    await until(c, () => c.chats.received.get("m3")?.includes("after") === true);
    await c.sim.runFor(5_000);
    assert.deepEqual(c.chats.received.get("m3"), ["before", "after"], "nothing sent while it was out");
  });
}

it("a member's own rejoin passes under the default policy with no application voting: its stale leaf goes, it comes back", async () => {
  const c = new Cluster({ seed: 58, votePolicy: DEFAULT_VOTE_POLICY });
  await c.bootstrap(4);
  const asked: string[] = [];
  for (const m of c.members.values()) m.on("proposal", (p) => asked.push(`${m.name}: ${p.kind}`));
  const start = c.epochOf("m0");
  await c.members.get("m3")!.requestRejoin();
  await until(c, () => c.epochOf("m0") >= start + 2n && c.distinctStates().size === 1);
  assert.deepEqual(c.members.get("m0")!.roster().sort(), ["m0", "m1", "m2", "m3"]);
  assert.deepEqual(asked, [], "nobody's application was asked");
});
