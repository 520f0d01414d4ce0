// Catch-up answers are bounded in size, and what a member serves is the chain it is on.
import assert from "node:assert/strict";
import { it } from "node:test";
import { Cluster } from "../../src/node/cluster.ts";
import { Insider } from "../../src/node/insider.ts";
import type { Member } from "../../src/node/member.ts";
import type { SyncCode } from "../../src/sync/codes.ts";
import { FAST_SYNC_PARAMS } from "../../src/sync/params.ts";
import { seal } from "../../src/sync/seal.ts";
import { encodeSyncPayload } from "../../src/sync/wire.ts";
import { utf8 } from "../../src/util/bytes.ts";

/** Splits `c` into `sides`, lets each listed side commit `epochs` key refreshes, chats, then heals. */
async function splitCommitHeal(c: Cluster, sides: string[][], committing: string[][], epochs: number) {
  c.sim.partition(sides);
  for (const side of sides) await c.chat(side[0]!, `${side[0]} during split`);
  for (let e = 0; e < epochs; e++) {
    const before = committing.map((side) => c.epochOf(side[0]!));
    for (const side of committing) await c.members.get(side[e % side.length]!)!.proposeRefresh();
    for (let t = 0; t < 40 && committing.some((side, i) => c.epochOf(side[0]!) <= before[i]!); t++)
      await c.sim.runFor(500);
  }
  await c.sim.runFor(2000);
  c.sim.heal();
}

async function untilConverged(c: Cluster, maxMs = 60_000): Promise<void> {
  for (let t = 0; t < maxMs / 500; t++) {
    await c.sim.runFor(500);
    if (c.distinctStates().size === 1 && c.missingChats().size === 0) return;
  }
}

/** Five members; m4 cut off while the others commit 3 epochs, then healed, converged and its own catch-up over. */
async function caughtUpAfterThree(c: Cluster): Promise<{ four: string[]; m4: Member }> {
  await c.form(5);
  const four = ["m0", "m1", "m2", "m3"];
  await splitCommitHeal(c, [four, ["m4"]], [four], 3);
  await untilConverged(c);
  // m4's own catch-up is answered as it converges: let that throttling window pass first.
  await c.sim.runFor(FAST_SYNC_PARAMS.catchUpRetryMs);
  return { four, m4: c.members.get("m4")! };
}

it("a catch-up bigger than catchUpMaxBytes comes in several answers, asked for one after another", async () => {
  const recovered: number[] = [];
  const c = new Cluster({
    seed: 7,
    // One commit per answer.
    syncParams: { ...FAST_SYNC_PARAMS, catchUpMaxBytes: 1 },
    onEvent: (e, m) => {
      if (e.type === "recovered" && m.name === "m4") recovered.push(e.epochs);
    },
  });
  await c.form(5);
  const from = c.epochOf("m4");
  const four = ["m0", "m1", "m2", "m3"];
  await splitCommitHeal(c, [four, ["m4"]], [four], 6);
  await untilConverged(c);
  assert.deepEqual([...c.distinctStates().values()], [[...four, "m4"]]);
  assert.deepEqual([...c.missingChats()], [], "nothing lost");
  const missed = Number(c.epochOf("m0") - from);
  assert.ok(missed >= 6);
  assert.ok(recovered.length >= 2, `several answers: ${recovered}`);
  assert.ok(
    recovered.every((n) => n === 1),
    `each answer held one commit: ${recovered}`,
  );
  const sent = c.members.get("m4")!.sync.state.counters.CATCH_UP_SENT ?? 0;
  assert.ok(
    sent >= recovered.length,
    `one request per answer: ${sent} requests, ${recovered.length} answers`,
  );
});

it("after re-aligning, a member's commit log holds only the majority's chain (what it serves to others)", async () => {
  const c = new Cluster({ seed: 11 });
  await c.form(5);
  const three = ["m0", "m1", "m2"];
  const two = ["m3", "m4"];
  await splitCommitHeal(c, [three, two], [three, two], 2);
  await untilConverged(c);
  assert.equal(c.distinctStates().size, 1, "one state");
  for (const name of two) {
    const m = c.members.get(name)!;
    assert.ok((m.sync.state.counters.CATCH_UP_SENT ?? 0) > 0, `${name} re-aligned by catch-up`);
    const epochs = m.group.state.commitLog.map((e) => e.epoch);
    assert.deepEqual(
      epochs,
      [...new Set(epochs)].sort((a, b) => (a < b ? -1 : 1)),
      `${name}: one commit per epoch`,
    );
  }
  // Every member's log is the same chain: the same commit bytes at every epoch they share.
  const byEpoch = new Map<bigint, string>();
  for (const m of c.members.values())
    for (const e of m.group.state.commitLog) {
      const hex = Buffer.from(e.commit).toString("hex");
      assert.equal(byEpoch.get(e.epoch) ?? hex, hex, `${m.name}: epoch ${e.epoch} is the majority's commit`);
      byEpoch.set(e.epoch, hex);
    }
});

