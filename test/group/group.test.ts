import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decide, mayDecideEarly } from "../../src/group/consensus.ts";
import type { GroupCode } from "../../src/group/errors.ts";
import type { Vote } from "../../src/group/frames.ts";
import { DEFAULT_GROUP_PARAMS, FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { AUTO_YES } from "../../src/group/vote-policy.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { DEFAULT_SYNC_PARAMS } from "../../src/sync/params.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";
import { injectPayload } from "./inject.ts";

/** Runs until every member is in one state at `minEpoch` or later with every chat delivered. */
async function settle(c: Cluster, minEpoch = 0n, ms = 30_000): Promise<void> {
  const end = c.sim.now + ms;
  while (c.sim.now < end) {
    await c.sim.runFor(500);
    if (c.distinctStates().size === 1 && c.epochOf("m0") >= minEpoch && c.missingChats().size === 0) return;
  }
}

describe("de-MLS group", () => {
  it("decision rule: 2n/3 quorum, silent voters on the liveness side, ties to it, n <= 2 unanimous", () => {
    assert.equal(decide(9, 6, 0, false), "YES");
    assert.equal(decide(9, 5, 0, false), "PENDING"); // fewer than 6 votes
    assert.equal(decide(9, 5, 0, true), "YES"); // 4 silent count as YES
    assert.equal(decide(9, 3, 4, false), "PENDING"); // 3 + 2 silent < 6, and 4 < 6
    assert.equal(decide(9, 3, 4, false, false), "NO"); // silence on the NO side: 4 + 2 >= 6 > 3
    assert.equal(decide(3, 1, 1, false), "YES"); // the silent one counts YES before the timeout too
    assert.equal(decide(4, 2, 2, false), "YES"); // a tie with every vote in goes to the liveness side
    assert.equal(decide(4, 2, 2, false, false), "NO");
    assert.equal(decide(2, 1, 0, false), "PENDING");
    assert.equal(decide(2, 1, 0, true), "NO"); // n <= 2: every vote needed; the timeout fails it
    assert.equal(decide(2, 1, 1, true), "NO");
    // The vote counts at which a member looks again before the timeout: from the quorum on.
    assert.deepEqual(
      [5, 6, 7, 8, 9].map((v) => mayDecideEarly(9, v)),
      [false, true, true, true, true],
    );
    assert.deepEqual([mayDecideEarly(2, 1), mayDecideEarly(2, 2)], [false, true]);
  });

  it("1 creator + 9 joiners through votes; key refreshes and a removal; one state, every chat delivered", async () => {
    // The removal passes without the applications' votes: a policy the group opts into.
    const c = new Cluster({ seed: 11, votePolicy: { remove: AUTO_YES } });
    await c.form(10);
    assert.equal(c.distinctStates().size, 1);
    for (let e = 0; e < 3; e++) {
      const before = c.epochOf("m0");
      await c.members.get(`m${e}`)!.proposeRefresh();
      await c.chat(`m${e + 3}`, `chat ${e}`);
      await settle(c, before + 1n);
      assert.equal(c.distinctStates().size, 1, JSON.stringify([...c.distinctStates()]));
      assert.ok(c.epochOf("m0") > before, "a new epoch");
    }
    await c.members.get("m1")!.proposeRemove("m9");
    await c.sim.runFor(10_000);
    const states = [...c.distinctStates()];
    const inGroup = states.filter(([, v]) => !v.includes("m9"));
    assert.equal(inGroup.length, 1, JSON.stringify(states));
    assert.equal(inGroup[0]![1].length, 9, "m9 was removed by the vote");
    assert.deepEqual([...c.missingChats()], []);
    assert.equal(c.duplicateChats(), 0);
  });

  it("a member killed at a random point restarts from sqlite with nothing lost and nothing applied twice", async () => {
    for (const seed of [1, 2]) {
      const c = new Cluster({ seed, persist: true });
      await c.form(5);
      const crashAt = c.sim.now + 200 + c.sim.rng.int(2000);
      c.crash("m2", crashAt, crashAt + 3000);
      const before = c.epochOf("m0");
      await c.members.get("m0")!.proposeRefresh();
      await c.chat("m1", `before crash ${seed}`);
      await c.sim.runFor(1500);
      await c.chat("m3", `around crash ${seed}`);
      await settle(c, before + 1n, 60_000);
      assert.equal(c.distinctStates().size, 1, JSON.stringify([...c.distinctStates()]));
      assert.ok(c.stores.get("m2")!.saves > 0);
      assert.deepEqual([...c.missingChats()], [], `seed ${seed}`);
      assert.equal(c.duplicateChats(), 0);
    }
  });

  it("chat ids are remembered within seenChatLimit, also by a member that only sends", async () => {
    const c = new Cluster({ seed: 5, groupParams: { ...FAST_GROUP_PARAMS, seenChatLimit: 8 } });
    await c.form(2);
    const g = c.members.get("m0")!.group;
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(toHex((await g.sendChat(utf8(`c${i}`), c.now)).id));
    assert.deepEqual([...g.state.seenChats], ids.slice(-8));
  });

  it("forged and non-member votes are rejected, counted, and change nothing", async () => {
    const c = new Cluster({ seed: 5 });
    await c.form(4);
    const m1 = c.members.get("m1")!.group;
    const m0 = c.members.get("m0")!.group;
    await c.members.get("m0")!.proposeRefresh();
    for (let t = 0; t < 40 && m1.state.proposals.size === 0; t++) await c.sim.runFor(25);
    const [id] = [...m1.state.proposals.keys()];
    assert.ok(id);
    // m1 sends a vote claiming to be m2, and one with a bad signature.
    const send = (vote: Vote) => injectPayload(c, "m1", { vote });
    await send({ proposalId: utf8(id), voter: utf8("m2"), yes: false, signature: new Uint8Array(64) });
    await send({ proposalId: utf8(id), voter: utf8("m1"), yes: false, signature: new Uint8Array(64) });
    await c.sim.runFor(1000);
    assert.ok((m0.state.counters.VOTER_MISMATCH ?? 0) >= 1);
    assert.ok((m0.state.counters.INVALID_SIGNATURE ?? 0) >= 1);
    await settle(c);
    assert.equal(c.distinctStates().size, 1);
  });

  it("a vote that arrives after the commit it voted for is late, not rejected, and keeps the voter's chain", async () => {
    const c = new Cluster({ seed: 5 });
    await c.form(7);
    const others = ["m0", "m1", "m2", "m3", "m4", "m5"];
    const group = (id: string) => c.members.get(id)!.group;
    const sum = (code: GroupCode) => others.reduce((n, id) => n + (group(id).state.counters[code] ?? 0), 0);
    // One round everyone votes in, so every member holds m6's vote chain.
    let before = c.epochOf("m0");
    await c.members.get("m0")!.proposeRefresh();
    await settle(c, before + 1n);
    // m6 receives the next proposal, then is cut off before it votes: the six reach 2n/3 and commit alone.
    before = c.epochOf("m0");
    await c.members.get("m1")!.proposeRefresh();
    for (let t = 0; t < 200 && group("m6").state.proposals.size === 0; t++) await c.sim.runFor(1);
    assert.equal(group("m6").state.proposals.size, 1);
    c.sim.partition([others, ["m6"]]);
    for (let t = 0; t < 100 && c.epochOf("m0") === before; t++) await c.sim.runFor(100);
    assert.ok(c.epochOf("m0") > before, "the six committed without m6");
    await c.sim.runFor(100);
    // Healed: SDS brings m6's vote (made in the old epoch) to the six after their commit (resent at once:
    // a split long enough to outlast the vote's resends would lose it, and then nothing is late).
    c.sim.heal();
    await settle(c, before + 1n);
    assert.ok(sum("LATE_VOTE") >= 1, JSON.stringify(group("m0").state.counters));
    assert.equal(sum("UNKNOWN_PROPOSAL"), 0);
    // m6's next vote names its late one as `prev`: no gap in its chain.
    before = c.epochOf("m0");
    await c.members.get("m2")!.proposeRefresh();
    await settle(c, before + 1n);
    assert.equal(c.distinctStates().size, 1);
    assert.equal(sum("VOTE_CHAIN_GAP"), 0);
  });

  it("spec timers: a vote is decided once 2n/3 votes are in, not at the timeout; the joiner is proposed at once and admitted with the sync key", async () => {
    const p = DEFAULT_GROUP_PARAMS;
    const c = new Cluster({ seed: 4, groupParams: p, syncParams: DEFAULT_SYNC_PARAMS });
    await c.bootstrap(6);
    await c.sim.runFor(60_000);
    const e0 = c.epochOf("m0");
    const t0 = c.sim.now;
    await c.members.get("m1")!.proposeRefresh();
    while (c.epochOf("m0") === e0 && c.sim.now < t0 + 300_000) await c.sim.runFor(1_000);
    // Voting delay + commit delay + freeze, plus latency: no 30 s wait for the consensus timeout.
    const epochMs = c.sim.now - t0;
    assert.ok(epochMs <= p.votingDelayMs + p.commitDelayMs + p.freezeMs + 5_000, `epoch took ${epochMs} ms`);
    for (const [, m] of c.members)
      for (const rec of m.group.state.proposals.values())
        assert.ok(rec.decidedAt! - rec.receivedAt < p.consensusTimeoutMs, "decided before the timeout");

    const t1 = c.sim.now;
    await c.add("joiner", "joiner");
    while (c.members.get("m0")!.group.state.proposals.size === 0 && c.sim.now < t1 + 120_000)
      await c.sim.runFor(250);
    const proposed = [...c.members.get("m0")!.group.state.proposals.values()][0]!;
    // The joiner announces at once; the steward proposes on receipt, not at its next timer (up to 30 s).
    assert.ok(
      proposed.receivedAt - t1 < 2_000,
      `proposed ${proposed.receivedAt - t1} ms after the joiner started`,
    );
    // The sync key share sent with the Welcome can arrive before it: the joiner keeps it and reads it then,
    // instead of asking again after a resend interval (30 s).
    const joiner = c.members.get("joiner")!.group;
    while (joiner.state.syncKey === undefined && c.sim.now < t1 + 300_000) await c.sim.runFor(250);
    const admitMs = c.sim.now - t1;
    assert.ok(admitMs <= p.votingDelayMs + p.commitDelayMs + p.freezeMs + 5_000, `admitted in ${admitMs} ms`);
  });

  it("proposals made together are voted in one message; an oversized vote batch is refused", async () => {
    const c = new Cluster({ seed: 9 });
    await c.form(4);
    const m0 = c.members.get("m0")!.group;
    const m1 = c.members.get("m1")!.group;
    const sentBefore = m1.channel!.state.stats.sent;
    const before = c.epochOf("m0");
    // Three proposals in a row, as a steward proposing the removal of several stale leaves makes them.
    for (let i = 0; i < 3; i++) {
      await c.members.get("m0")!.proposeRefresh();
      await c.sim.runFor(1);
    }
    for (let t = 0; t < 40 && m1.state.proposals.size < 3; t++) await c.sim.runFor(25);
    await c.sim.runFor(300);
    assert.equal(m1.channel!.state.stats.sent - sentBefore, 1, "m1 voted on three proposals in one message");
    assert.ok(
      [...m0.state.proposals.values()].every((r) => r.votes.size === 4),
      "m0 counted every vote",
    );
    await settle(c, before + 1n);
    assert.equal(c.distinctStates().size, 1);
    // 65 votes in one message: refused and counted, nothing tallied.
    const id = [...m0.state.proposals.keys()][0];
    const vote: Vote = {
      proposalId: utf8(id ?? "x"),
      voter: utf8("m1"),
      yes: true,
      signature: new Uint8Array(64),
    };
    await injectPayload(c, "m1", {
      votes: Array.from({ length: DEFAULT_GROUP_PARAMS.votesPerMessage + 1 }, () => vote),
    });
    await c.sim.runFor(1000);
    assert.ok((m0.state.counters.OVERSIZED_BATCH ?? 0) >= 1);
    assert.equal(m0.state.counters.INVALID_SIGNATURE ?? 0, 0, "no vote of the batch was looked at");
  });
});
