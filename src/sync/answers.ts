// Answers to what a peer's gossip shows: our next info brought forward, and under the older key a roster
// member sent under (gossip.ts for views, removal-probe.ts for probes of members checking a removal).
import { bytesEqual, toHex } from "../util/bytes.ts";
import type { SyncContext } from "./context.ts";
import { rosterIdSet, timing } from "./roster.ts";

/**
 * View windows after a member left our roster during which its gossip under an older key, from a state
 * short of its departure, is still answered (`answerDeparted`).
 */
export const DEPARTED_ANSWER_WINDOWS = 60;

/**
 * Roster member `who` sent under `key`, a previous key of ours, not our current one: it missed a rotation
 * and reads only that key, so our next info goes under it too (a member out of our roster gets nothing
 * under it: the rotation is there to shut it out; `departed`: but see `answerDeparted`).
 */
export function answerUnderKey(
  ctx: SyncContext,
  who: string,
  key: Uint8Array,
  seqnum: bigint,
  departed = false,
): void {
  const { port } = ctx;
  const current = port.syncKey;
  if (
    current === undefined ||
    bytesEqual(key, current) ||
    (!departed && !rosterIdSet(ctx)?.has(who)) ||
    !port.previousSyncKeys.some((k) => bytesEqual(k, key))
  )
    return;
  const hex = toHex(key);
  const entry = ctx.volatile.answerKeys.get(hex);
  if (entry === undefined) ctx.volatile.answerKeys.set(hex, { key, askers: new Map([[who, seqnum]]) });
  else entry.askers?.set(who, seqnum);
}

/**
 * A member out of our roster (removed, or its leave or stale leaf committed) within the last
 * `DEPARTED_ANSWER_WINDOWS` view windows sent under an older key of ours, from a state behind ours or
 * forked from it: it never applied its departure (it forked before it, on a side that went on without
 * it), and reads none of our keys since. Our next info goes under its key, so it sees the majority's
 * branch, catches up and applies its removal (chaos churn 1469: two members removed on the majority's
 * branch while forked together went on alone for good, `UNKNOWN`). It learns what a probe's answer
 * tells a member checking its removal (our state, our chat counts), for that span only.
 */
export function answerDeparted(
  ctx: SyncContext,
  who: string,
  key: Uint8Array,
  seqnum: bigint,
  now: number,
): void {
  // From the departure itself: a removed member's late chats must not stretch the span.
  const at = ctx.port.departedAt?.(who);
  if (at !== undefined && now - at <= DEPARTED_ANSWER_WINDOWS * timing(ctx).windowMs)
    answerUnderKey(ctx, who, key, seqnum, true);
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
