// Stranded members (docs/sync.md, "Stranded members"): a member the group cannot reach with the keys it
// holds, which asks to be re-added. Each rule rests on what the member can check: reading nobody,
// reading only branches it can never re-align to, or the signed last word of its roster.
import { fingerprintAt, relation } from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import type { SyncContext } from "./context.ts";
import { leftBehind } from "./lineage.ts";
import { rosterIdSet, timing } from "./roster.ts";
import type { GroupView } from "./state.ts";

/**
 * Whether, for `strandedAfterWindows` view windows, traffic under sync keys we do not hold went on while
 * in our group we read nobody (`read` empty), only branches we can never re-align to (`cutOff`), or only
 * members at our own state while the signed last word of as many others puts them past us (`outpaced`)
 * (docs/sync.md, "Stranded members"): a joiner added only on a branch the group abandoned, a member whose
 * key the group rotated past, one that lost its key in a crash while the group moved on. The group cannot
 * reach us with the keys we hold, so we ask to be re-added. Otherwise reading anyone is enough to wait:
 * members that read each other but see no majority (silent members on the roster) must not all leave at
 * once.
 */
export function stranded(ctx: SyncContext, now: number): boolean {
  const { state, volatile, params } = ctx;
  const windowMs = timing(ctx).windowMs;
  const me = toHex(ctx.port.memberId);
  // Members heard only in another group (a reset group of our lineage, whose members answer us under a
  // key we hold) are no reason to wait: too few of them to follow (`leftBehind`), none of them in ours.
  const g = ctx.port.group!;
  const ours = toHex(g.groupId);
  const read = [...state.views].filter(
    ([who, v]) => who !== me && v.groupId === ours && now - v.receivedAt <= windowMs,
  );
  const unreadable = volatile.unreadableAt !== undefined && now - volatile.unreadableAt <= windowMs;
  // Our roster moved to a reset group of our lineage: following it (`followLineage`) is the way back.
  const busy = recovering(ctx) || leftBehind(ctx, now);
  // Reading nobody, only branches we cannot take, or only members at our own state while the signed last
  // word of as many others puts them past us on another branch. (Unreadable envelopes alone are no
  // reason: they are unauthenticated, so an outsider could make every side of an even split leave.)
  const reason = read.length === 0 || cutOff(ctx) || outpaced(ctx, now, read);
  if (!reason || !unreadable || busy) {
    volatile.strandedSince = undefined;
    return false;
  }
  volatile.strandedSince ??= now;
  if (now - volatile.strandedSince < params.strandedAfterWindows * windowMs) return false;
  volatile.strandedSince = undefined;
  return true;
}

/** A rejoin pending or a reset round running: the way back is under way. */
export function recovering(ctx: SyncContext): boolean {
  const s = ctx.state;
  return s.rejoining || (s.reset !== undefined && !s.reset.done);
}

/**
 * Whether our last verdict saw no majority (`UNKNOWN`) and every other member it placed is on a branch
 * that shares no state with our whole history: branches we can never re-align to, so reading them is no
 * reason to wait (a joiner added only on a branch the rest abandoned reads the members that were on its
 * side, or the one member that re-aligned off it and still answers under its key). A member at a later
 * epoch whose gossip names no epoch we hold (one that rejoined, its history starting after ours) is no
 * more a branch we can take: it counts with them. One member heard on a branch we share history with, or
 * at our epoch or below without an epoch to compare, and we wait: an insider claiming some other branch
 * strands nobody who reads anyone else.
 */
function cutOff(ctx: SyncContext): boolean {
  const v = ctx.volatile.verdict;
  const g = ctx.port.group;
  if (v?.status !== "UNKNOWN" || g === undefined) return false;
  const me = toHex(ctx.port.memberId);
  let unrelated = 0;
  for (const st of v.states) {
    const others = st.members.filter((m) => m !== me).length;
    if (others === 0) continue;
    let differs = false;
    for (const p of [{ epoch: st.epoch, fingerprint: st.fingerprint }, ...st.ancestry]) {
      const mine = fingerprintAt(g.history, p.epoch);
      if (mine === undefined) continue;
      if (bytesEqual(mine, p.fingerprint)) return false;
      differs = true;
    }
    if (!differs && st.epoch <= g.epoch) return false;
    unrelated += others;
  }
  return unrelated > 0;
}

/**
 * Whether the signed last word of our roster says the group went on without us: our last verdict saw no
 * majority (`UNKNOWN`), every roster member we read now is at our state, and at least as many others were
 * last heard (signed, in our group, longer ago than a view window but within twice the rule's span) at a
 * later epoch on a branch we do not
 * hold (forked from ours, or naming no epoch we hold). Members left on a branch whose key the group
 * rotated past read only each other (chaos churn 164). The views are signed: an outsider cannot make
 * them, and an insider adds one member to `away`; a side reading as many members at its own state waits.
 * Of two sides that each see the other's last word, only the one at the lower epoch goes.
 */
function outpaced(ctx: SyncContext, now: number, read: readonly [string, GroupView][]): boolean {
  const g = ctx.port.group;
  const roster = rosterIdSet(ctx);
  if (ctx.volatile.verdict?.status !== "UNKNOWN" || g === undefined || roster === undefined) return false;
  let here = 1;
  for (const [who, v] of read) {
    if (!roster.has(who)) continue;
    if (v.epoch !== g.epoch || !bytesEqual(v.fingerprint, g.fingerprint)) return false;
    here++;
  }
  const windowMs = timing(ctx).windowMs;
  const gid = toHex(g.groupId);
  const me = toHex(ctx.port.memberId);
  let away = 0;
  for (const who of roster) {
    const v = ctx.state.views.get(who);
    if (who === me || v === undefined || v.groupId !== gid) continue;
    // Not fresh (a fresh one is read, above), and not older than the rule's own span: a last word from
    // long ago (a member offline for days) says nothing of where the group is now.
    const age = now - v.receivedAt;
    if (age <= windowMs || age > 2 * ctx.params.strandedAfterWindows * windowMs) continue;
    if (v.epoch <= g.epoch) continue;
    const rel = relation(g.history, v.epoch, v.fingerprint, v.ancestry);
    if (rel === "FORKED" || rel === "UNKNOWN") away++;
  }
  return away > 0 && away >= here;
}
