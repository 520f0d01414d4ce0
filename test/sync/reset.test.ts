// Hard reset (docs/spec/recovery.md, section 7) under lost and forged Welcomes: a small group split three ways, reset for
// real on the simulator, then fed reset Welcomes under the old group's sync key.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { threeWaySplit } from "../../src/cli/scenarios.ts";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { commit, createGroup, generateKeyPackages } from "../../src/mls/index.ts";
import { Cluster } from "../../src/node/cluster.ts";
import type { Member } from "../../src/node/member.ts";
import { FAST_SYNC_PARAMS, RESET_WELCOME_REPEATS } from "../../src/sync/params.ts";
import { operatorRank, resetGroupId } from "../../src/sync/reset-ids.ts";
import { certificateOf } from "../../src/sync/reset-proof.ts";
import { signWelcome } from "../../src/sync/reset-welcome.ts";
import { keyIdOf, seal } from "../../src/sync/seal.ts";
import { encodeSyncPayload, type SyncPayload } from "../../src/sync/wire.ts";
import { runUntilSettled } from "../../src/testing.ts";
import { compareBytes, fromHex, toHex, utf8 } from "../../src/util/bytes.ts";

const N = 6;

/** Forms N members, splits them 2/2/2, lets every side commit, heals; `down` stays crashed throughout. */
async function resetGroup(
  down?: string,
): Promise<{ c: Cluster; oldKey: Uint8Array; oldGroupId: Uint8Array }> {
  const c = new Cluster({ seed: 5, groupParams: FAST_GROUP_PARAMS, syncParams: FAST_SYNC_PARAMS });
  await c.form(N);
  const m0 = c.members.get("m0")!;
  const oldKey = m0.group.state.syncKey!.key;
  const oldGroupId = m0.group.group!.groupId;
  const sides = threeWaySplit([...c.members.keys()]);
  c.sim.partition(sides);
  for (const side of sides) await c.members.get(side[0]!)!.proposeRefresh();
  await c.sim.runFor(8_000);
  if (down) c.sim.crash(down);
  c.sim.heal();
  const reset = (m: Member) => m.group.group && compareBytes(m.group.group.groupId, oldGroupId) !== 0;
  for (let t = 0; t < 60 && ![...c.members.values()].filter((m) => m.name !== down).every(reset); t++)
    await c.sim.runFor(1_000);
  for (const m of c.members.values())
    if (m.name !== down) assert.ok(reset(m), `${m.name} is in the new group`);
  return { c, oldKey, oldGroupId };
}

/** Publishes a sync payload from `from`, sealed under `key` (a peer that can seal but lies). */
async function inject(c: Cluster, from: string, key: Uint8Array, payload: SyncPayload): Promise<void> {
  const topic = c.members.get(from)!.group.topics.sync;
  await c.sim
    .node(from)
    .transport.publish(topic, seal(key, encodeSyncPayload(payload), c.sim.node(from).rng, utf8(topic)));
}

