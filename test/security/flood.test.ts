// A misbehaving member costs little (docs/threats.md, "Floods"): catch-up requests are signed and answered
// per verified requester within byte budgets, reset rounds and rejoin requests are rate-limited per
// member. An insider (a member with valid keys) floods each; the honest members refuse what is beyond the
// rules with a typed code, change nothing for it, and an honest member that needs the service gets it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FAST_GROUP_PARAMS, type GroupParams } from "../../src/group/params.ts";
import { AUTO_YES } from "../../src/group/vote-policy.ts";
import { generateKeyPackages } from "../../src/mls/index.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { Insider } from "../../src/node/insider.ts";
import { FAST_SYNC_PARAMS, type SyncParams } from "../../src/sync/params.ts";
import { open } from "../../src/sync/seal.ts";
import { type CatchUpRequest, decodeSyncPayload } from "../../src/sync/wire.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";

/** The sum of one code over the named members' sync and group counters. */
function counted(c: Cluster, names: readonly string[], code: string): number {
  return names.reduce((a, n) => {
    const m = c.members.get(n)!;
    const sync = (m.sync.state.counters as Record<string, number>)[code] ?? 0;
    const group = (m.group.state.counters as Record<string, number>)[code] ?? 0;
    return a + sync + group;
  }, 0);
}

async function cluster(
  seed: number,
  n: number,
  opts: { sync?: Partial<SyncParams>; group?: Partial<GroupParams>; removals?: boolean } = {},
): Promise<Cluster> {
  const c = new Cluster({
    seed,
    groupParams: { ...FAST_GROUP_PARAMS, ...opts.group },
    syncParams: { ...FAST_SYNC_PARAMS, ...opts.sync },
    ...(opts.removals ? { votePolicy: { remove: AUTO_YES } } : {}),
  });
  await c.form(n);
  await c.sim.runFor(3_000);
  return c;
}

/** Runs until `done` (checked every 250 ms) or `limitMs`; returns whether it is done. */
async function until(c: Cluster, done: () => boolean, limitMs = 20_000): Promise<boolean> {
  for (let t = 0; t < limitMs && !done(); t += 250) await c.sim.runFor(250);
  return done();
}

/** `names` cut off while the others commit `epochs` key refreshes. Returns the others. */
async function lag(c: Cluster, names: readonly string[], epochs: number): Promise<string[]> {
  const rest = [...c.members.keys()].filter((n) => !names.includes(n));
  c.sim.partition([rest, [...names]]);
  for (let e = 0; e < epochs; e++) {
    const before = c.epochOf(rest[0]!);
    await c.members.get(rest[e % rest.length]!)!.proposeRefresh();
    assert.ok(await until(c, () => rest.every((n) => c.epochOf(n) > before)), `epoch ${e} committed`);
  }
  await c.sim.runFor(1_000);
  return rest;
}

/** A catch-up request of the insider's state's group, from `from` to the insider's state. */
function request(x: Insider, memberId: Uint8Array, from: bigint, nonce: number): CatchUpRequest {
  const g = x.member.group.group!;
  return {
    groupId: g.groupId,
    memberId,
    fromEpoch: from,
    targetEpoch: g.epoch,
    target: g.fingerprint,
    nonce: new Uint8Array(new Uint32Array([nonce, 0xf100d]).buffer),
  };
}

