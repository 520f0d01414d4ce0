// Stranded members (src/sync/stranded.ts, docs/sync.md "Stranded members"), rule by rule on a fake port:
// a member reading only members at its own state waits, unless the signed last word of at least as many
// others puts them past it on another branch; unreadable traffic alone never strands it.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { MlsGroup } from "../../src/mls/index.ts";
import type { Verdict } from "../../src/sync/classify.ts";
import type { SyncContext } from "../../src/sync/context.ts";
import { FAST_SYNC_PARAMS, gossipTiming } from "../../src/sync/params.ts";
import { newSyncState, newSyncVolatile } from "../../src/sync/state.ts";
import { stranded } from "../../src/sync/stranded.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";

const fp = (e: bigint, branch: string) => utf8(`${branch}/${e}`.padEnd(32, "."));
const gid = utf8("group");
const id = (name: string) => toHex(utf8(name));
const ROSTER = ["me", "pal", "x", "y", "z"];
const windowMs = gossipTiming(FAST_SYNC_PARAMS, ROSTER.length).windowMs;

/** A group at `epoch` on branch `branch` (its history from epoch 0). */
function group(epoch: bigint, branch: string): MlsGroup {
  const history = [];
  for (let e = 0n; e <= epoch; e++) history.push({ epoch: e, fingerprint: fp(e, branch) });
  return { groupId: gid, epoch, fingerprint: fp(epoch, branch), history } as unknown as MlsGroup;
}

/** "me" at epoch 7 of branch "a", with a roster of five, its last verdict `UNKNOWN`. */
function context(): SyncContext {
  const ctx = {
    port: {
      group: group(7n, "a"),
      memberId: utf8("me"),
      rosterIds: () => ROSTER.map(utf8),
      syncKey: undefined,
    },
    state: newSyncState(),
    volatile: newSyncVolatile(),
    params: FAST_SYNC_PARAMS,
  } as unknown as SyncContext;
  ctx.volatile.verdict = { status: "UNKNOWN", states: [] } as unknown as Verdict;
  return ctx;
}

/** A view of `who` at `epoch` of `branch` (ancestry: the two epochs below), heard at `at`. */
function view(ctx: SyncContext, who: string, epoch: bigint, branch: string, at: number): void {
  const ancestry = [epoch - 1n, epoch - 2n].map((e) => ({
    epoch: e,
    fingerprint: fp(e, e <= 5n ? "a" : branch),
  }));
  ctx.state.views.set(id(who), {
    epoch,
    fingerprint: fp(epoch, branch),
    ancestry,
    receivedAt: at,
    groupId: toHex(gid),
  });
}

/** Ticks `stranded` every second from `from` to `to`, with unreadable traffic going on; the first true. */
function strandedWithin(
  ctx: SyncContext,
  from: number,
  to: number,
  fresh: (now: number) => void,
): number | undefined {
  for (let now = from; now <= to; now += 1_000) {
    ctx.volatile.unreadableAt = now;
    fresh(now);
    if (stranded(ctx, now)) return now;
  }
  return undefined;
}

const SPAN = FAST_SYNC_PARAMS.strandedAfterWindows * windowMs;

it("reading only a member at our own state while traffic we cannot read goes on: we wait, however long", () => {
  const ctx = context();
  const t0 = 10 * windowMs;
  assert.equal(
    strandedWithin(ctx, t0, t0 + 4 * SPAN, (now) => view(ctx, "pal", 7n, "a", now)),
    undefined,
  );
});

it("the signed last word of as many others, past us on another branch, lately: we ask to rejoin after the span; from long ago, we wait", () => {
  const ctx = context();
  // x and y were last heard (signed) at epoch 8 of branch "b", which forked from ours at epoch 6.
  const t0 = 10 * windowMs;
  view(ctx, "x", 8n, "b", t0 - 2 * windowMs);
  view(ctx, "y", 8n, "b", t0 - 2 * windowMs);
  const at = strandedWithin(ctx, t0, t0 + 4 * SPAN, (now) => view(ctx, "pal", 7n, "a", now));
  assert.ok(at !== undefined && at - t0 >= SPAN, `stranded at ${at}`);
  // The same last words from long before (members offline since): no reason to go.
  const old = context();
  view(old, "x", 8n, "b", t0 - 2 * SPAN - windowMs);
  view(old, "y", 8n, "b", t0 - 2 * SPAN - windowMs);
  assert.equal(
    strandedWithin(old, t0, t0 + 4 * SPAN, (now) => view(old, "pal", 7n, "a", now)),
    undefined,
  );
});

it("fewer others past us than members at our state, the others at or below our epoch or on our chain, in sync, or no unreadable traffic: we wait", () => {
  const t0 = 10 * windowMs;
  /** "me" reading "pal" at its state, with the last word of `others` (name, epoch, branch) heard at 0. */
  const waits = (others: [string, bigint, string][], status = "UNKNOWN", unreadable = true) => {
    const ctx = context();
    ctx.volatile.verdict = { status, states: [] } as unknown as Verdict;
    for (const [who, epoch, branch] of others) view(ctx, who, epoch, branch, t0 - 2 * windowMs);
    for (let now = t0; now <= t0 + 4 * SPAN; now += 1_000) {
      ctx.volatile.unreadableAt = unreadable ? now : undefined;
      view(ctx, "pal", 7n, "a", now);
      if (stranded(ctx, now)) return false;
    }
    return true;
  };
  const ahead: [string, bigint, string][] = [
    ["x", 8n, "b"],
    ["y", 8n, "b"],
  ];
  assert.ok(waits([["x", 8n, "b"]]), "one insider's word against two of us");
  assert.ok(
    waits([
      ["x", 7n, "b"],
      ["y", 7n, "b"],
    ]),
    "an even split at our epoch: neither side ahead",
  );
  assert.ok(
    waits([
      ["x", 8n, "a"],
      ["y", 8n, "a"],
    ]),
    "past us on our own chain: behind, not left",
  );
  assert.ok(waits(ahead, "IN_SYNC"), "a majority verdict");
  assert.ok(waits(ahead, "UNKNOWN", false), "no unreadable traffic: nothing says the group goes on");
  assert.ok(!waits(ahead), "and the case that strands, for contrast");
});
