// Relayed infos (src/sync/relay.ts, docs/sync.md "Relayed infos"), on a fake port: a member answering a
// roster member under an older key passes on the signed infos of the members at its own state, and only
// those, once per half window, thinned by how many others hold the key.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { MlsGroup } from "../../src/mls/index.ts";
import type { SyncContext } from "../../src/sync/context.ts";
import { FAST_SYNC_PARAMS, gossipTiming } from "../../src/sync/params.ts";
import { keepForRelay, relays } from "../../src/sync/relay.ts";
import { open } from "../../src/sync/seal.ts";
import { newSyncState, newSyncVolatile } from "../../src/sync/state.ts";
import { decodeSyncPayload, type SyncStateInfo } from "../../src/sync/wire.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";

const gid = utf8("group");
const fp = (branch: string) => utf8(branch.padEnd(32, "."));
const ROSTER = ["me", "asker", "a", "b", "c", "d"];
const windowMs = gossipTiming(FAST_SYNC_PARAMS, ROSTER.length).windowMs;
const CURRENT = new Uint8Array(32).fill(1);
const OLD = new Uint8Array(32).fill(2);
const aad = utf8("topic");

/** "me" at epoch 7 of branch "x", drawing `draw` from its rng. */
function context(draw = 0): SyncContext {
  return {
    port: {
      group: { groupId: gid, epoch: 7n, fingerprint: fp("x"), history: [] } as unknown as MlsGroup,
      memberId: utf8("me"),
      rosterIds: () => ROSTER.map(utf8),
      syncKey: CURRENT,
      previousSyncKeys: [OLD],
    },
    state: newSyncState(),
    volatile: newSyncVolatile(),
    params: FAST_SYNC_PARAMS,
    rng: { next: () => draw, int: (n: number) => Math.floor(draw * n) },
    topic: "topic",
    topicAad: aad,
  } as unknown as SyncContext;
}

/** `who`'s info at `branch` (epoch 7), seqnum `seq`, heard at `at` under `key`. */
function hear(ctx: SyncContext, who: string, branch: string, seq: bigint, at: number, key = CURRENT): void {
  const info: SyncStateInfo = {
    groupId: gid,
    memberId: utf8(who),
    epoch: 7n,
    fingerprint: fp(branch),
    seqnum: seq,
    ancestry: [],
    quietCounts: [],
    signature: utf8(`sig-${who}-${seq}`),
  };
  ctx.state.views.set(toHex(utf8(who)), {
    epoch: 7n,
    fingerprint: fp(branch),
    ancestry: [],
    receivedAt: at,
    groupId: toHex(gid),
  });
  keepForRelay(ctx, toHex(utf8(who)), info, key, at);
}

/** Who the relayed infos (opened under the old key) are of, and that each is the member's own, signed. */
function relayedOf(effects: { bytes: Uint8Array }[]): string[] {
  return effects
    .map((e) => {
      const info = decodeSyncPayload(open([OLD], e.bytes, aad).plaintext).info!;
      assert.equal(
        new TextDecoder().decode(info.signature),
        `sig-${new TextDecoder().decode(info.memberId)}-${info.seqnum}`,
      );
      return new TextDecoder().decode(info.memberId);
    })
    .sort();
}

const askers = new Set([toHex(utf8("asker"))]);

it("relays, under the asker's key, the signed infos of fresh members at our state: not the asker's, not other states', not stale ones", () => {
  const ctx = context();
  const t = 10 * windowMs;
  hear(ctx, "asker", "y", 1n, t, OLD);
  hear(ctx, "a", "x", 1n, t);
  hear(ctx, "b", "x", 1n, t - windowMs / 2 - 1);
  hear(ctx, "c", "z", 1n, t);
  hear(ctx, "d", "x", 1n, t - windowMs - 1);
  assert.deepEqual(relayedOf(relays(ctx, OLD, askers, t)), ["a", "b"]);
  // Within half a window: nothing again; after it, again, of those still fresh (b is stale by then).
  assert.deepEqual(relays(ctx, OLD, askers, t + windowMs / 4), []);
  hear(ctx, "a", "x", 2n, t + windowMs / 2);
  assert.deepEqual(relayedOf(relays(ctx, OLD, askers, t + windowMs / 2)), ["a"]);
});

it("with others at our state holding the key, each relays with probability 2/h; a key we no longer hold relays nothing", () => {
  const t = 10 * windowMs;
  // a, b and d answered under the old key too: with us, h = 4 holders at our state, a share of 1/2.
  for (const [draw, want] of [
    [0.49, ["a", "b", "c", "d"]],
    [0.5, []],
  ] as const) {
    const ctx = context(draw);
    hear(ctx, "a", "x", 1n, t, OLD);
    hear(ctx, "b", "x", 1n, t, OLD);
    hear(ctx, "d", "x", 1n, t, OLD);
    hear(ctx, "c", "x", 1n, t);
    assert.deepEqual(relayedOf(relays(ctx, OLD, askers, t)), want);
  }
  const ctx = context();
  hear(ctx, "a", "x", 1n, t);
  (ctx.port as unknown as { previousSyncKeys: Uint8Array[] }).previousSyncKeys = [];
  ctx.volatile.relayed.set(toHex(OLD), new Map());
  relays(ctx, CURRENT, askers, t);
  assert.ok(!ctx.volatile.relayed.has(toHex(OLD)), "records of keys we no longer hold are dropped");
});
