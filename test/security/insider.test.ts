// One insider (a member with valid keys) against the rules that bound what it sends, case by case where
// the generated test (bounds.test.ts) cannot reach: a reset attempt at the top of the range followed by a
// real split that must still reset, a catch-up answer to another member's own request, a Welcome for a
// joiner, and counts (a reset roster naming a member twice, oversized KeyPackage sets).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { threeWaySplit } from "../../src/cli/scenarios.ts";
import { decodeWelcomeFrame, encodeWelcomeFrame } from "../../src/group/frames.ts";
import { MAX_SET_KEY_PACKAGES } from "../../src/group/keypackage-store.ts";
import type { Cluster } from "../../src/node/cluster.ts";
import { Insider } from "../../src/node/insider.ts";
import { MAX_AHEAD_MS, MAX_WIRE_U64 } from "../../src/util/bounds.ts";
import { bytesEqual, toHex, utf8 } from "../../src/util/bytes.ts";
import { formedGroup } from "./harness.ts";

const sum = (c: Cluster, code: string) =>
  [...c.members.values()].reduce(
    (a, m) =>
      a +
      ((m.sync.state.counters as Record<string, number>)[code] ?? 0) +
      ((m.group.state.counters as Record<string, number>)[code] ?? 0),
    0,
  );