describe("catch-up requests are signed and answered within budgets", () => {
  it("unsigned, forged and foreign requests in a lagging member's name get nothing, and cost it nothing", async () => {
    const c = await cluster(101, 5);
    const rest = await lag(c, ["m4"], 3);
    const holders = rest.filter((n) => n !== "m0");
    const x = new Insider(c, "m0");
    const m4 = c.members.get("m4")!;
    const from = m4.group.group!.epoch;
    const served = () => counted(c, holders, "CATCH_UP_SERVED") + counted(c, holders, "CATCH_UP_NO_PATH");
    const before = served();
    const states = [...c.distinctStates().keys()];
    for (let i = 0; i < 20; i++) {
      // Unsigned; signed by the insider in m4's name; signed in the name of a member nobody knows.
      await x.sendSync({ catchUp: request(x, m4.group.memberId, from, 3 * i) }, { to: holders });
      await x.sendSync(
        { catchUp: await x.signCatchUp(request(x, m4.group.memberId, from, 3 * i + 1)) },
        { to: holders },
      );
      await x.sendSync(
        { catchUp: await x.signCatchUp(request(x, utf8("mallory"), from, 3 * i + 2)) },
        { to: holders },
      );
      await c.sim.runFor(50);
    }
    await c.sim.runFor(500);
    assert.equal(served(), before, "no holder answered");
    assert.equal(counted(c, holders, "MALFORMED"), 20 * holders.length, "unsigned: MALFORMED");
    assert.equal(counted(c, holders, "INVALID_SIGNATURE"), 20 * holders.length, "forged: INVALID_SIGNATURE");
    assert.equal(counted(c, holders, "UNKNOWN_MEMBER"), 20 * holders.length, "foreign: UNKNOWN_MEMBER");
    assert.equal(counted(c, holders, "CATCH_UP_THROTTLED") + counted(c, holders, "CATCH_UP_BUDGET"), 0);
    assert.deepEqual([...c.distinctStates().keys()], states, "nobody moved");
    // The forgeries spent nothing of m4's: healed, it asks and is answered at once.
    const asked = m4.sync.state.counters.CATCH_UP_SENT ?? 0;
    c.sim.heal();
    assert.ok(await until(c, () => c.distinctStates().size === 1, 10_000), "m4 caught up");
    assert.equal((m4.sync.state.counters.CATCH_UP_SENT ?? 0) - asked, 1, "with its first request");
    assert.deepEqual(c.faults, []);
  });

  it("requests for commits the requester was seen to hold get nothing (CATCH_UP_HELD)", async () => {
    const c = await cluster(102, 5);
    await lag(c, [], 3);
    const x = new Insider(c, "m4");
    const others = ["m0", "m1", "m2", "m3"];
    const oldest = x.member.group.group!.epoch - 2n;
    const before = counted(c, others, "CATCH_UP_SERVED") + counted(c, others, "CATCH_UP_NO_PATH");
    for (let i = 0; i < 30; i++) {
      await x.sendSync({ catchUp: await x.signCatchUp(request(x, x.member.group.memberId, oldest, i)) });
      await c.sim.runFor(50);
    }
    await c.sim.runFor(500);
    assert.equal(counted(c, others, "CATCH_UP_SERVED") + counted(c, others, "CATCH_UP_NO_PATH"), before);
    assert.equal(counted(c, others, "CATCH_UP_HELD"), 30 * others.length);
    assert.equal(counted(c, others, "INVALID_SIGNATURE"), 0, "refused before its signature was checked");
    assert.deepEqual(c.faults, []);
  });

  it("a lagging insider's flood is held to its budget while an honest lagging member catches up", async () => {
    const budget = 12 * 1024;
    // The throttle out of the way (a request every 15 ms passes it), the total budget too: the
    // requester's budget is what holds.
    const c = await cluster(103, 6, {
      sync: { catchUpServesPerRetry: 100, catchUpRequesterBytes: budget, catchUpTotalBytes: 1 << 20 },
    });
    const x = new Insider(c, "m5");
    // Its own gossip never leaves: the others see it where it was cut off, lagging.
    x.outgoing = (m) => (m.kind === "sync" ? "drop" : "send");
    const rest = await lag(c, ["m4", "m5"], 6);
    const holders = rest;
    const from = x.member.group.group!.epoch;
    // Answers to the insider's requests, by their bytes as sealed, read off every holder's publications.
    const nonces = new Set<string>();
    let answered = 0;
    for (const n of holders) {
      const m = c.members.get(n)!;
      c.outgoing.set(n, (o) => {
        if (o.kind !== "sync") return "send";
        const keys = [m.group.state.syncKey!.key, ...m.group.state.previousSyncKeys];
        try {
          const p = decodeSyncPayload(open(keys, o.data, utf8(o.topic)).plaintext);
          if (p.commits?.nonce && nonces.has(toHex(p.commits.nonce))) answered += o.data.length;
        } catch {}
        return "send";
      });
    }
    c.sim.heal();
    // The insider asks for every epoch it "misses", 50 times a second, for 3 s (two budget windows).
    const g = c.members.get("m0")!.group.group!;
    const start = c.now;
    for (let i = 0; c.now - start < 3_000; i++) {
      const r = {
        ...request(x, x.member.group.memberId, from, i),
        targetEpoch: g.epoch,
        target: g.fingerprint,
      };
      nonces.add(toHex(r.nonce!));
      await x.sendSync({ catchUp: await x.signCatchUp(r) });
      await c.sim.runFor(20);
    }
    const windows = Math.ceil(3_000 / FAST_SYNC_PARAMS.catchUpBudgetMs) + 1;
    // Within each window: the budget, plus the request that crossed it (two responders' answers).
    const oneAnswer = 8 * 1024;
    assert.ok(counted(c, holders, "CATCH_UP_BUDGET") > 0, "the budget was reached");
    assert.ok(answered > 0, "the insider got answers while under its budget");
    assert.ok(answered <= windows * (budget + 2 * oneAnswer), `answered ${answered} bytes`);
    assert.ok(
      await until(c, () => c.members.get("m4")!.group.group!.epoch === g.epoch),
      "the honest lagging member caught up",
    );
    assert.deepEqual(c.faults, []);
  });

  it("a member removed while it lagged is answered by holders that had it on a recent roster, not by a later joiner", async () => {
    const c = await cluster(104, 5, { removals: true });
    const rest = ["m0", "m1", "m2", "m4"];
    const m3 = new Insider(c, "m3");
    const from = m3.member.group.group!.epoch;
    c.sim.partition([rest, ["m3"]]);
    const e0 = c.epochOf("m0");
    await c.members.get("m0")!.proposeRemove("m3");
    assert.ok(await until(c, () => rest.every((n) => c.epochOf(n) > e0)), "m3 removed");
    const j = await c.add("j", "joiner");
    c.sim.partition([[...rest, "j"], ["m3"]]);
    assert.ok(await until(c, () => j.group.group !== undefined && c.distinctStates().size === 2), "j joined");
    await c.sim.runFor(2_000);
    // m3's request (signed by m3, sealed under the key it holds, the one before its removal), brought to
    // the holders by another node: m3 is on none of their current rosters.
    const g = c.members.get("m0")!.group.group!;
    const catchUp = await m3.signCatchUp({
      groupId: g.groupId,
      memberId: m3.member.group.memberId,
      fromEpoch: from,
      targetEpoch: g.epoch,
      target: g.fingerprint,
      nonce: utf8("m3 lags"),
    });
    const holders = ["m1", "m2", "m4", "j"];
    const served = () => counted(c, holders, "CATCH_UP_SERVED");
    const before = served();
    const unreadable = counted(c, ["j"], "UNKNOWN_KEY");
    const courier = new Insider(c, "m0");
    await courier.send("sync", m3.sealSync({ catchUp }), { to: holders });
    await c.sim.runFor(500);
    assert.ok(served() > before, "answered");
    for (const n of ["m1", "m2", "m4"])
      assert.equal(counted(c, [n], "UNKNOWN_MEMBER"), 0, `${n} had m3 on a recent roster`);
    // j joined after m3 left: it cannot open m3's key, and even under the current key (as if m3 had
    // it) m3 was never on a roster of its states.
    assert.ok(counted(c, ["j"], "UNKNOWN_KEY") > unreadable, "j cannot read m3's key");
    await courier.send("sync", m3.sealSync({ catchUp }, c.members.get("m0")!.group.state.syncKey!.key), {
      to: ["j"],
    });
    await c.sim.runFor(500);
    assert.equal(counted(c, ["j"], "UNKNOWN_MEMBER"), 1, "j does not know m3");
    assert.deepEqual(c.faults, []);
  });
});

