import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ATTESTS_PER_MEMBER, attesters, MAX_PULLS } from "../../src/group/commit-pull.ts";
import type { GroupEffect } from "../../src/group/effects.ts";
import { decodeGroupFrame } from "../../src/group/frames.ts";
import { DEFAULT_GROUP_PARAMS, FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { Cluster } from "../../src/node/cluster.ts";
import { Insider } from "../../src/node/insider.ts";
import { decodeSdsMessage } from "../../src/sds/wire.ts";
import { DEFAULT_SYNC_PARAMS } from "../../src/sync/params.ts";
import { bytesEqual, toHex } from "../../src/util/bytes.ts";

type EpochEvent = Extract<GroupEffect, { type: "epoch" }> & { member: string; at: number };

const name = (id: Uint8Array) => new TextDecoder().decode(id);

/** A bootstrapped cluster that records every member's epoch changes with their (virtual) time. */
async function cluster(
  n: number,
  seed: number,
  spec: boolean,
): Promise<{ c: Cluster; epochs: EpochEvent[] }> {
  const epochs: EpochEvent[] = [];
  const c: Cluster = new Cluster({
    seed,
    ...(spec
      ? {
          link: { latencyMs: 500, jitterMs: 1500, loss: 0 },
          groupParams: DEFAULT_GROUP_PARAMS,
          syncParams: DEFAULT_SYNC_PARAMS,
        }
      : { groupParams: FAST_GROUP_PARAMS }),
    onEvent: (e, m) => {
      if (e.type === "epoch") epochs.push({ ...e, member: m.name, at: c.now });
    },
  });
  await c.bootstrap(n);
  await c.sim.runFor(spec ? 90_000 : 3_000);
  // One epoch on: the list in force is then elected among the members (the bootstrap's is its creator).
  const before = c.epochOf("m0");
  await c.members.get("m0")!.proposeRefresh();
  await untilEpoch(c, before, spec ? 300_000 : 20_000);
  return { c, epochs };
}

/** Runs until every member is at an epoch after `after`, in one state, or `ms` have passed. */
async function untilEpoch(c: Cluster, after: bigint, ms: number): Promise<void> {
  const end = c.now + ms;
  while (c.now < end) {
    await c.sim.runFor(100);
    if ([...c.members.keys()].every((n) => c.epochOf(n) > after) && c.distinctStates().size === 1) return;
  }
}

describe("commit resolution (attest and pull)", () => {
  it("at the spec's timers, the backup steward that lost the commit pulls it instead of committing: one state, seconds apart", async () => {
    const { c, epochs } = await cluster(8, 5, true);
    const m0 = c.members.get("m0")!;
    const [steward, backup] = m0.group.stewards().map(name);
    assert.ok(steward !== undefined && backup !== undefined, "a steward and a backup");
    // Nothing the steward sends reaches the backup: its commit, its votes, its answers to pulls.
    c.sim.cutOneWay([steward], [backup]);
    const before = c.epochOf("m0");
    const proposer = [...c.members.keys()].find((n) => n !== steward && n !== backup)!;
    await c.members.get(proposer)!.proposeRefresh();
    await untilEpoch(c, before, 300_000);
    const round = epochs.filter((e) => e.epoch === before + 1n);
    assert.equal(round.length, c.members.size, "every member reached the new epoch");
    assert.equal(new Set(round.map((e) => toHex(e.fingerprint))).size, 1, "one state: no fork");
    assert.ok(
      round.every((e) => e.via === "commit" && name(e.committer) === steward),
      "every member selected the steward's commit",
    );
    const first = Math.min(...round.map((e) => e.at));
    const late = round.find((e) => e.member === backup)!.at - first;
    // SDS would bring the commit after its resend time (30 s); the pull takes about a round trip.
    assert.ok(late < 10_000, `the backup reached the epoch ${late} ms after the first member`);
  });

  it("a member attesting commits nobody holds: each is pulled a bounded number of times, a third is refused, the steward commits after", async () => {
    const { c } = await cluster(6, 7, false);
    const liar = "m5";
    const x = new Insider(c, liar);
    const group = c.members.get("m0")!.group;
    const epoch = group.epoch!;
    const hashes = [1, 2, 3].map((i) => new Uint8Array(32).fill(i));
    for (const hash of hashes) await x.sendPayload({ commitSeen: { epoch, hash } });
    await c.members.get("m1")!.proposeRefresh();
    await untilEpoch(c, epoch, 20_000);
    assert.equal(c.distinctStates().size, 1);
    assert.ok(c.epochOf("m0") > epoch, "the group committed");
    for (const [n, m] of c.members) {
      if (n === liar) continue;
      assert.ok(
        (m.group.state.counters.OBSERVED_FULL ?? 0) >= hashes.length - ATTESTS_PER_MEMBER,
        `${n} refused the attestations beyond ${ATTESTS_PER_MEMBER}`,
      );
    }
    assert.equal(c.faults.length, 0);
    // Pulls per attested commit stop at MAX_PULLS: checked on one member before the epoch moves on.
    const { c: c2 } = await cluster(6, 7, false);
    const y = new Insider(c2, liar);
    let pulls = 0;
    c2.outgoing.set("m0", (m) => {
      if (m.kind === "app") pulls++;
      return "send";
    });
    const e2 = c2.members.get("m0")!.group.epoch!;
    await y.sendPayload({ commitSeen: { epoch: e2, hash: hashes[0]! } });
    await c2.sim.runFor(10_000);
    const a = c2.members.get("m0")!.group.state.commitPulls.attested.get(toHex(hashes[0]!));
    assert.ok(a !== undefined && a.pulls > MAX_PULLS, "given up");
    // m0's traffic in 10 s: its pulls and a few SDS syncs; not a pull per tick.
    assert.ok(pulls < 40, `${pulls} messages`);
  });

  it("a commit SDS holds back for votes the member lacks is staged at once: the member selects with the others", async () => {
    const { c, epochs } = await cluster(6, 11, false);
    const victim = "m4";
    const proposer = "m1";
    const before = c.epochOf("m0");
    // From now on the victim gets no application message but the proposal (no votes, no attestations,
    // no pulls: nor their SDS resends or repairs), only commits; the steward's commit names votes as its
    // causal history, so SDS buffers it at the victim for good.
    let proposalSent = false;
    for (const n of c.members.keys()) {
      if (n === victim) continue;
      c.outgoing.set(n, (m) => {
        if (m.kind !== "app") return "send";
        const sds = decodeSdsMessage(m.data);
        if (sds.content === undefined || sds.content.length === 0) return "send";
        if (decodeGroupFrame(sds.content).commit !== undefined) return "send";
        if (n === proposer && !proposalSent && sds.lamportTimestamp !== undefined) {
          proposalSent = true;
          return "send";
        }
        return { to: [...c.members.keys()].filter((x) => x !== victim && x !== n) };
      });
    }
    await c.members.get(proposer)!.proposeRefresh();
    await untilEpoch(c, before, 20_000);
    const round = epochs.filter((e) => e.epoch === before + 1n);
    const mine = round.find((e) => e.member === victim);
    assert.ok(mine !== undefined, "the victim reached the new epoch");
    assert.equal(mine.via, "commit", "by selection, not by the sync layer's catch-up");
    assert.equal(new Set(round.map((e) => toHex(e.fingerprint))).size, 1);
  });

  it("attesters are a few roster members, never the committer, the same at every member", async () => {
    const { c } = await cluster(10, 3, false);
    const hash = new Uint8Array(32).fill(9);
    const committer = c.members.get("m0")!.group.memberId;
    const lists = [...c.members.values()].map((m) => attesters(m.group.core, hash, committer));
    for (const l of lists) {
      assert.equal(l.length, 6);
      assert.ok(!l.some((id) => bytesEqual(id, committer)));
      assert.deepEqual(l.map(toHex), lists[0]!.map(toHex));
    }
  });
});