describe("an insider at the edges of what the rules accept", () => {
  for (const [label, attempt] of [
    ["2^64-1", 2n ** 64n - 1n],
    ["the largest accepted (now + MAX_AHEAD_MS)", undefined],
  ] as const)
    it(`a reset proposal with attempt ${label}, then a real split with no majority: the group still resets, nothing throws`, async () => {
      const c = await formedGroup(5, 10, 5_000);
      const evil = new Insider(c, "m9");
      const g = evil.member.group.group!;
      const old = toHex(g.groupId);
      await evil.sendSync({
        reset: await evil.signReset({
          oldGroupId: g.groupId,
          attempt: attempt ?? BigInt(Math.floor(c.now)) + BigInt(MAX_AHEAD_MS),
          proposer: evil.member.group.memberId,
          roster: evil.member.group.rosterIds(),
        }),
      });
      await c.sim.runFor(5_000);
      const known = [...c.members.values()].map((m) => m.sync.state.reset?.proposal.attempt ?? -1n);
      if (attempt === undefined)
        assert.ok(
          known.some((a) => a > 0n),
          "the largest accepted attempt is taken",
        );
      else
        assert.ok(
          known.every((a) => a <= MAX_WIRE_U64),
          "2^64-1 is refused",
        );
      // A split into three sides where each commits: no majority anywhere, so the group must reset.
      const sides = threeWaySplit([...c.members.keys()]);
      c.sim.partition(sides);
      for (const side of sides) await c.members.get(side[0]!)!.proposeRefresh();
      await c.sim.runFor(8_000);
      c.sim.heal();
      const reset = () => [...c.members.values()].every((m) => toHex(m.group.group!.groupId) !== old);
      for (let t = 0; t < 60 && !(reset() && c.settled()); t++) await c.sim.runFor(1_000);
      assert.deepEqual(c.faults, [], "no step threw");
      assert.ok(reset(), "every member is in the reset's group");
      assert.equal(c.distinctStates().size, 1, "in one state");
      await c.chat("m3", "after the reset");
      for (let t = 0; t < 20 && c.missingChats().size > 0; t++) await c.sim.runFor(500);
      assert.deepEqual([...c.missingChats()], [], "every chat reached every member");
    });

  it("a catch-up answer to another member's own request with an entry that lacks its epoch is MALFORMED; the member still catches up", async () => {
    const c = await formedGroup(6, 5, 5_000);
    const evil = new Insider(c, "m0");
    const m4 = c.members.get("m4")!;
    c.sim.partition([["m4"]]);
    await c.members.get("m1")!.proposeRefresh();
    await c.sim.runFor(6_000);
    const log = evil.member.group.state.commitLog;
    c.sim.heal();
    for (let t = 0; t < 5_000 && m4.sync.state.catchUp === undefined; t++) await c.sim.runFor(1);
    const asked = m4.sync.state.catchUp;
    assert.ok(asked, "m4 asked to catch up");
    const last = log.at(-1)!;
    // The answer reaches m4 before any holder's: the request had to reach them first.
    await evil.sendSync(
      {
        commits: {
          groupId: evil.member.group.group!.groupId,
          responder: evil.member.group.memberId,
          nonce: asked.nonce,
          commits: [{ commit: last.commit, fingerprintAfter: last.fingerprintAfter }],
        },
      },
      { to: ["m4"] },
    );
    await c.sim.runFor(100);
    assert.equal(m4.sync.state.counters.MALFORMED, 1, "refused whole");
    for (let t = 0; t < 20 && c.distinctStates().size > 1; t++) await c.sim.runFor(500);
    assert.deepEqual(c.faults, [], "no step threw");
    assert.equal(c.sim.drops.handlerErrors, 0);
    assert.equal(c.distinctStates().size, 1, "m4 caught up from the honest answers");
  });

  it("a Welcome whose SDS Lamport time is far ahead is refused by the joiner; the next copy lets it in", async () => {
    const c = await formedGroup(7, 4, 5_000);
    // Every member alters the Welcomes it sends once; whoever commits the add, the first copy is far ahead.
    const altered = new Set<string>();
    for (const name of c.members.keys())
      new Insider(c, name).outgoing = (m) => {
        if (m.kind !== "welcome") return "send";
        const f = decodeWelcomeFrame(m.data);
        if (f.welcome === undefined || altered.has(name)) return "send";
        altered.add(name);
        return { data: encodeWelcomeFrame({ ...f, sdsLamport: MAX_WIRE_U64 }) };
      };
    const joiner = await c.add("j", "joiner");
    for (let t = 0; t < 60 && joiner.group.group === undefined; t++) await c.sim.runFor(500);
    assert.ok(altered.size > 0, "a Welcome was altered");
    assert.ok((joiner.group.state.counters.OUT_OF_RANGE ?? 0) >= 1, "the joiner refused it");
    assert.ok(joiner.group.group, "the joiner got in by a later copy");
    assert.ok(joiner.group.channel!.state.horizon < MAX_WIRE_U64, "its SDS history horizon is the real one");
    await c.sim.runFor(5_000);
    await c.chat("m1", "welcome j");
    for (let t = 0; t < 20 && c.missingChats().size > 0; t++) await c.sim.runFor(500);
    assert.deepEqual([...c.missingChats()], []);
    assert.deepEqual(c.faults, []);
  });

  it("counts: a reset roster naming a member twice, a KeyPackage set over the bound, more sets than members", async () => {
    const c = await formedGroup(8, 4, 5_000);
    const evil = new Insider(c, "m0");
    const before = [...c.distinctStates().keys()];
    const m = evil.member;
    const g = m.group.group!;
    // Four names for a group of four, one of them twice: as many names as members, fewer voters.
    const roster = m.group.rosterIds();
    await evil.sendSync({
      reset: await evil.signReset({
        oldGroupId: g.groupId,
        attempt: 0n,
        proposer: m.group.memberId,
        roster: [...roster.slice(0, 3), roster[0]!],
      }),
    });
    const set = m.group.state.keyPackageSets.get(toHex(utf8("m1")))!;
    const wire = { member: set.member, version: set.version + 1n, lastResort: set.lastResort };
    await evil.sendPayload({
      keyPackageSets: [{ ...wire, keyPackages: Array(MAX_SET_KEY_PACKAGES + 1).fill(set.lastResort) }],
    });
    await evil.sendPayload({
      keyPackageSets: Array.from({ length: roster.length + 1 }, () => ({ ...wire, keyPackages: [] })),
    });
    await c.sim.runFor(2_000);
    for (const name of ["m1", "m2", "m3"]) {
      const h = c.members.get(name)!;
      assert.equal(h.sync.state.counters.RESET_BAD_ROSTER, 1, `${name}: a member twice`);
      assert.equal(h.sync.state.reset, undefined, `${name}: no round`);
      assert.equal(h.group.state.counters.MALFORMED, 1, `${name}: a set over the bound`);
      assert.equal(h.group.state.counters.OVERSIZED_BATCH, 1, `${name}: more sets than members`);
      const stored = h.group.state.keyPackageSets.get(toHex(utf8("m1")))!;
      assert.ok(bytesEqual(stored.lastResort, set.lastResort) && stored.version === set.version);
    }
    assert.deepEqual([...c.distinctStates().keys()], before);
    assert.deepEqual(c.faults, []);
    assert.equal(sum(c, "INTERNAL"), 0);
  });
});