describe("hard reset Welcomes", () => {
  it("after a reset the old key still opens reset traffic; an operator off the roster or not the group's creator is refused", async () => {
    const { c, oldKey, oldGroupId } = await resetGroup();
    const round = c.members.get("m1")!.sync.state.reset!;
    const before = [...c.distinctStates()];
    const repeats = [...c.members.values()].reduce(
      (a, m) => a + (m.sync.state.counters.RESET_WELCOME_REPEATED ?? 0),
      0,
    );
    assert.equal(repeats, 0, "a reset without loss repeats no Welcome");

    // A Welcome naming someone outside the roster as its operator.
    await inject(c, "m2", oldKey, {
      resetWelcome: {
        proposalId: round.id,
        groupId: round.groupId,
        operator: utf8("stranger"),
        welcome: new Uint8Array([1, 2, 3]),
        votes: [],
      },
    });
    await c.sim.runFor(500);
    for (const m of c.members.values())
      if (m.name !== "m2")
        assert.equal(m.sync.state.counters.RESET_UNKNOWN_OPERATOR, 1, `${m.name} read it and refused it`);

    // m2 builds a group of its own with the reset's id and Welcomes everyone, naming the real operator as
    // its creator. A member in the group ignores a Welcome that ranks no better than its own; one that
    // joined a worse-ranked operator's group (at its first epoch still) takes the better operator's, and
    // must see that the named operator did not create this one.
    const m1 = c.members.get("m1")!;
    const m2 = c.members.get("m2")!;
    const r1 = m1.sync.state.reset!;
    const operator = r1.joinedVia!;
    r1.joinedVia = toHex(m2.group.memberId); // as if m1 had joined m2's (worse-ranked) group
    const [own] = await generateKeyPackages(m2.group.identity, 1);
    const built = await commit(await createGroup(m2.group.identity, resetGroupId(oldGroupId), own!), {
      adds: [...round.votes].filter(([w]) => w !== toHex(m2.group.memberId)).map(([, v]) => v.keyPackage!),
    });
    const forged = {
      proposalId: round.id,
      groupId: round.groupId,
      operator: fromHex(operator),
      welcome: built.welcome!,
      parentKeyId: keyIdOf(oldKey),
      // The round's real certificate: m2 holds every vote of it.
      ...certificateOf(m2.sync.state.reset!),
    };
    // Signed by m2, it is not the named operator's word.
    await inject(c, "m2", oldKey, { resetWelcome: await signWelcome(m2.group.identity, forged) });
    await c.sim.runFor(500);
    assert.equal(m1.sync.state.counters.INVALID_SIGNATURE, 1, "m1 refused m2's signature for the operator");
    // Signed by the named operator itself (an operator passing off a group it did not create).
    const named = [...c.members.values()].find((m) => toHex(m.group.memberId) === operator)!;
    await inject(c, "m2", oldKey, { resetWelcome: await signWelcome(named.group.identity, forged) });
    await c.sim.runFor(500);
    assert.equal(m1.sync.state.counters.RESET_NOT_OPERATOR, 1, "m1 joined it, saw m2 at leaf 0, refused it");
    assert.deepEqual([...c.distinctStates()], before, "nobody moved");
  });

  it("the operator repeats its Welcome for a member not heard from, at most RESET_WELCOME_REPEATS times, forged Welcomes or not", async () => {
    const { c, oldKey } = await resetGroup("m5");
    const operator = [...c.members.values()].find(
      (m) => m.sync.state.reset?.joinedVia === toHex(m.group.memberId),
    )!;
    const round = operator.sync.state.reset!;
    // Forged Welcomes from worse-ranked operators ask for a repeat each: they cannot push it past the budget.
    const other = c.members.get(operator.name === "m1" ? "m2" : "m1")!;
    for (let i = 0; i < 40; i++) {
      await inject(c, other.name, oldKey, {
        resetWelcome: await signWelcome(other.group.identity, {
          proposalId: round.id,
          groupId: round.groupId,
          operator: other.group.memberId,
          welcome: new Uint8Array([i]),
          parentKeyId: keyIdOf(oldKey),
          ...certificateOf(round),
        }),
      });
      await c.sim.runFor(250);
    }
    await c.sim.runFor(20_000);
    assert.equal(operator.sync.state.counters.RESET_WELCOME_REPEATED, RESET_WELCOME_REPEATS);
  });

  it("a member of a worse operator's group takes the better operator's Welcome at any epoch, in sync too; a Welcome no better than its own operator's, or one while no competing group is heard, changes nothing", async () => {
    const { c } = await resetGroup();
    const members = [...c.members.values()];
    const operator = members.find((m) => m.sync.state.reset?.joinedVia === toHex(m.group.memberId))!;
    const round = operator.sync.state.reset!;
    const welcome = round.repeat!.payload;
    // The group moves on, past the first epoch where a Welcome used to be the only way in.
    await c.members.get("m0")!.proposeRefresh();
    assert.notEqual(await runUntilSettled(c, { timeoutMs: 30_000 }), null);
    await c.members.get("m1")!.proposeRefresh();
    assert.notEqual(await runUntilSettled(c, { timeoutMs: 30_000 }), null);
    const epoch = c.epochOf("m0");
    assert.ok(epoch >= 3n, `epoch ${epoch}`);
    // By rank against the operator's: one member as if it had entered a worse operator's group of the
    // round, one as if a better one's; the others entered the operator's.
    const rank = (m: Member) => operatorRank(toHex(m.group.memberId), round);
    const others = members.filter((m) => m !== operator);
    const worse = others.find((m) => compareBytes(rank(m), rank(operator)) > 0)!;
    const better = others.find((m) => compareBytes(rank(m), rank(operator)) < 0);
    const inWorse = others.find((m) => m !== worse && m !== better)!;
    const inOwn = others.filter((m) => m !== worse && m !== better && m !== inWorse);
    inWorse.sync.state.joinedRound!.joinedVia = toHex(worse.group.memberId);
    let inBetter: Member | undefined;
    if (better) {
      inBetter = inOwn.pop()!;
      inBetter.sync.state.joinedRound!.joinedVia = toHex(better.group.memberId);
    }
    for (const m of members) assert.equal(m.status, "IN_SYNC", m.name);
    // Replayed while nobody is heard in a competing group of the id: a certificate never expires, and the
    // group is in sync: nobody moves.
    const key = operator.group.state.syncKey!.key;
    await inject(c, operator.name, key, { resetWelcome: welcome });
    await c.sim.runFor(1_000);
    assert.equal(inWorse.sync.state.counters.RESET_COMPETING_REPLACED, undefined, "no competing group seen");
    // A member other than the operator heard (signed, lately) at a state our history forks from: the
    // competing group is alive. (Set as the member's view: the gossip that brings it is tested elsewhere.)
    const witness = inOwn[0]!;
    const before = inWorse.group.group!;
    inWorse.sync.state.views.set(toHex(witness.group.memberId), {
      epoch: before.epoch,
      fingerprint: new Uint8Array(32).fill(7),
      ancestry: [],
      receivedAt: c.now,
      groupId: toHex(before.groupId),
    });
    await inject(c, operator.name, key, { resetWelcome: welcome });
    await c.sim.runFor(200);
    assert.equal(inWorse.sync.state.counters.RESET_COMPETING_REPLACED, 1, `${inWorse.name} took it`);
    for (const m of [...inOwn, ...(inBetter ? [inBetter] : [])])
      assert.equal(m.sync.state.counters.RESET_COMPETING_REPLACED, undefined, `${m.name} ignored it`);
    // In the operator's group at its first epoch (a member of a really competing group catches up from
    // there: its states were on another chain; churn seeds 288 and 451 in test/cli/chaos.test.ts).
    const g = inWorse.group.group!;
    assert.equal(g.epoch, 1n);
    assert.deepEqual(
      g.history[0]!.fingerprint,
      operator.group.group!.history.find((h) => h.epoch === 1n)?.fingerprint,
    );
    for (const m of others) if (m !== inWorse) assert.equal(c.epochOf(m.name), epoch, m.name);
  });
});
