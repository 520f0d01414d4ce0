// The periodic step of the sync core and what each verdict triggers:
//   BEHIND / FORKED (with a majority)  → catch-up (behind: answers heard to others' requests first)
//   AHEAD, alone on a state nobody else holds, for `hardAfterMs` + an interval → step back to the majority
//   HARD for `hardAfterMs`             → propose a hard reset
//   left behind by a reset, for `lineageFollowTurns` operator timeouts + `hardAfterMs` → follow the lineage
//   IN_SYNC, UNKNOWN                   → nothing
import { ancestry, type MlsGroup, MlsProtocolError, rewind } from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { applyHeard } from "./catchup-apply.ts";
import { requestCatchUp } from "./catchup-request.ts";
import { count, drop } from "./channel.ts";
import { agreedRoster, classify, type Verdict } from "./classify.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { gossip } from "./gossip.ts";
import { leftBehind, lineageTarget } from "./lineage.ts";
import { rejoin } from "./rejoin.ts";
import { mayPropose, propose, tick as resetTick } from "./reset-round.ts";
import { timing } from "./roster.ts";

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
  // Without the sync key (a rejoin's Welcome came before its key share) there is nothing to act with;
  // removed from the group (the port shows no group then), there is nothing to heal: it must not ask its
  // way back in.
  if (g === undefined || port.syncKey === undefined) return out;
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
  if (verdict.status === "HARD" && mayPropose(ctx) && now - state.hardSince! >= params.hardAfterMs)
    out.push(...(await propose(ctx, verdict, now)));
  out.push(...(await followLineage(ctx, now)));
  return out;
}

/** The verdict on group `g` from the views of its members, over the last agreed roster. */
function judge(ctx: SyncContext, g: MlsGroup, now: number): Verdict {
  const gid = toHex(g.groupId);
  const views = new Map([...ctx.state.views].filter(([, v]) => v.groupId === gid));
  const windowMs = timing(ctx).windowMs;
  const self = toHex(ctx.port.memberId);
  const roster = agreedRoster(self, g.history, (fp) => ctx.state.rosters.get(fp), views, now, windowMs);
  // Long silent: last heard (in any group) that many windows ago, or never since our last epoch change.
  const goneMs = windowMs * ctx.params.goneAfterWindows;
  const heardAt = (m: string) => ctx.state.views.get(m)?.receivedAt ?? ctx.state.lastEpochChangeAt;
  const gone = new Set(roster.filter((m) => m !== self && now - heardAt(m) > goneMs));
  return classify({
    self,
    history: g.history,
    ancestry: ancestry(g.history),
    roster,
    views,
    gone,
    now,
    windowMs,
  });
}

/**
 * BEHIND or FORKED: one request for every missed epoch. Behind, an answer already heard to someone else's
 * request is tried first.
 */
async function catchUp(ctx: SyncContext, v: Verdict, now: number): Promise<SyncEffect[]> {
  if (v.status === "BEHIND") {
    const before = ctx.port.group!.epoch;
    const out = await applyHeard(ctx, now);
    // Caught up over our own removal: no group any more (the port holds none once we are out).
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
