// Answers to what a peer's gossip shows: our next info brought forward, and under the older key a roster
// member sent under (gossip.ts for views, removal-probe.ts for probes of members checking a removal).
import { bytesEqual, toHex } from "../util/bytes.ts";
import type { SyncContext } from "./context.ts";
import { rosterIdSet } from "./roster.ts";

/**
 * Roster member `who` sent under `key`, a previous key of ours, not our current one: it missed a rotation
 * and reads only that key, so our next info goes under it too (a member out of our roster gets nothing
 * under it: the rotation is there to shut it out).
 */
export function answerUnderKey(ctx: SyncContext, who: string, key: Uint8Array, seqnum: bigint): void {
  const { port } = ctx;
  const current = port.syncKey;
  if (
    current === undefined ||
    bytesEqual(key, current) ||
    !rosterIdSet(ctx)?.has(who) ||
    !port.previousSyncKeys.some((k) => bytesEqual(k, key))
  )
    return;
  const hex = toHex(key);
  const entry = ctx.volatile.answerKeys.get(hex);
  if (entry === undefined) ctx.volatile.answerKeys.set(hex, { key, askers: new Map([[who, seqnum]]) });
  else entry.askers?.set(who, seqnum);
}

/**
 * Our next info within `responseDelayMs` instead of at our next heartbeat; at most `answersPerInterval`
 * per base interval, so a member flooding claims cannot make us flood.
 */
export function bringForward(ctx: SyncContext, now: number): void {
  const { state, params } = ctx;
  if (now - state.lastGossipAt < params.gossipIntervalMs / params.answersPerInterval) return;
  state.nextGossipAt = Math.min(state.nextGossipAt, now + params.responseDelayMs * ctx.rng.next());
}
