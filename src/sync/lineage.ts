// The reset lineage: every reset of one group makes one group id whose sync key is chained from the old
// group's (docs/decisions.md, "Reset lineage"), so groups that competing operators build, in one attempt or
// in several, read each other and merge like any fork, and a member left in the old group reads the new one
// and may follow its roster there.
import { chainSyncKey } from "../group/sync-key.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import type { SyncContext } from "./context.ts";
import { resetGroupId } from "./reset-ids.ts";
import { heldKeys } from "./reset-parent-key.ts";
import { rosterIdSet, timing } from "./roster.ts";
import type { LineageGroup } from "./state.ts";

/** The next `depth` groups of the reset lineage below `groupId`, whose sync key is `key`. */
export function lineage(groupId: Uint8Array, key: Uint8Array, depth: number): LineageGroup[] {
  const out: LineageGroup[] = [];
  for (let i = 0, id = groupId, k = key; i < depth; i++) {
    const child = resetGroupId(id);
    const childKey = chainSyncKey(k, child);
    out.push({ groupId: child, key: childKey, parentKey: k });
    id = child;
    k = childKey;
  }
  return out;
}

/**
 * The groups resets below ours make, derived from our group id and each sync key we hold (the current one
 * and the previous ones: a reset chains from the newest key all its voters hold, which after a split whose
 * keys rotated apart is an older one), remembered per group and current key.
 */
export function lineageOf(ctx: SyncContext): readonly LineageGroup[] {
  // A removed member keeps its group's lineage: the removal may be one a reset of that group left out.
  const g = ctx.port.group ?? ctx.port.removedGroup;
  const key = ctx.port.syncKey;
  if (g === undefined || key === undefined) return [];
  const v = ctx.volatile;
  const c = v.lineageCache;
  const held = heldKeys(ctx);
  if (c?.groupId !== g.groupId || c.key !== key || c.from !== held.length)
    v.lineageCache = {
      groupId: g.groupId,
      key,
      from: held.length,
      groups: held.flatMap((k) => lineage(g.groupId, k, ctx.params.lineageDepth)),
    };
  return v.lineageCache!.groups;
}

/** Keys we open sync messages with: ours (current, then previous), then those of the reset lineage below us. */
export function openingKeys(ctx: SyncContext): Uint8Array[] {
  return [...heldKeys(ctx), ...lineageOf(ctx).map((l) => l.key)];
}

/** Members of our roster heard (within the view window) in a group of the lineage below ours. */
function movedOn(ctx: SyncContext, now: number): number {
  const ids = new Set(lineageOf(ctx).map((l) => toHex(l.groupId)));
  if (ids.size === 0) return 0;
  const windowMs = timing(ctx).windowMs;
  let n = 0;
  for (const id of rosterIdSet(ctx) ?? []) {
    const v = ctx.state.views.get(id);
    if (v && ids.has(v.groupId) && now - v.receivedAt <= windowMs) n++;
  }
  return n;
}

/**
 * Our roster has moved to the lineage below our group: more than half of it is heard there, or
 * `lineageWitnesses` of it while we see no majority in our own group. We were left behind by a reset we
 * may not even have seen. Judged as of `now`, or of the last tick.
 */
export function leftBehind(ctx: SyncContext, now = ctx.volatile.lastTickAt): boolean {
  const moved = movedOn(ctx, now);
  const n = rosterIdSet(ctx)?.size ?? 0;
  const noMajority = ctx.state.status === "UNKNOWN" || ctx.state.status === "HARD";
  return moved * 2 > n || (moved >= ctx.params.lineageWitnesses && noMajority);
}

/**
 * `groupId` is a group of our lineage and our roster has moved on (see {@link leftBehind}), or we were
 * removed from the group it descends from and still check that removal: that group, with the key its key
 * is chained from; undefined otherwise. A removed member has no roster to see move; a reset Welcome for
 * it proves by its own decided proof that the group voted it in.
 */
export function leftBehindFor(ctx: SyncContext, groupId: Uint8Array): LineageGroup | undefined {
  const target = lineageOf(ctx).find((l) => bytesEqual(l.groupId, groupId));
  if (target === undefined) return undefined;
  // Removed: only while the removal is still checked (a reset voted soon after it, by a majority that
  // may never have had it); long after, a reset naming us is no reason to come back. Unless it was our
  // own leave: we follow to leave again (nothing brings us back against a vote; chaos churn 272).
  if (ctx.port.group === undefined) {
    const c = ctx.volatile.removalCheck;
    if (ctx.port.removedGroup === undefined) return undefined;
    return ctx.port.leaving || (c !== undefined && !c.done) ? target : undefined;
  }
  return leftBehind(ctx) ? target : undefined;
}

/** The group of our lineage most of the members heard in the lineage are in. */
export function lineageTarget(ctx: SyncContext): Uint8Array | undefined {
  const ids = new Map(lineageOf(ctx).map((l) => [toHex(l.groupId), l.groupId]));
  const counts = new Map<string, number>();
  for (const v of ctx.state.views.values())
    if (ids.has(v.groupId)) counts.set(v.groupId, (counts.get(v.groupId) ?? 0) + 1);
  const [target] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
  return ids.get(target);
}