it("a flood of catch-up requests gets one answer per requester per half retry; unknown requesters none", async () => {
  const c = new Cluster({ seed: 5 });
  await c.form(5);
  const holders = ["m1", "m2", "m3"];
  // m4 lags by 3 epochs; its requests (signed by m4: docs/spec/recovery.md, section 5) reach the
  // holders through m0, as do those of a member nobody knows.
  c.sim.partition([["m0", ...holders], ["m4"]]);
  for (let e = 0; e < 3; e++) {
    const before = c.epochOf("m0");
    await c.members.get(holders[e]!)!.proposeRefresh();
    for (let t = 0; t < 40 && c.epochOf("m0") <= before; t++) await c.sim.runFor(500);
  }
  await c.sim.runFor(2_000);
  const m4 = new Insider(c, "m4");
  const courier = new Insider(c, "m0");
  const g = c.members.get("m0")!.group.group!;
  const from = m4.member.group.group!.epoch;
  assert.equal(g.epoch - from, 3n);
  const served = () =>
    holders.reduce((a, n) => a + (c.members.get(n)!.sync.state.counters.CATCH_UP_SERVED ?? 0), 0);
  const dropped = (code: SyncCode) =>
    holders.reduce((a, n) => a + (c.members.get(n)!.sync.state.counters[code] ?? 0), 0);
  const before = served();
  // 20 requests for the 3 epochs in 1 s, fresh nonces, as m4 and as a member nobody knows.
  for (let i = 0; i < 20; i++) {
    for (const memberId of [m4.member.group.memberId, utf8("mallory")]) {
      const catchUp = await m4.signCatchUp({
        groupId: g.groupId,
        memberId,
        fromEpoch: from,
        targetEpoch: g.epoch,
        target: g.fingerprint,
        nonce: new Uint8Array(8).fill(i),
      });
      await courier.send("sync", m4.sealSync({ catchUp }), { to: holders });
    }
    await c.sim.runFor(50);
  }
  await c.sim.runFor(1000);
  const answers = served() - before;
  // Half the retry interval is 750 ms: at most two windows in the 1 s of requests, and each holder answers
  // a requester at most once per window (which holders answer depends on each request's nonce).
  assert.ok(answers >= 1 && answers <= 2 * holders.length, `answers: ${answers}`);
  for (const n of holders)
    assert.ok(
      (c.members.get(n)!.sync.state.counters.CATCH_UP_SERVED ?? 0) <= 2,
      `${n} answered at most twice`,
    );
  assert.ok(dropped("CATCH_UP_THROTTLED") >= 3 * 20 - 6, `throttled: ${dropped("CATCH_UP_THROTTLED")}`);
  assert.ok(dropped("UNKNOWN_MEMBER") >= 3 * 20, "a requester outside our rosters is not answered");
  assert.equal(c.distinctStates().size, 2, "nobody moved");
});

it("a member that missed a rotation of the sync key still hears the others under its key and ends IN_SYNC", async () => {
  const c = new Cluster({ seed: 13 });
  await c.form(5);
  const four = ["m0", "m1", "m2", "m3"];
  c.sim.partition([four, ["m4"]]);
  for (let t = 0; t < 20 && c.epochOf("m0") === c.epochOf("m4"); t++) {
    if (t === 0) await c.members.get("m1")!.proposeRefresh();
    await c.sim.runFor(500);
  }
  // The four rotate the sync key, as at a removal commit m4 did not get; m4 holds only the old key.
  const rotated = new Uint8Array(32).fill(7);
  for (const name of four) {
    const s = c.members.get(name)!.group.state;
    s.previousSyncKeys = [s.syncKey!.key, ...s.previousSyncKeys].slice(0, 3);
    s.syncKey = { anchorEpoch: c.epochOf(name), key: rotated };
  }
  c.sim.heal();
  await c.chat("m0", "after the rotation");
  const m4 = c.members.get("m4")!;
  await untilConverged(c);
  await c.sim.runFor(10_000);
  assert.ok(
    (m4.sync.state.counters.UNKNOWN_KEY ?? 0) > 0,
    "the others' gossip under the new key was unreadable",
  );
  assert.deepEqual([...c.distinctStates().values()], [[...four, "m4"]]);
  assert.equal(m4.sync.state.status, "IN_SYNC", "m4 still reads the others' state (sent under its key too)");
  assert.deepEqual([...c.missingChats()], []);
});

it("an answer to our request that others' answers overtook is ignored: no step back, no rejoin", async () => {
  // At 1000 members an answer holds one 83 KB commit, and answers heard to other members' requests can
  // carry a member two epochs or more past the epoch its own request asked from before its answer comes.
  let watching = false;
  const moved: string[] = [];
  const c = new Cluster({
    seed: 5,
    onEvent: (e, m) => {
      if (watching && m.name === "m4" && (e.type === "recovered" || e.type === "epoch")) moved.push(e.type);
    },
  });
  const { m4 } = await caughtUpAfterThree(c);
  const g = m4.group.group!;
  const at = g.epoch;
  // m4 asked from two epochs back and has moved on since; the answer (one commit) comes now.
  const nonce = new Uint8Array(8).fill(7);
  m4.sync.state.catchUp = { nonce, sentAt: c.sim.now, epoch: at + 1n, fingerprint: g.fingerprint };
  const old = c.members.get("m0")!.group.state.commitLog.find((e) => e.epoch === at - 2n)!;
  const commits = {
    groupId: g.groupId,
    responder: c.members.get("m0")!.group.memberId,
    nonce,
    commits: [{ epoch: old.epoch, commit: old.commit, fingerprintAfter: old.fingerprintAfter }],
  };
  const node = c.sim.node("m0");
  const topic = m4.group.topics.sync;
  const key = m4.group.state.syncKey!.key;
  watching = true;
  await node.transport.publish(topic, seal(key, encodeSyncPayload({ commits }), node.rng, utf8(topic)));
  await c.sim.runFor(500);
  // Before: m4 rewound to the epoch after that commit, then forward again through answers it had heard.
  assert.deepEqual(moved, [], "m4 neither stepped back nor had to catch up again");
  assert.equal(m4.group.group!.epoch, at);
  assert.equal(m4.sync.state.counters.FORK_BEYOND_RETAINED ?? 0, 0, "no rejoin");
  assert.equal(c.distinctStates().size, 1);
});
