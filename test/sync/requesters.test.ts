// The books a holder keeps on catch-up requesters (src/sync/requesters.ts), function by function: who may
// ask (a member of a recent roster), from where (not below where it was seen), how often and how much.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { MlsGroup } from "../../src/mls/index.ts";
import type { SyncContext } from "../../src/sync/context.ts";
import { FAST_SYNC_PARAMS, type SyncParams } from "../../src/sync/params.ts";
import {
  answerCommits,
  answerFrom,
  charge,
  noteSeen,
  refusal,
  requesterKey,
} from "../../src/sync/requesters.ts";
import { newSyncState, newSyncVolatile } from "../../src/sync/state.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";

const fp = (e: bigint, branch = "a") => utf8(`${branch}/${e}`.padEnd(32, "."));
const gid = utf8("group");

/** A group at `epoch` whose history holds branch `branch` from epoch 0. */
function group(epoch: bigint, branch = "a"): MlsGroup {
  const history = [];
  for (let e = 0n; e <= epoch; e++) history.push({ epoch: e, fingerprint: fp(e, branch) });
  return {
    groupId: gid,
    epoch,
    fingerprint: fp(epoch, branch),
    history,
    options: { historySize: 64, retainedEpochs: 4 },
  } as unknown as MlsGroup;
}

function context(params: Partial<SyncParams> = {}, g: MlsGroup = group(10n)): SyncContext {
  return {
    port: { group: g },
    state: newSyncState(),
    volatile: newSyncVolatile(),
    params: { ...FAST_SYNC_PARAMS, ...params },
  } as unknown as SyncContext;
}

const id = (name: string) => toHex(utf8(name));

it("a requester must be on the roster of one of our recent states, with a key we know", () => {
  const ctx = context();
  ctx.state.directory.set(id("alice"), utf8("alice's key"));
  ctx.state.directory.set(id("bob"), utf8("bob's key"));
  ctx.state.directory.set(id("carol"), utf8("carol's key"));
  // Two recent states: bob was removed between them; carol was in a roster that has aged out.
  ctx.state.rosters.set("s1", [id("alice"), id("bob")].sort());
  ctx.state.rosters.set("s2", [id("alice")]);
  assert.deepEqual(requesterKey(ctx, id("alice")), utf8("alice's key"));
  assert.deepEqual(requesterKey(ctx, id("bob")), utf8("bob's key"), "removed, but on a recent roster");
  assert.equal(requesterKey(ctx, id("carol")), undefined, "in the directory only");
  assert.equal(requesterKey(ctx, id("dave")), undefined, "never seen");
});

it("an answer starts no lower than the newest state of our chain the requester was seen at", () => {
  const g = group(10n);
  const ctx = context({}, g);
  const info = (e: bigint, branch = "a") => ({
    groupId: gid,
    epoch: e,
    fingerprint: fp(e, branch),
    ancestry: [],
    quietCounts: [],
  });
  noteSeen(ctx, id("m"), info(7n));
  assert.equal(answerFrom(ctx, g, id("m"), 2n), 7n, "it holds the commits before epoch 7");
  assert.equal(answerFrom(ctx, g, id("m"), 8n), 8n, "a later from stands");
  // A later claim of an older state does not lower it; a state off our chain does not count.
  noteSeen(ctx, id("m"), info(3n));
  noteSeen(ctx, id("m"), info(9n, "b"));
  assert.equal(answerFrom(ctx, g, id("m"), 2n), 7n);
  assert.equal(answerFrom(ctx, g, id("other"), 2n), 2n, "never seen: its from");
  // We moved to another branch since: the record cannot be checked and does not count, and a state of
  // our new chain replaces it even when older.
  const b = group(10n, "b");
  assert.equal(answerFrom(ctx, b, id("m"), 2n), 2n);
  (ctx.port as { group: MlsGroup }).group = b;
  noteSeen(ctx, id("m"), info(5n, "b"));
  assert.equal(answerFrom(ctx, b, id("m"), 2n), 5n);
});

it("a requester is throttled within half a retry interval unless it asks after its last answer", () => {
  const ctx = context({ catchUpRetryMs: 1_000, catchUpServesPerRetry: 2 });
  charge(ctx, id("m"), 100, 3n, 6n, 0);
  assert.equal(refusal(ctx, id("m"), 4n, 100), "CATCH_UP_THROTTLED");
  assert.equal(refusal(ctx, id("m"), 6n, 100), undefined, "the rest of a cut answer");
  assert.equal(refusal(ctx, id("m"), 4n, 500), undefined, "half an interval later");
  assert.equal(refusal(ctx, id("n"), 4n, 100), undefined, "another requester");
  // An answer that carried no commit lets nothing through early.
  charge(ctx, id("e"), 100, 6n, 6n, 0);
  assert.equal(refusal(ctx, id("e"), 6n, 100), "CATCH_UP_THROTTLED");
});

it("answer bytes are budgeted per requester and in total per window, charged as catchUpResponders answers", () => {
  const ctx = context({
    catchUpBudgetMs: 1_000,
    catchUpRequesterBytes: 1_000,
    catchUpTotalBytes: 2_500,
    catchUpResponders: 2,
    catchUpServesPerRetry: 1e9,
  });
  charge(ctx, id("a"), 300, 0n, 1n, 0); // 600 charged
  assert.equal(refusal(ctx, id("a"), 1n, 10), undefined, "below the budget: the next is answered whole");
  charge(ctx, id("a"), 300, 1n, 2n, 10); // 1200
  assert.equal(refusal(ctx, id("a"), 2n, 20), "CATCH_UP_BUDGET");
  assert.equal(refusal(ctx, id("b"), 1n, 20), undefined, "another requester has its own");
  charge(ctx, id("b"), 700, 0n, 1n, 20); // total 2600
  assert.equal(refusal(ctx, id("c"), 1n, 30), "CATCH_UP_BUDGET", "the total is reached");
  assert.equal(refusal(ctx, id("a"), 2n, 1_000), undefined, "a new window");
  assert.equal(refusal(ctx, id("c"), 1n, 1_020), undefined);
});

it("an answer carries commits from `from` up to the target, cut at the byte limit but never empty", () => {
  const log = [3n, 4n, 5n, 6n].map((e) => ({
    epoch: e,
    commit: new Uint8Array(100),
    fingerprintAfter: new Uint8Array(32),
  }));
  assert.deepEqual(
    answerCommits(log, 4n, 6n, 1_000).commits.map((c) => c.epoch),
    [4n, 5n],
  );
  assert.deepEqual(
    answerCommits(log, 3n, 7n, 300).commits.map((c) => c.epoch),
    [3n, 4n],
  );
  assert.deepEqual(
    answerCommits(log, 3n, 7n, 1).commits.map((c) => c.epoch),
    [3n],
  );
  assert.equal(answerCommits(log, 7n, 7n, 1_000).commits.length, 0);
});
