// demls against the reference de-MLS crates (docs/conformance.md): test/vectors/de-mls/*.json were computed
// by de-mls 4.0.0 and hashgraph-like-consensus 0.5.1 themselves (`npm run vectors`, interop/); this file
// checks demls's rules against them, in TypeScript only.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decide, mayDecideEarly, threshold } from "../../src/group/consensus.ts";
import { DEFAULT_GROUP_PARAMS } from "../../src/group/params.ts";
import {
  compareCandidates,
  elect,
  isExhausted,
  listSize,
  rotation,
  STEWARD_LIST_MIN,
  type StewardList,
  settledMembers,
  stewardOrder,
} from "../../src/group/steward.ts";
import { bytesEqual, fromHex, toHex, utf8 } from "../../src/util/bytes.ts";

const DIR = join(import.meta.dirname, "..", "vectors", "de-mls");
// biome-ignore lint/suspicious/noExplicitAny: vector files are plain JSON, read field by field
const read = (name: string): any => JSON.parse(readFileSync(join(DIR, name), "utf8"));
/** de-MLS applies a proposal whose timeout found no decision as rejected. */
const asDemls = (outcome: string) => (outcome === "FAILED" ? "NO" : outcome);
const hexes = (ids: readonly Uint8Array[]) => ids.map(toHex);

