// The simulation kit (`demls/testing`) as a test outside this repository uses it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  Cluster,
  heal,
  Insider,
  partition,
  runUntilSettled,
  SIMULATION_PRESETS,
  sides,
  type TopicKind,
} from "../src/testing.ts";

describe("demls/testing", () => {
  it("sides cuts names into consecutive sides, the rest forming a last side", () => {
    const names = ["a", "b", "c", "d", "e"];
    assert.deepEqual(sides(names, 2), [
      ["a", "b"],
      ["c", "d", "e"],
    ]);
    assert.deepEqual(sides(names, 1, 2), [["a"], ["b", "c"], ["d", "e"]]);
    assert.deepEqual(sides(names, 5), [names]);
  });

  it("a split with a commit on one side does not settle until healed, then settles and measures detection", async () => {
    const c = new Cluster({
      seed: 11,
      groupParams: SIMULATION_PRESETS.group,
      syncParams: SIMULATION_PRESETS.sync,
    });
    await c.form(5);
    partition(c, sides([...c.members.keys()], 3));
    await c.members.get("m0")!.proposeRefresh();
    await c.chat("m1", "while split");
    assert.equal(await runUntilSettled(c, { timeoutMs: 5_000 }), null, "split: not settled");
    heal(c);
    const after = await runUntilSettled(c, { timeoutMs: 30_000 });
    assert.notEqual(after, null, "settled after the heal");
    assert.equal(c.distinctStates().size, 1);
    assert.notEqual(c.detectionMs(), null, "the heal was marked: detection is measured");
  });
});

describe("demls/testing: an insider", () => {
  async function group(seed: number) {
    const c = new Cluster({
      seed,
      groupParams: SIMULATION_PRESETS.group,
      syncParams: SIMULATION_PRESETS.sync,
    });
    await c.form(3);
    await c.sim.runFor(3_000);
    return { c, evil: new Insider(c, "m0") };
  }
  const received = (c: Cluster, name: string) => c.chats.received.get(name) ?? [];

  it("controls the member's own traffic: dropped, sent to some members only, altered, then let go", async () => {
    const { c, evil } = await group(12);
    const seen: TopicKind[] = [];
    evil.outgoing = (m) => {
      seen.push(m.kind);
      return m.kind === "app" ? "drop" : "send";
    };
    await c.chat("m0", "dropped");
    await c.sim.runFor(300);
    assert.ok(seen.includes("app"), "the filter saw the chat go out");
    assert.deepEqual([received(c, "m1"), received(c, "m2")], [[], []], "nobody got it");

    // Its heartbeat (SyncStateInfo, on the sync topic) to m1 only: m2 stops hearing of it.
    const seq = (name: string) => c.members.get(name)!.sync.state.lastSeq.get("6d30") ?? 0n;
    const [m1Before, m2Before] = [seq("m1"), seq("m2")];
    evil.outgoing = (m) => (m.kind === "sync" ? { to: ["m1"] } : m.kind === "app" ? "drop" : "send");
    await c.sim.runFor(2_500);
    assert.ok(seq("m1") > m1Before, "m1 heard its heartbeat");
    assert.equal(seq("m2"), m2Before, "m2 did not");

    const malformed = () => c.members.get("m1")!.sync.state.counters.MALFORMED ?? 0;
    const before = malformed();
    evil.outgoing = (m) => (m.kind === "sync" ? { data: new Uint8Array([0xff]) } : "drop");
    await c.sim.runFor(2_500);
    assert.ok(malformed() > before, "the altered bytes arrived");

    evil.outgoing = undefined;
    assert.notEqual(await runUntilSettled(c, { timeoutMs: 30_000 }), null, "let go, SDS resends reach all");
  });

  it("builds, signs, seals and encrypts protocol messages with the member's keys: the others accept them", async () => {
    const { c, evil } = await group(13);
    const info = await evil.signInfo(evil.stateInfo());
    await evil.sendSync({ info });
    const proposal = {
      kind: 4,
      target: new TextEncoder().encode("refresh"),
      epoch: c.epochOf("m0"),
      proposer: evil.member.group.memberId,
    };
    await evil.sendPayload({ proposal });
    await c.sim.runFor(300);
    for (const name of ["m1", "m2"]) {
      const m = c.members.get(name)!;
      assert.equal(m.sync.state.lastSeq.get("6d30"), info.seqnum, `${name} took the signed info`);
      assert.equal(m.group.state.proposals.size, 1, `${name} tracks the encrypted proposal`);
    }
    const epoch = c.epochOf("m1");
    for (let t = 0; t < 20 && c.epochOf("m1") === epoch; t++) await c.sim.runFor(500);
    assert.equal(c.epochOf("m1"), epoch + 1n, "the insider's proposal was voted and committed");
  });
});
