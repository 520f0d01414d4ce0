import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { GroupEffect } from "../../src/group/effects.ts";
import { FAST_GROUP_PARAMS } from "../../src/group/params.ts";
import { AUTO_YES } from "../../src/group/vote-policy.ts";
import { Cluster, type ClusterOptions } from "../../src/node/cluster.ts";
import { toHex } from "../../src/util/bytes.ts";

type EpochEvent = Extract<GroupEffect, { type: "epoch" }> & { member: string };

const name = (id: Uint8Array) => new TextDecoder().decode(id);

/** A cluster that records every member's epoch changes. */
function recorded(opts: ClusterOptions): { c: Cluster; epochs: EpochEvent[] } {
  const epochs: EpochEvent[] = [];
  const c = new Cluster({
    ...opts,
    onEvent: (e, m) => {
      if (e.type === "epoch") epochs.push({ ...e, member: m.name });
    },
  });
  return { c, epochs };
}

/** Runs until `names` all reach an epoch after `after`, in one state; or for at most `ms`. */
async function untilEpoch(c: Cluster, names: string[], after: bigint, ms = 30_000): Promise<void> {
  const end = c.sim.now + ms;
  while (c.sim.now < end) {
    await c.sim.runFor(250);
    const states = new Set(names.map((n) => [...c.distinctStates()].find(([, v]) => v.includes(n))?.[0]));
    if (names.every((n) => c.epochOf(n) > after) && states.size === 1) return;
  }
}

/** Every member that reached an epoch of a group reached it with one fingerprint: no fork. */
function assertNoFork(epochs: EpochEvent[]): void {
  const seen = new Map<string, string>();
  for (const e of epochs.filter((x) => x.via === "commit")) {
    const k = `${e.epoch}`;
    const fp = toHex(e.fingerprint);
    assert.equal(seen.get(k) ?? fp, fp, `two states at epoch ${k}`);
    seen.set(k, fp);
  }
}

/**
 * Commits key refreshes until the list in force names a backup: after joins, a list is elected among the
 * settled members only (those a commit added are not, at its epoch), which may be one member.
 */
async function untilBackup(c: Cluster): Promise<void> {
  for (let i = 0; i < 3 && c.members.get("m0")!.group.stewards().length < 2; i++) {
    const before = c.epochOf("m0");
    await c.members.get("m0")!.proposeRefresh();
    await untilEpoch(c, [...c.members.keys()], before);
  }
}

describe("stewards", () => {
  it("the epoch steward goes silent: the backup commits, no fork, the steward catches up on return", async () => {
    const { c, epochs } = recorded({ seed: 31, persist: true });
    await c.form(5);
    await untilBackup(c);
    const [steward, backup] = c.members.get("m0")!.group.stewards().map(name);
    assert.ok(steward && backup && steward !== backup);
    const proposer = [...c.members.keys()].find((n) => n !== steward && n !== backup)!;
    const before = c.epochOf(proposer);
    c.crash(steward, c.sim.now + 1, c.sim.now + 20_000);
    await c.sim.runFor(10);
    await c.members.get(proposer)!.proposeRefresh();
    const alive = [...c.members.keys()].filter((n) => n !== steward);
    await untilEpoch(c, alive, before, 15_000);
    const next = epochs.filter((e) => e.epoch === before + 1n && e.via === "commit");
    assert.deepEqual(next.map((e) => e.member).sort(), alive.sort(), "every live member moved on");
    assert.ok(
      next.every((e) => name(e.committer) === backup),
      "the backup committed",
    );
    await untilEpoch(c, [...c.members.keys()], before, 40_000);
    assert.equal(c.distinctStates().size, 1, JSON.stringify([...c.distinctStates()]));
    assertNoFork(epochs);
  });

  it("two stewards commit at once: every member selects the same candidate", async () => {
    // Links without jitter: every member decides at one instant. The backup's window opens 1 ms after the
    // steward's (the next retry round's 1 ms later): all commit before any sees another's commit.
    const { c, epochs } = recorded({
      seed: 32,
      link: { jitterMs: 0 },
      groupParams: { ...FAST_GROUP_PARAMS, backupDelayMs: 1 },
    });
    await c.form(5);
    await untilBackup(c);
    const before = c.epochOf("m0");
    await c.members.get("m1")!.proposeRefresh();
    await untilEpoch(c, [...c.members.keys()], before);
    const next = epochs.filter((e) => e.epoch === before + 1n);
    assert.equal(next.length, 5);
    assert.ok(
      next.every((e) => e.candidates >= 2),
      `concurrent commits were candidates: ${next.map((e) => e.candidates)}`,
    );
    assert.equal(new Set(next.map((e) => name(e.committer))).size, 1, "one committer won everywhere");
    assert.equal(new Set(next.map((e) => toHex(e.fingerprint))).size, 1);
    assertNoFork(epochs);
  });
});

