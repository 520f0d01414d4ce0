// The sync channel's sending side and the layer's counters: payloads sealed under a sync key for the
// conversation's sync topic, the keys our own messages go under, and counting by code.
import { bytesEqual } from "../util/bytes.ts";
import type { SyncCode } from "./codes.ts";
import { SyncError } from "./codes.ts";
import type { SyncContext } from "./context.ts";
import type { PublishEffect, SyncEffect } from "./effects.ts";
import { seal } from "./seal.ts";
import { encodeSyncPayload, type SyncPayload } from "./wire.ts";

/** Counts a dropped input or a notable step by code. */
export function count(ctx: SyncContext, code: SyncCode): void {
  ctx.state.counters[code] = (ctx.state.counters[code] ?? 0) + 1;
}

/** Counts a dropped input; nothing to do. */
export function drop(ctx: SyncContext, code: SyncCode): SyncEffect[] {
  count(ctx, code);
  return [];
}

/**
 * Seals a payload for the sync channel under the current sync key, or under `key`: the previous key a
 * peer that missed a rotation still uses (it cannot read the current one).
 * @throws {SyncError} `NO_SYNC_KEY` without a current or previous key.
 */
export function publish(
  ctx: SyncContext,
  payload: SyncPayload,
  key = ctx.port.syncKey ?? ctx.port.previousSyncKeys[0],
): PublishEffect {
  // Between a rejoin's Welcome and its key share a member has only previous keys (or, before any
  // share, none: then nothing reaches it on this channel and its tick does not act).
  if (key === undefined) throw new SyncError("NO_SYNC_KEY", "no sync key to seal under");
  return {
    type: "publish",
    topic: ctx.topic,
    bytes: seal(key, encodeSyncPayload(payload), ctx.rng, ctx.topicAad),
  };
}

/**
 * The keys to seal our gossip and catch-up requests under: the current one and `extra`; while we are
 * out of sync (not `IN_SYNC` or `AHEAD`), every previous key too. Two sides of a split that each removed
 * a member (the same one, at different epochs) rotated to keys the other cannot derive, and only the key
 * before it is common: without this, neither side could read the other again. A removed member holding
 * an old key reads an out-of-sync member's epoch and fingerprint, no more.
 */
export function sealingKeys(ctx: SyncContext, extra: readonly Uint8Array[]): Uint8Array[] {
  const current = ctx.port.syncKey;
  const out = current ? [current] : [];
  const behind = ctx.state.status !== "IN_SYNC" && ctx.state.status !== "AHEAD";
  for (const k of [...extra, ...(behind ? ctx.port.previousSyncKeys : [])])
    if (!out.some((o) => bytesEqual(o, k))) out.push(k);
  return out;
}
