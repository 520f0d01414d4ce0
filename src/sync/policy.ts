// The periodic step of the sync core and what each verdict triggers:
//   BEHIND / FORKED (with a majority)  → catch-up (behind: answers heard to others' requests first)
//   AHEAD, alone on a state nobody else holds, for `hardAfterMs` + an interval → step back to the majority
//   HARD for `hardAfterMs`             → propose a hard reset
//   left behind by a reset, for `lineageFollowTurns` operator timeouts + `hardAfterMs` → follow the lineage
//   IN_SYNC, UNKNOWN                   → nothing
import { fingerprintAt, type MlsGroup, MlsProtocolError, retainedEpochs, rewind } from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { applyHeard } from "./catchup-apply.ts";
import { requestCatchUp } from "./catchup-request.ts";
import { count, drop } from "./channel.ts";
import type { Verdict } from "./classify.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { gossip } from "./gossip.ts";
import { leftBehind, lineageTarget } from "./lineage.ts";
import { rejoin } from "./rejoin.ts";
import { checkRemoval } from "./removal-check.ts";
import { mayPropose, propose, tick as resetTick } from "./reset-round.ts";
import { timing } from "./roster.ts";
import { judge } from "./verdict.ts";

/** Periodic: gossip when due, the reset round's step, then (once settled) classify and act. */
export async function tick(ctx: SyncContext, now: number): Promise<SyncEffect[]> {
  const { port, state, params, volatile } = ctx;
  volatile.lastTickAt = now;
  const out: SyncEffect[] = [];
  const asked = now >= volatile.classifyAt;
  if (asked) volatile.classifyAt = Number.POSITIVE_INFINITY;
  if (now >= state.nextGossipAt) out.push(...(await gossip(ctx, now)));
  out.push(...(await resetTick(ctx, now)));
  const g = port.group;
  if (g !== undefined && stranded(ctx, now)) {
    count(ctx, "STRANDED_REJOIN");
    return [...out, ...(await rejoin(ctx, now))];
  }
  // Without the sync key (a rejoin's Welcome came before its key share) there is nothing to act with;
  // removed from the group (the port shows no group then), there is nothing to heal: it must not ask its
  // way back in.
  if (g === undefined) return [...out, ...(await checkRemoval(ctx, now))];
  if (port.syncKey === undefined) return [...out, ...(await keyless(ctx, now))];
  volatile.keylessSince = undefined;
  const inFlight = port.commitInFlight;
  const settled = state.lastEpochChangeAt + params.settleMs;
  if (inFlight || now < settled) {
    // A verdict asked for by views of another state waits for the commit in flight or the settle time.
    if (asked) volatile.classifyAt = inFlight ? now + params.responseDelayMs : settled;
    return out;
  }
  const verdict = judge(ctx, g, now);
  volatile.verdict = verdict;
  const previous = state.status;
  if (verdict.status !== previous) {
    state.status = verdict.status;
    out.push({ type: "status", status: verdict.status, previous, verdict });
  }
  if (verdict.status === "HARD") state.hardSince ??= now;
  else state.hardSince = undefined;
  if ((verdict.status === "BEHIND" || verdict.status === "FORKED") && verdict.majority)
    out.push(...(await catchUp(ctx, verdict, now)));
  out.push(...(await stepBackIfAloneAhead(ctx, verdict, now)));
  out.push(...(await rejoinIfMajorityBelow(ctx, verdict, now)));
  if (verdict.status === "HARD" && mayPropose(ctx) && now - state.hardSince! >= params.hardAfterMs)
    out.push(...(await propose(ctx, verdict, now)));
  out.push(...(await followLineage(ctx, now)));
  return out;
}

/**
 * Whether, for `strandedAfterWindows` view windows, we have read nobody in our group while traffic
 * under sync keys we do not hold went on all along (docs/sync.md, "Stranded members"): a joiner added only
 * on a branch the group abandoned, a member whose key the group rotated past, one that lost its key in a
 * crash while the group moved on. The group cannot reach us with the keys we hold, so we ask to be
 * re-added. Reading anyone is enough to wait: members that read each other but see no majority (silent
 * members on the roster) must not all leave at once.
 */
function stranded(ctx: SyncContext, now: number): boolean {
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
  // Reading nobody, or only branches we cannot take. (Reading only members at our own state is no
  // reason: unreadable envelopes are unauthenticated, so an outsider could make every side of an even
  // split leave at once, and nobody would hold the group; churn 164 and 214 stay open: docs/threats.md.)
  const spans = read.length === 0 || cutOff(ctx) ? 1 : 0;
  if (spans === 0 || !unreadable || busy) {
    volatile.strandedSince = undefined;
    return false;
  }
  volatile.strandedSince ??= now;
  if (now - volatile.strandedSince < spans * params.strandedAfterWindows * windowMs) return false;
  volatile.strandedSince = undefined;
  return true;
}

/** A rejoin pending or a reset round running: the way back is under way. */
function recovering(ctx: SyncContext): boolean {
  const s = ctx.state;
  return s.rejoining || (s.reset !== undefined && !s.reset.done);
}