describe("steward lists", () => {
  it("a joiner takes the list in force with its Welcome: every member names the same stewards", async () => {
    const c = new Cluster({ seed: 33 });
    await c.form(4);
    await untilBackup(c);
    const at = c.epochOf("m0");
    await c.add("m4", "joiner");
    for (let t = 0; t < 120 && !(c.epochOf("m4") > at && c.distinctStates().size === 1); t++)
      await c.sim.runFor(250);
    assert.equal(c.distinctStates().size, 1, JSON.stringify([...c.distinctStates()]));
    const joiner = c.members.get("m4")!.group;
    // The list was elected before the joiner was there: it could not have elected it itself.
    const list = [...joiner.state.stewardLists.values()].at(-1)!;
    assert.ok(list.electionEpoch < c.epochOf("m4"), `elected at ${list.electionEpoch}`);
    const named = [...c.members.values()].map((m) => m.group.stewards().map(name).join(","));
    assert.equal(new Set(named).size, 1, named.join(" | "));
  });
});

describe("group under loss and churn", () => {
  it("10% message loss: the group forms, commits, converges and delivers every chat (SDS repairs)", async () => {
    // A candidate lost past the freeze can split a selection; the sync layer re-aligns it. What a user
    // relies on is the end state: one state, every chat, none twice.
    const { c, epochs } = recorded({ seed: 33, link: { loss: 0.1 } });
    await c.form(5);
    for (let i = 0; i < 3; i++) {
      const before = c.epochOf("m0");
      await c.chat(`m${i + 1}`, `lossy ${i}`);
      await c.members.get(`m${i}`)!.proposeRefresh();
      await untilEpoch(c, [...c.members.keys()], before, 60_000);
    }
    await untilEpoch(c, [...c.members.keys()], c.epochOf("m0") - 1n, 30_000);
    for (let t = 0; t < 60 && c.missingChats().size > 0; t++) await c.sim.runFor(500);
    assert.equal(c.distinctStates().size, 1);
    assert.deepEqual([...c.missingChats()], []);
    assert.equal(c.duplicateChats(), 0);
    assert.ok(c.epochOf("m0") >= 4n, `three refresh epochs after forming: ${epochs.length} epoch events`);
  });

  it("1 creator + 9 joiners, then adds and removes to 20 epochs: one fingerprint per epoch, every chat delivered", async () => {
    const { c, epochs } = recorded({ seed: 34, votePolicy: { remove: AUTO_YES } }); // removals pass by themselves
    await c.form(10);
    let next = 10;
    for (let round = 0; c.epochOf("m0") < 20n; round++) {
      const names = [...c.members.keys()];
      const before = c.epochOf(names[0]!);
      await c.chat(names[round % names.length]!, `epoch ${before} chat`);
      for (let t = 0; t < 40 && c.missingChats().size > 0; t++) await c.sim.runFor(250);
      assert.deepEqual([...c.missingChats()], [], `chats of epoch ${before}`);
      if (round % 2 === 0) {
        // Remove the oldest member but the creator.
        const target = names.find((n) => n !== "m0")!;
        await c.members.get("m0")!.proposeRemove(target);
        await untilEpoch(
          c,
          names.filter((n) => n !== target),
          before,
        );
        c.retire(target);
      } else {
        await c.add(`m${next++}`, "joiner");
        await untilEpoch(c, [...c.members.keys()], before);
      }
      assert.equal(c.distinctStates().size, 1, `round ${round}: ${JSON.stringify([...c.distinctStates()])}`);
    }
    assert.ok(c.epochOf("m0") >= 20n);
    assertNoFork(epochs);
    assert.equal(c.duplicateChats(), 0);
  });
});
