import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { agreedRoster, classify, type View } from "../../src/sync/classify.ts";

/** A chain of states: branch b, epochs 0..e; fingerprints differ per branch after the fork epoch. */
function fp(branch: number, epoch: number, fork: number): Uint8Array {
  return new Uint8Array([epoch <= fork ? 0 : branch, epoch]);
}
function historyOf(branch: number, epoch: number, fork: number) {
  return Array.from({ length: epoch + 1 }, (_, e) => ({
    epoch: BigInt(e),
    fingerprint: fp(branch, e, fork),
  }));
}
function viewOf(branch: number, epoch: number, fork: number, at = 0): View {
  const h = historyOf(branch, epoch, fork);
  return {
    epoch: BigInt(epoch),
    fingerprint: fp(branch, epoch, fork),
    ancestry: h.slice(0, -1).reverse().slice(0, 16),
    receivedAt: at,
  };
}

const roster = Array.from({ length: 10 }, (_, i) => `m${i}`);

/** The verdict of member `self`, whose history is `historyOf(branch, epoch, fork)`, on `views`. */
const verdictOf = (self: string, own: [number, number, number], views: ReadonlyMap<string, View>) =>
  classify({ self, history: historyOf(...own), ancestry: [], roster, views, now: 0, windowMs: 1000 });

