// Our roster as the sync layer reads it: the hex ids of the current one, the gossip timing its size sets,
// and the directory of signature keys and recent rosters every state of ours adds to.
import { roster } from "../mls/index.ts";
import { toHex } from "../util/bytes.ts";
import type { SyncContext } from "./context.ts";
import { gossipTiming } from "./params.ts";

/** Hex ids of our current roster; asked on every tick and info, it changes only with the state. */
export function rosterIdSet(ctx: SyncContext): Set<string> | undefined {
  const g = ctx.port.group;
  if (g === undefined) return undefined;
  const v = ctx.volatile;
  const key = toHex(g.fingerprint);
  if (v.rosterCache?.key !== key) v.rosterCache = { key, ids: new Set(ctx.port.rosterIds().map(toHex)) };
  return v.rosterCache.ids;
}

/** Heartbeat interval and view window at the current group size. */
export function timing(ctx: SyncContext): { intervalMs: number; windowMs: number } {
  const ids = rosterIdSet(ctx);
  return gossipTiming(ctx.params, ids?.size ?? 1);
}

/**
 * Members (hex ids) of our roster heard within the view window as of `now`: they re-send their own chats.
 * A member out of our roster (removed, left) cannot send into our group any more.
 */
export function liveMembers(ctx: SyncContext, now: number): Set<string> {
  const windowMs = timing(ctx).windowMs;
  const roster = rosterIdSet(ctx);
  const out = new Set<string>();
  for (const [who, v] of ctx.state.views)
    if (now - v.receivedAt <= windowMs && roster?.has(who)) out.add(who);
  return out;
}

/** Records the current roster: its members' signature keys, and the roster of our state for the agreed roster. */
export function learnRoster(ctx: SyncContext): void {
  const g = ctx.port.group;
  if (g === undefined) return;
  const s = ctx.state;
  const ids: string[] = [];
  for (const m of roster(g)) {
    s.directory.set(toHex(m.memberId), m.signaturePublicKey);
    ids.push(toHex(m.memberId));
  }
  ids.sort();
  // One array for equal rosters, so classification can skip epochs that changed no membership.
  const last = [...s.rosters.values()].at(-1);
  const same = last !== undefined && last.length === ids.length && last.every((id, i) => id === ids[i]);
  s.rosters.set(toHex(g.fingerprint), same ? last : ids);
  while (s.rosters.size > g.options.historySize) s.rosters.delete(s.rosters.keys().next().value!);
}