/**
 * A group held without its sync key: nothing to classify or heal with, and we send nothing the others
 * could place. The key share comes with the Welcome and is asked for again on the group channel; if none
 * came for `strandedAfterWindows` windows, the group has moved past the state we hold (its members no
 * longer read that epoch's application messages), so we ask to be re-added (docs/sync.md, "Stranded
 * members").
 */
async function keyless(ctx: SyncContext, now: number): Promise<SyncEffect[]> {
  const { volatile, params } = ctx;
  if (recovering(ctx)) {
    volatile.keylessSince = undefined;
    return [];
  }
  volatile.keylessSince ??= now;
  if (now - volatile.keylessSince < params.strandedAfterWindows * timing(ctx).windowMs) return [];
  volatile.keylessSince = undefined;
  count(ctx, "KEYLESS_REJOIN");
  return rejoin(ctx, now);
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
 * BEHIND or FORKED: one request for every missed epoch. Behind, an answer already heard to someone else's
 * request is tried first.
 */
async function catchUp(ctx: SyncContext, v: Verdict, now: number): Promise<SyncEffect[]> {
  if (v.status === "BEHIND") {
    const before = ctx.port.group!.epoch;
    const out = await applyHeard(ctx, now);
    // Moved on, or out: a heard answer may carry the commit that removes us (the port then shows no group).
    if (ctx.port.group?.epoch !== before) return out;
  }
  return requestCatchUp(ctx, v, now);
}

/**
 * AHEAD on a state nobody else holds, for longer than the others need to apply a commit: our commit lost
 * selection everywhere else (a restarted or slow steward). The majority state is in our retained history:
 * rewind to it and re-send what we sent since.
 */
async function stepBackIfAloneAhead(ctx: SyncContext, verdict: Verdict, now: number): Promise<SyncEffect[]> {
  const { port, state } = ctx;
  const g = port.group;
  const mine =
    g && verdict.states.find((x) => x.epoch === g.epoch && bytesEqual(x.fingerprint, g.fingerprint));
  if (verdict.status !== "AHEAD" || !g || !verdict.majority || (mine?.members.length ?? 0) > 1) {
    state.aloneAheadSince = undefined;
    return [];
  }
  state.aloneAheadSince ??= now;
  if (now - state.aloneAheadSince < ctx.params.hardAfterMs + timing(ctx).intervalMs) return [];
  state.aloneAheadSince = undefined;
  let back: MlsGroup;
  try {
    back = rewind(g, verdict.majority.epoch);
  } catch (e) {
    if (e instanceof MlsProtocolError && e.code === "NOT_RETAINED") return drop(ctx, "AHEAD_BEYOND_RETAINED");
    throw e;
  }
  if (!bytesEqual(back.fingerprint, verdict.majority.fingerprint)) return drop(ctx, "AHEAD_NOT_ANCESTOR");
  count(ctx, "STEPPED_BACK");
  port.replaceGroup(back, now);
  const out: SyncEffect[] = [{ type: "recovered", how: "realign", epochs: Number(g.epoch - back.epoch) }];
  out.push(...(await port.resendAbandoned(now)));
  out.push(...(await gossip(ctx, now)));
  return out;
}

/**
 * FORKED or AHEAD, with the majority's state at an epoch below every state we hold, for longer than the
 * others need to apply a commit: no commit leads back down, so no catch-up can bring us there, whoever
 * answers (a joiner added on a branch the group abandoned: only the member that added it knows it, and
 * its lone "no path" is never corroborated; chaos churn 545). The majority's signed gossip is the
 * proof; we ask to be re-added.
 */
async function rejoinIfMajorityBelow(ctx: SyncContext, verdict: Verdict, now: number): Promise<SyncEffect[]> {
  const { port, volatile } = ctx;
  const g = port.group;
  const m = verdict.majority;
  const oldest = g === undefined ? undefined : (retainedEpochs(g)[0] ?? g.epoch);
  const below =
    (verdict.status === "FORKED" || verdict.status === "AHEAD") &&
    m !== undefined &&
    oldest !== undefined &&
    m.epoch < oldest &&
    !ctx.state.rejoining;
  if (!below) {
    volatile.majorityBelowSince = undefined;
    return [];
  }
  volatile.majorityBelowSince ??= now;
  if (now - volatile.majorityBelowSince < ctx.params.hardAfterMs + timing(ctx).intervalMs) return [];
  volatile.majorityBelowSince = undefined;
  count(ctx, "MAJORITY_BELOW_HISTORY");
  return rejoin(ctx, now);
}

/**
 * Left behind by a reset for longer than its operators' Welcome repeats take (we may not be on its
 * roster, or its operator may be gone): ask to be added to the group our roster moved to, as a member
 * forked beyond the retained epochs asks (its members remove our stale leaf, if any, and add us).
 */
async function followLineage(ctx: SyncContext, now: number): Promise<SyncEffect[]> {
  const { params, volatile } = ctx;
  if (!leftBehind(ctx, now)) {
    volatile.leftBehindSince = undefined;
    return [];
  }
  volatile.leftBehindSince ??= now;
  if (
    now - volatile.leftBehindSince <
    params.lineageFollowTurns * params.resetOperatorTimeoutMs + params.hardAfterMs
  )
    return [];
  const target = lineageTarget(ctx);
  volatile.leftBehindSince = undefined;
  count(ctx, "LINEAGE_REJOIN");
  return rejoin(ctx, now, target);
}