describe("de-MLS conformance vectors", () => {
  it("come from the crate versions interop/ pins", () => {
    const toml = readFileSync(join(import.meta.dirname, "..", "..", "interop", "Cargo.toml"), "utf8");
    const pinned = (crate: string) => toml.match(new RegExp(`^${crate} = "=([^"]+)"`, "m"))?.[1];
    const source = `de-mls ${pinned("de-mls")}, hashgraph-like-consensus ${pinned("hashgraph-like-consensus")}`;
    const files = readdirSync(DIR).filter((f) => f.endsWith(".json"));
    assert.ok(files.length >= 7, `vector files: ${files}`);
    for (const f of files) assert.equal(read(f).source, source, f);
  });

  it("decision rule: every tally of 1..12 voters, before and at the timeout, either liveness", () => {
    const v = read("decision.json");
    assert.equal(v.cases.length, v.count);
    const wrong = v.cases.filter(
      // biome-ignore lint/suspicious/noExplicitAny: a vector case
      (c: any) => decide(c.n, c.yes, c.no, c.timedOut, c.liveness) !== asDemls(c.outcome),
    );
    assert.deepEqual(wrong, [], `${wrong.length} of ${v.cases.length} cases differ`);
  });

  it("decision rule: a member decides at the vote the session decides at, and keeps it", () => {
    const v = read("consensus-sessions.json");
    for (const c of v.cases) {
      let state = "PENDING";
      const after: string[] = [];
      let yes = 0;
      let no = 0;
      for (const choice of c.votes as boolean[]) {
        if (choice) yes++;
        else no++;
        if (state === "PENDING") {
          state = decide(c.n, yes, no, false, c.liveness);
          // The member ticks at once when its tally may decide (not at its next timer).
          if (state !== "PENDING") assert.ok(mayDecideEarly(c.n, yes + no), JSON.stringify(c));
        }
        after.push(state);
      }
      const atTimeout = state === "PENDING" ? decide(c.n, yes, no, true, c.liveness) : state;
      assert.deepEqual(after, c.afterEachVote.map(asDemls), JSON.stringify(c));
      assert.equal(atTimeout, asDemls(c.afterTimeout), JSON.stringify(c));
    }
  });

  it("steward order: SHA-256 of the election epoch (u64), retry round (u32), member and conversation", () => {
    const v = read("steward-list.json");
    const first = v.order[0];
    assert.deepEqual(
      first.order.map((m: string) => m.slice(0, 2)),
      ["01", "02", "04", "03", "05"],
      "the issue's example",
    );
    for (const c of v.order) {
      const got = stewardOrder(
        BigInt(c.electionEpoch),
        c.retryRound,
        c.members.map(fromHex),
        utf8(c.conversation),
      );
      assert.deepEqual(hexes(got), c.order, JSON.stringify(c));
    }
  });

  it("steward list size: sn_max, or every member of a smaller group", () => {
    for (const c of read("steward-list.json").sizes)
      assert.equal(listSize(c.snMax, c.members, c.snMin), c.listSize, JSON.stringify(c));
    assert.equal(STEWARD_LIST_MIN, read("defaults.json").stewardList.snMin);
  });

  it("rotation: the epoch steward and its backup over the list's span, past a member not eligible", () => {
    for (const c of read("steward-list.json").rotations) {
      const members = c.members.map(fromHex);
      const list: StewardList = elect(
        BigInt(c.electionEpoch),
        c.retryRound,
        members,
        utf8(c.conversation),
        c.list.length,
      );
      assert.deepEqual(hexes(list.members), c.list);
      const first = fromHex(c.first);
      for (const e of c.epochs) {
        const epoch = BigInt(e.epoch);
        assert.equal(isExhausted(list, epoch), e.exhausted);
        const all = rotation(list, epoch, () => true);
        const without = rotation(list, epoch, (m) => !bytesEqual(m, first));
        const at = (r: Uint8Array[], i: number) => (r[i] === undefined ? null : toHex(r[i]!));
        assert.deepEqual([at(all, 0), at(all, 1)], [e.steward, e.backup], `epoch ${e.epoch}`);
        assert.deepEqual(
          [at(without, 0), at(without, 1)],
          [e.stewardWithoutFirst, e.backupWithoutFirst],
          `epoch ${e.epoch} without ${c.first}`,
        );
      }
    }
  });

  it("settled members: all but those the epoch's commit added (a re-added member is the one deviation)", () => {
    const s = read("steward-list.json").settled;
    const joins: { member: string; epoch: number }[] = s.joins;
    for (const row of s.byEpoch) {
      // The roster at the epoch: the members present from the start and those first added by then.
      const joined = (m: string) => joins.filter((j) => j.member === m).map((j) => j.epoch);
      const roster: string[] = s.members.filter(
        (m: string) => joined(m).length === 0 || Math.min(...joined(m)) <= row.epoch,
      );
      const added = joins.filter((j) => j.epoch === row.epoch).map((j) => j.member);
      const got = hexes(settledMembers(roster.map(fromHex), added.map(fromHex)));
      // Member 02 is added again at epoch 4: de-MLS keeps its first join epoch (1) and counts it settled;
      // demls does not count a member its epoch's commit added, whether new or back (docs/conformance.md).
      const want = row.settled.filter(
        (m: string) => roster.includes(m) && (row.epoch !== 4 || !added.includes(m)),
      );
      assert.deepEqual(got, want, `epoch ${row.epoch}`);
    }
  });

  it("candidate ranking: most proposals, the epoch steward, the smallest steward id, the lowest hash", () => {
    const v = read("candidates.json");
    for (const c of v.cases) {
      const tried = new Set<string>(c.ranking);
      const cands = c.candidates
        .filter((x: { hash: string }) => tried.has(x.hash))
        .map((x: { proposals: number; steward: string; hash: string }) => ({
          proposals: x.proposals,
          sender: fromHex(x.steward),
          hash: fromHex(x.hash),
        }));
      const steward = c.epochSteward === null ? undefined : fromHex(c.epochSteward);
      cands.sort((a: never, b: never) => compareCandidates(a, b, steward));
      assert.deepEqual(
        cands.map((x: { hash: Uint8Array }) => toHex(x.hash)),
        c.ranking,
        JSON.stringify(c),
      );
    }
  });

  it("defaults: de-MLS's timings, list size, commit batch and threshold", () => {
    const d = read("defaults.json");
    const p = DEFAULT_GROUP_PARAMS;
    assert.deepEqual(
      {
        votingDelayMs: p.votingDelayMs,
        consensusTimeoutMs: p.consensusTimeoutMs,
        proposalExpiryMs: p.proposalExpiryMs,
        commitDelayMs: p.commitDelayMs,
        backupDelayMs: p.backupDelayMs,
        freezeMs: p.freezeMs,
        stewardListSize: p.stewardListSize,
        maxProposalsPerCommit: p.maxProposalsPerCommit,
        keyPackageEpochs: p.keyPackageEpochs,
      },
      {
        votingDelayMs: d.conversation.votingDelayMs,
        consensusTimeoutMs: d.conversation.consensusTimeoutMs,
        proposalExpiryMs: d.conversation.proposalExpirationMs,
        commitDelayMs: d.conversation.commitInactivityMs,
        backupDelayMs: d.conversation.recoveryInactivityMs,
        freezeMs: d.conversation.freezeMs,
        stewardListSize: d.stewardList.snMax,
        maxProposalsPerCommit: d.commitBatchMax,
        keyPackageEpochs: d.conversation.pendingUpdateMaxEpochs,
      },
    );
    assert.equal(d.consensus.threshold, 2 / 3);
    for (let n = 1; n <= 1000; n++) assert.equal(threshold(n), Math.ceil((n * 2) / 3));
  });
});
