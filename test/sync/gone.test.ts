// A member dead for good (docs/sync.md, "Long-silent members"): with it on the roster no live side can
// hold more than n/2, so every member stayed UNKNOWN for ever. Once it has been silent for
// `goneAfterWindows` view windows it leaves the count (at most ⌊(n − 1)/3⌋ such members), and the
// majority of the live members decides.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classify, type View } from "../../src/sync/classify.ts";
import { toHex } from "../../src/util/bytes.ts";
import { formedGroup } from "../security/harness.ts";

const view = (fp: number, epoch: number, at = 0): View => ({
  epoch: BigInt(epoch),
  fingerprint: new Uint8Array([fp, epoch]),
  ancestry: [],
  receivedAt: at,
});

describe("long-silent members", () => {
  it("classify: a 3/2 fork with one member gone is a majority of 3 of 5; with three of 7 gone, no", () => {
    const roster = ["m0", "m1", "m2", "m3", "m4", "m5"];
    const views = new Map<string, View>([
      ["m1", view(1, 3)],
      ["m2", view(1, 3)],
      ["m3", view(2, 3)],
      ["m4", view(2, 3)],
    ]);
    const input = (gone: string[]) => ({
      self: "m0",
      history: [
        { epoch: 2n, fingerprint: new Uint8Array([0, 2]) },
        { epoch: 3n, fingerprint: new Uint8Array([1, 3]) },
      ],
      ancestry: [],
      roster,
      views,
      gone: new Set(gone),
      now: 0,
      windowMs: 1_000,
    });
    const judge = (gone: string[]) => classify(input(gone));
    assert.equal(judge([]).status, "UNKNOWN", "m5 could still make either side a majority");
    const v = judge(["m5"]);
    assert.equal(v.status, "IN_SYNC");
    assert.deepEqual(v.majority?.members, ["m0", "m1", "m2"]);
    // Three gone of 7 is more than ⌊6/3⌋ = 2: they count as silent (either side could still win), so wait.
    const seven = new Map<string, View>([
      ["m1", view(1, 3)],
      ["m2", view(2, 3)],
      ["m3", view(2, 3)],
    ]);
    const v7 = classify({
      ...input([]),
      roster: [...roster, "m6"],
      views: seven,
      gone: new Set(["m4", "m5", "m6"]),
    });
    assert.equal(v7.status, "UNKNOWN");
  });

  it("a member dead for good, the other 5 split 3/2 and both sides commit: the 2 re-align, nobody stays UNKNOWN", async () => {
    const c = await formedGroup(51, 6);
    const names = [...c.members.keys()];
    c.sim.crash("m5");
    const [three, two] = [names.slice(0, 3), names.slice(3, 5)];
    c.sim.partition([three, two, ["m5"]]);
    await c.members.get(three[0]!)!.proposeRefresh();
    await c.members.get(two[0]!)!.proposeRefresh();
    const committed = () => c.epochOf(three[0]!) > 1n && c.epochOf(two[0]!) > 1n;
    for (let t = 0; t < 60 && !committed(); t++) await c.sim.runFor(500);
    const a = toHex(c.members.get(three[0]!)!.group.group!.fingerprint);
    assert.notEqual(toHex(c.members.get(two[0]!)!.group.group!.fingerprint), a, "the sides forked");
    c.sim.heal();
    const live = names.slice(0, 5).map((n) => c.members.get(n)!);
    // Gone after 5 windows of 4 s in the preset: settled well within a minute (never without the rule).
    const deadline = c.now + 60_000;
    const settled = () =>
      live.every((m) => m.status === "IN_SYNC") &&
      new Set(live.map((m) => toHex(m.group.group!.fingerprint))).size === 1;
    while (!settled()) {
      assert.ok(c.now < deadline, `the live members settle: ${live.map((m) => m.status).join(" ")}`);
      await c.sim.runFor(500);
    }
    assert.equal(toHex(live[0]!.group.group!.fingerprint), a, "on the side of 3");
    assert.deepEqual(c.faults, []);
  });
});