describe("classification", () => {
  it("lagging minority is BEHIND, majority IN_SYNC; split three ways is HARD; few views UNKNOWN", () => {
    const views = new Map<string, View>();
    roster.forEach((m, i) => void views.set(m, viewOf(0, i < 7 ? 8 : 3, 99)));
    const me = (i: number, epoch: number) => verdictOf(`m${i}`, [0, epoch, 99], views);
    assert.equal(me(0, 8).status, "IN_SYNC");
    assert.equal(me(9, 3).status, "BEHIND");
    const split = new Map<string, View>();
    roster.forEach((m, i) => void split.set(m, viewOf(i % 3, 6, 2)));
    const v = verdictOf("m0", [0, 6, 2], split);
    assert.equal(v.status, "HARD");
    const few = new Map([...split].slice(0, 3));
    assert.equal(verdictOf("m0", [0, 6, 2], few).status, "UNKNOWN");
  });

  it("a forked minority is FORKED; members that only one branch added do not count", () => {
    const views = new Map<string, View>();
    roster.forEach((m, i) => void views.set(m, viewOf(i < 6 ? 0 : 1, 5, 2)));
    const v = verdictOf("m8", [1, 5, 2], views);
    assert.equal(v.status, "FORKED");
    // m8's own branch added x1..x4: its latest roster is bigger, but the agreed roster stays the old one.
    const rosters = new Map<string, string[]>();
    for (let e = 0; e <= 5; e++) {
      const h = historyOf(1, e, 2).at(-1)!;
      const key = Buffer.from(h.fingerprint).toString("hex");
      rosters.set(key, e <= 2 ? roster : [...roster, "x1", "x2", "x3", "x4"]);
    }
    const agreed = agreedRoster("m8", historyOf(1, 5, 2), (k) => rosters.get(k), views, 0, 1000);
    assert.deepEqual(agreed, roster);
  });

  it("HARD waits for the members not heard from when they could still make a majority", () => {
    // Just after a heal a cut-off member has heard its 2 peers and 3 of the 7 ahead: 6 of 10 report and
    // no state has more than 5, but the 4 not heard from are ahead too. HARD would be wrong: UNKNOWN.
    const views = new Map<string, View>();
    roster.forEach((m, i) => {
      if (i < 3 || i >= 7) views.set(m, viewOf(0, i < 7 ? 40 : 3, 99));
    });
    const at = (self: string, epoch: number, v: Map<string, View>) => verdictOf(self, [0, epoch, 99], v);
    assert.equal(at("m9", 3, views).status, "UNKNOWN");
    for (let i = 3; i < 7; i++) views.set(`m${i}`, viewOf(0, 40, 99));
    assert.equal(at("m9", 3, views).status, "BEHIND");
    // A 4/3/3 split with one member silent stays HARD: 4 + 1 is still no majority of 10.
    const split = new Map<string, View>();
    for (const [i, m] of roster.slice(0, 9).entries()) split.set(m, viewOf(i < 4 ? 0 : i < 7 ? 1 : 2, 6, 2));
    assert.equal(verdictOf("m0", [0, 6, 2], split).status, "HARD");
  });

  it("property: HARD on some views stays HARD whatever honest views the silent members send", () => {
    // Three branches off one trunk (epochs <= fork); each member on some branch at some epoch, a few not
    // heard from. Honest completions put each silent member anywhere on the branches, new states included.
    const place = fc.record({
      branch: fc.integer({ min: 0, max: 2 }),
      epoch: fc.integer({ min: 0, max: 12 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.array(fc.option(place, { freq: 3 }), { minLength: 10, maxLength: 10 }),
        fc.array(place, { minLength: 10, maxLength: 10 }),
        (fork, seen, later) => {
          const self = seen[0] ?? later[0]!;
          const own: [number, number, number] = [self.branch, self.epoch, fork];
          // m0 is the evaluating member; the others report what `seen` says, or stay silent (null).
          const partial = new Map<string, View>();
          for (const [i, p] of seen.entries())
            if (p && i > 0) partial.set(`m${i}`, viewOf(p.branch, p.epoch, fork));
          if (verdictOf("m0", own, partial).status !== "HARD") return;
          const full = new Map(partial);
          for (const [i, p] of later.entries())
            if (i > 0 && !full.has(`m${i}`)) full.set(`m${i}`, viewOf(p.branch, p.epoch, fork));
          assert.equal(verdictOf("m0", own, full).status, "HARD");
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("property: same views give the same verdict; one liar cannot move a majority or make it HARD", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 6, max: 10 }),
        fc.integer({ min: 0, max: 9 }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 10, maxLength: 10 }),
        fc.integer({ min: 0, max: 20 }),
        fc.boolean(),
        (majoritySize, liarIdx, others, liarEpoch, liarForged) => {
          // majoritySize members on branch 0 at epoch 6; the rest scattered; member `liar` lies.
          const views = new Map<string, View>();
          roster.forEach((m, i) => {
            if (i < majoritySize) views.set(m, viewOf(0, 6, 3));
            else views.set(m, viewOf(1 + (others[i]! % 2), 2 + others[i]!, 1));
          });
          const honest = verdictOf("m0", [0, 6, 3], views);
          // Same inputs, another evaluating member with the same history: same verdict.
          const again = verdictOf("m0", [0, 6, 3], new Map([...views].reverse()));
          assert.deepEqual(again.status, honest.status);
          assert.deepEqual(again.majority?.fingerprint, honest.majority?.fingerprint);
          const liar = `m${liarIdx}`;
          const lying = new Map(views);
          lying.set(
            liar,
            liarForged
              ? { ...viewOf(2, liarEpoch, 0), ancestry: viewOf(0, 6, 3).ancestry }
              : viewOf(0, liarEpoch, 3),
          );
          const v = verdictOf("m0", [0, 6, 3], lying);
          if (majoritySize - 1 > 5 || (majoritySize > 5 && liarIdx >= majoritySize)) {
            assert.notEqual(v.status, "HARD");
            assert.deepEqual(v.majority?.fingerprint, fp(0, 6, 3), "the majority state stays the majority");
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("in a roster of 2 or 3 (no fault tolerated), one member a commit ahead on our chain is the branch we are on", () => {
    const small = (r: string[], self: string, own: [number, number, number], views: Map<string, View>) =>
      classify({
        self,
        history: historyOf(...own),
        ancestry: viewOf(...own).ancestry,
        roster: r,
        views,
        now: 0,
        windowMs: 1000,
      });
    // Two members: m0 at epoch 1, m1 at epoch 2 on it (chaos churn 1576 went HARD on both sides for good).
    const two = new Map([
      ["m0", viewOf(0, 1, 99)],
      ["m1", viewOf(0, 2, 99)],
    ]);
    const behind = small(["m0", "m1"], "m0", [0, 1, 99], two);
    assert.equal(behind.status, "BEHIND");
    assert.equal(behind.majority?.epoch, 2n);
    assert.equal(small(["m0", "m1"], "m1", [0, 2, 99], two).status, "IN_SYNC");
    // Two members each past epoch 1 on different branches, and the third at epoch 1: no branch wins.
    const three = new Map([
      ["m0", viewOf(0, 1, 1)],
      ["m1", viewOf(1, 2, 1)],
      ["m2", viewOf(2, 2, 1)],
    ]);
    assert.equal(small(["m0", "m1", "m2"], "m0", [0, 1, 1], three).status, "HARD");
    // Four members (one liar tolerated): a lone claim past ours is no majority with us alone.
    const four = new Map([
      ["m0", viewOf(0, 1, 99)],
      ["m1", viewOf(0, 2, 99)],
      ["m2", viewOf(1, 3, 0)],
      ["m3", viewOf(2, 3, 0)],
    ]);
    assert.equal(small(["m0", "m1", "m2", "m3"], "m0", [0, 1, 99], four).majority, undefined);
  });
});

describe("the tie-break after a proven equivocation (tie-break.ts)", () => {
  // Branches 0 and 1 fork after epoch 2 (the equivocated epoch): the commits lead to fp(b, 3, 2).
  const fork = { epoch: 3n, winner: fp(1, 3, 2), loser: fp(0, 3, 2) };
  const split = (onWinner: number) => {
    const views = new Map<string, View>();
    roster.forEach((m, i) => void views.set(m, viewOf(i < onWinner ? 1 : 0, 5, 2)));
    return views;
  };
  const verdict = (self: string, branch: number, views: Map<string, View>, forks = [fork]) =>
    classify({
      self,
      history: historyOf(branch, 5, 2),
      ancestry: viewOf(branch, 5, 2).ancestry,
      roster,
      views,
      forks,
      now: 0,
      windowMs: 1000,
    });

  it("an even split between the two branches: the lower-hash commit's branch wins, the other realigns", () => {
    const views = split(5);
    assert.equal(verdict("m0", 1, views).status, "IN_SYNC");
    const loser = verdict("m9", 0, views);
    assert.equal(loser.status, "FORKED");
    assert.deepEqual(loser.majority?.fingerprint, fp(1, 5, 2));
    // Without the evidence (no fork known), the same split has no majority: HARD, as before.
    assert.equal(verdict("m9", 0, views, []).status, "HARD");
  });

  it("never overrides a majority, a count still open, or a split the fork does not explain", () => {
    // Six of ten on the loser's branch: the majority decides.
    assert.equal(verdict("m9", 0, split(4)).status, "IN_SYNC");
    assert.equal(verdict("m0", 1, split(4)).status, "FORKED");
    // Two members not heard from yet: they could still make a majority, so wait.
    const open = split(5);
    open.delete("m3");
    open.delete("m4");
    assert.equal(verdict("m9", 0, open).status, "UNKNOWN");
    // The equivocator m9 left out, 4/4, and one made-up state (a lone claim, within the fault bound):
    // it does not keep the tie-break off.
    const liar = split(4);
    liar.set("m8", { ...viewOf(2, 5, 1), fingerprint: new Uint8Array([9, 9]) });
    const excluded = new Set(["m9"]);
    const withLiar = (self: string, branch: number) =>
      classify({
        self,
        history: historyOf(branch, 5, 2),
        ancestry: viewOf(branch, 5, 2).ancestry,
        roster,
        views: liar,
        excluded,
        forks: [fork],
        now: 0,
        windowMs: 1000,
      });
    assert.equal(withLiar("m0", 1).status, "IN_SYNC");
    assert.equal(withLiar("m4", 0).status, "FORKED");
    // A third branch (forked at epoch 1, named by no fork): HARD.
    const three = split(4);
    for (const m of ["m8", "m9"]) three.set(m, viewOf(2, 5, 1));
    assert.equal(verdict("m0", 1, three).status, "HARD");
  });
});
