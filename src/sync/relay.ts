// Relayed infos (docs/sync.md, "Relayed infos"): a member answering a roster member under an older key
// also passes on, under that key, the signed infos of the members at its own state. Members reach one
// state by different paths (a rejoin, a re-alignment, a catch-up) and hold different older keys: a member
// left on a branch may read one of them under a key they share and never the others, and without their
// infos it cannot count the majority they make (chaos churn 688). Likewise a member a reset left behind
// reads the one member of the reset group that holds its key, and one witness is no reason to follow
// (churn 214). Each relayed info is its member's own signed statement: the relay adds no claim of its own.
import { bytesEqual, toHex } from "../util/bytes.ts";
import { publish } from "./channel.ts";
import type { SyncContext } from "./context.ts";
import type { PublishEffect } from "./effects.ts";
import { rosterIdSet, timing } from "./roster.ts";
import type { SyncStateInfo } from "./wire.ts";

/**
 * Keeps `who`'s newest checked info (signature included) to relay, and notes that it came under `key`
 * when that is an older key of ours: `who` holds that key, and relays under it are shared with it.
 * Bounded by the roster and the keys we hold. An info relayed to us may be relayed again, and looks fresh
 * for one more window at each hop: at most one hop per older key (docs/decisions.md, "Relayed infos").
 * Keeping only infos that came under our current key would lose the info whose copy under an older key
 * arrived first (the other copy is then a replay).
 */
export function keepForRelay(
  ctx: SyncContext,
  who: string,
  info: SyncStateInfo,
  key: Uint8Array,
  now: number,
): void {
  const { volatile, port } = ctx;
  volatile.relayInfos.set(who, info);
  if (port.syncKey === undefined || bytesEqual(key, port.syncKey)) return;
  if (!port.previousSyncKeys.some((p) => bytesEqual(p, key))) return;
  // Only roster members are counted as holders (`relays`): others (former members) are not kept.
  if (!rosterIdSet(ctx)?.has(who)) return;
  const hex = toHex(key);
  const holders = volatile.keyHolders.get(hex) ?? new Map<string, number>();
  holders.set(who, now);
  volatile.keyHolders.set(hex, holders);
}

/**
 * The infos to pass on under `key`, an older key of ours that `askers` sent under (roster members that
 * missed a rotation, or members a reset left behind in the group it came from):
 * those of the other roster members heard within the view window at our own state, each at most once per
 * half window per key (a relayed view stays fresh for a window; one lost in transit has a successor).
 * Every member at our state that holds the key answers the askers: each relays with probability 2/h, h
 * the members at our state heard under the key within the window (ourselves included), so that about two
 * relay each info however many answer (a group of 40 answering a stuck member would otherwise send 40
 * times 39 infos per relay round).
 */
export function relays(
  ctx: SyncContext,
  key: Uint8Array,
  askers: ReadonlySet<string>,
  now: number,
): PublishEffect[] {
  const g = ctx.port.group;
  const roster = rosterIdSet(ctx);
  if (g === undefined || roster === undefined) return [];
  const { volatile } = ctx;
  const hex = toHex(key);
  // Only keys we still hold: older ones are dropped with their records.
  for (const map of [volatile.relayed, volatile.keyHolders])
    for (const k of map.keys()) if (!ctx.port.previousSyncKeys.some((p) => toHex(p) === k)) map.delete(k);
  const me = toHex(ctx.port.memberId);
  const windowMs = timing(ctx).windowMs;
  // Asked per roster member in both loops below: once per call.
  const memo = new Map<string, boolean>();
  const atOurState = (who: string) => {
    let at = memo.get(who);
    if (at !== undefined) return at;
    const info = volatile.relayInfos.get(who);
    const view = ctx.state.views.get(who);
    at =
      info !== undefined &&
      view !== undefined &&
      now - view.receivedAt <= windowMs &&
      bytesEqual(info.groupId!, g.groupId) &&
      info.epoch === g.epoch &&
      bytesEqual(info.fingerprint!, g.fingerprint);
    memo.set(who, at);
    return at;
  };
  let holders = 1;
  for (const [who, at] of volatile.keyHolders.get(hex) ?? [])
    if (who !== me && roster.has(who) && now - at <= windowMs && atOurState(who)) holders++;
  const share = Math.min(1, 2 / holders);
  const sent = volatile.relayed.get(hex) ?? new Map<string, number>();
  const out: PublishEffect[] = [];
  for (const who of roster) {
    if (who === me || askers.has(who) || !atOurState(who)) continue;
    const last = sent.get(who);
    if (last !== undefined && now - last < windowMs / 2) continue;
    if (ctx.rng.next() >= share) continue;
    sent.set(who, now);
    out.push(publish(ctx, { info: volatile.relayInfos.get(who)! }, key));
  }
  if (sent.size > 0) volatile.relayed.set(hex, sent);
  return out;
}