describe("reset rounds and rejoin requests are rate-limited per member", () => {
  it("one proposer starts at most resetProposalsPerEpoch rounds per epoch; forgeries in its name do not count", async () => {
    const c = await cluster(105, 5);
    const x = new Insider(c, "m4");
    const victim = new Insider(c, "m1");
    const honest = ["m0", "m1", "m2", "m3"];
    const g = x.member.group.group!;
    const roster = x.member.group.rosterIds();
    const proposal = (who: Insider, attempt: bigint) => ({
      oldGroupId: g.groupId,
      attempt,
      proposer: who.member.group.memberId,
      roster,
    });
    // Forged in m1's name (signed by the insider): refused at the signature, not counted for m1.
    for (let a = 1n; a <= 3n; a++)
      await x.sendSync({ reset: await x.signReset(proposal(victim, a)) }, { to: ["m0", "m2", "m3"] });
    await c.sim.runFor(200);
    assert.equal(counted(c, ["m0", "m2", "m3"], "INVALID_SIGNATURE"), 9);
    // Ten of the insider's own, each a new attempt.
    for (let a = 10n; a < 20n; a++) {
      await x.sendSync({ reset: await x.signReset(proposal(x, a)) });
      await c.sim.runFor(20);
    }
    await c.sim.runFor(500);
    const limit = FAST_SYNC_PARAMS.resetProposalsPerEpoch;
    for (const n of honest) {
      const m = c.members.get(n)!;
      assert.equal(m.sync.state.counters.RESET_RATE_LIMITED, 10 - limit, `${n}: refused beyond the limit`);
      assert.equal(m.sync.state.reset!.proposal.attempt, 10n + BigInt(limit) - 1n, `${n}: its last round`);
      assert.equal(m.sync.state.reset!.myKeyPackages.length, limit, `${n}: a KeyPackage per round started`);
    }
    // m1's own proposal still starts a round: the forgeries used up nothing of it.
    await victim.sendSync({ reset: await victim.signReset(proposal(victim, 30n)) });
    await c.sim.runFor(500);
    for (const n of ["m0", "m2", "m3"])
      assert.equal(c.members.get(n)!.sync.state.reset!.proposal.attempt, 30n);
    // A new epoch: the insider may start rounds again.
    const e = c.epochOf("m0");
    await c.members.get("m0")!.proposeRefresh();
    assert.ok(await until(c, () => honest.every((n) => c.epochOf(n) > e)));
    await x.sendSync({ reset: await x.signReset(proposal(x, 40n)) });
    await c.sim.runFor(500);
    for (const n of ["m0", "m2", "m3"])
      assert.equal(c.members.get(n)!.sync.state.reset!.proposal.attempt, 40n);
    assert.equal(c.distinctStates().size, 1, "no reset happened: the group is in sync");
    assert.deepEqual(c.faults, []);
  });

  it("rejoin requests: one acted on per member per epoch, none within the cooldown after an add, which doubles with each rejoin", async () => {
    const c = await cluster(106, 5);
    // Every member was added within the cooldown while the group formed: let it pass.
    await c.sim.runFor(FAST_GROUP_PARAMS.rejoinCooldownMs);
    const x = new Insider(c, "m4");
    const honest = ["m0", "m1", "m2", "m3"];
    const groupId = x.member.group.group!.groupId;
    const ask = async () => {
      const [kp] = await generateKeyPackages(x.member.identity, 1);
      // The insider holds every KeyPackage it sends: whichever the group adds, it can join.
      x.member.group.keyPackages = [...x.member.group.keyPackages, kp!];
      await x.sendWelcome({
        rejoin: await x.signRejoin({ keyPackage: kp!.publicBytes, groupId, at: BigInt(Math.floor(c.now)) }),
      });
    };
    // A forged request carrying m1's own published KeyPackage: refused at the signature, not counted.
    const m1Set = c.members.get("m0")!.group.state.keyPackageSets.get(toHex(utf8("m1")))!;
    await x.sendWelcome({
      rejoin: await x.signRejoin({ keyPackage: m1Set.lastResort, groupId, at: BigInt(Math.floor(c.now)) }),
    });
    await c.sim.runFor(100);
    assert.equal(counted(c, ["m0", "m2", "m3"], "INVALID_SIGNATURE"), 3);
    assert.deepEqual(
      honest.map((n) => c.members.get(n)!.group.state.pendingRejoins.size),
      [0, 0, 0, 0],
      "the forgery queued nothing",
    );
    // Five requests in one epoch: the first is acted on, the others wait behind it (nothing more queued).
    await x.member.requestRejoin();
    for (let i = 0; i < 4; i++) {
      await ask();
      await c.sim.runFor(10);
    }
    await c.sim.runFor(100);
    for (const n of honest) {
      const s = c.members.get(n)!.group.state;
      assert.deepEqual([...s.pendingRejoins.keys()], [toHex(utf8("m4"))], `${n}: one queued`);
    }
    // Its leaf removed: in that epoch one new KeyPackage of it is queued, more are refused.
    assert.ok(await until(c, () => !c.members.get("m0")!.roster().includes("m4"), 10_000), "leaf removed");
    const before = counted(c, honest, "REJOIN_RATE_LIMITED");
    for (let i = 0; i < 3; i++) await ask();
    await c.sim.runFor(100);
    assert.ok(
      counted(c, honest, "REJOIN_RATE_LIMITED") - before >= 2 * honest.length,
      "refused in that epoch",
    );
    // The group adds the insider back.
    assert.ok(
      await until(c, () => x.member.group.group !== undefined && c.distinctStates().size === 1, 20_000),
    );
    const back = c.now;
    const refused = counted(c, honest, "REJOIN_RATE_LIMITED");
    // At once again, and again after the next epoch: within the cooldown, still refused.
    await x.member.requestRejoin();
    await c.sim.runFor(500);
    const e = c.epochOf("m0");
    await c.members.get("m0")!.proposeRefresh();
    assert.ok(await until(c, () => honest.every((n) => c.epochOf(n) > e)));
    assert.ok(c.now - back < FAST_GROUP_PARAMS.rejoinCooldownMs);
    assert.ok(counted(c, honest, "REJOIN_RATE_LIMITED") > refused, "refused within the cooldown");
    const xid = toHex(x.member.group.memberId);
    for (const n of honest) {
      const m = c.members.get(n)!;
      assert.equal(m.group.state.pendingRejoins.size, 0, n);
      // Its leaf is stale by its own signed word: SDS waits for nobody's acknowledgement there.
      assert.ok(m.group.state.rejoinWaiting.has(xid), `${n}: it waits`);
      assert.equal(m.group.core.sds!.state.participants, honest.length, `${n}: not a participant`);
    }
    // Its second rejoin within the backoff window: the cooldown doubled. Past the plain cooldown it
    // still waits.
    const doubled = 2 * FAST_GROUP_PARAMS.rejoinCooldownMs;
    assert.ok(await until(c, () => c.now - back > 1.5 * FAST_GROUP_PARAMS.rejoinCooldownMs, doubled));
    assert.equal(x.member.group.group, undefined, "still waiting past the plain cooldown");
    for (const n of honest) assert.equal(c.members.get(n)!.group.state.pendingRejoins.size, 0, n);
    // Once the doubled cooldown has passed, the request it keeps announcing is acted on: it comes back.
    assert.ok(
      await until(c, () => c.now - back > doubled && x.member.group.group !== undefined, doubled),
      "the insider is back",
    );
    assert.ok(await until(c, () => c.distinctStates().size === 1));
    assert.deepEqual(c.faults, []);
  });
});
