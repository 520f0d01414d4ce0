// The periodic step of the sync core and what each verdict triggers:
//   BEHIND / FORKED (with a majority)  → catch-up (behind: answers heard to others' requests first)
//   AHEAD, alone on a state nobody else holds, for `hardAfterMs` + an interval → step back to the majority
//   HARD for `hardAfterMs`             → propose a hard reset
//   left behind by a reset, for `lineageFollowTurns` operator timeouts + `hardAfterMs` → follow the lineage
//   IN_SYNC, UNKNOWN                   → nothing
import {
  type FingerprintHistory,
  fingerprintAt,
  type MlsGroup,
  MlsProtocolError,
  retainedEpochs,
  rewind,
} from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { applyHeard } from "./catchup-apply.ts";
import { requestCatchUp } from "./catchup-request.ts";
import { count, drop } from "./channel.ts";
import type { StateGroup, Verdict } from "./classify.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { gossip } from "./gossip.ts";
import { leftBehind, lineageTarget } from "./lineage.ts";
import { rejoin } from "./rejoin.ts";
import { checkRemoval } from "./removal-check.ts";
import { mayPropose, propose, tick as resetTick } from "./reset-round.ts";
import { timing } from "./roster.ts";
import { recovering, stranded } from "./stranded.ts";
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
  // In a group again (the removal undone, or re-added): a later removal is checked afresh, even one from
  // the same state.
  volatile.removalCheck = undefined;
  volatile.flaggedOnRemoval = undefined;
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
  out.push(...(await rejoinIfStuck(ctx, verdict, now)));
  if (verdict.status === "HARD" && mayPropose(ctx) && now - state.hardSince! >= params.hardAfterMs)
    out.push(...(await propose(ctx, verdict, now)));
  out.push(...(await followLineage(ctx, now)));
  return out;
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
 * FORKED or AHEAD, with the majority's state at an epoch below every state we hold, or on a branch that
 * shares no state with our whole history (its signed ancestry reaches below our oldest state and differs
 * at every epoch we hold), for longer than the others need to apply a commit: no commit leads back down,
 * so no catch-up can bring us there, whoever answers (a joiner added on a branch the group abandoned:
 * only the member that added it knows it, or reads it at all, and its lone "no path" is never
 * corroborated; chaos churn 545, 105). The majority's signed gossip is the proof; we ask to be re-added.
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
    (m.epoch < oldest || forkedBelowHistory(ctx, g!.history, m)) &&
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
 * BEHIND or FORKED from a majority we read, for `strandedAfterWindows` view windows without moving an
 * epoch: our requests reach only the members that hold our key, and none of them can serve the commits
 * (a joiner whose adder's log starts after its add; chaos churn 1383, once relayed infos let it count
 * the majority it could not reach). The majority's signed gossip shows where the group is; our own
 * failure to get there over that long is what we act on, as a member reading nobody does: we ask to be
 * re-added. A partition ends it (the majority's views expire: `UNKNOWN`), and so does every epoch gained.
 */
async function rejoinIfStuck(ctx: SyncContext, verdict: Verdict, now: number): Promise<SyncEffect[]> {
  const { state, volatile, params } = ctx;
  const stuck =
    (verdict.status === "BEHIND" || verdict.status === "FORKED") &&
    verdict.majority !== undefined &&
    !recovering(ctx);
  if (!stuck) {
    volatile.stuckSince = undefined;
    return [];
  }
  volatile.stuckSince = Math.max(volatile.stuckSince ?? now, state.lastEpochChangeAt);
  if (now - volatile.stuckSince < params.strandedAfterWindows * timing(ctx).windowMs) return [];
  volatile.stuckSince = undefined;
  count(ctx, "CATCH_UP_STUCK");
  return rejoin(ctx, now);
}

/**
 * Whether the majority state `m` shares no state with `history`, by the ancestry each of its members
 * signed in its own view (not the one copy the verdict kept): at least two of them, or all when fewer
 * hold it, so that one insider's made-up ancestry forces no rejoin.
 */
function forkedBelowHistory(ctx: SyncContext, history: FingerprintHistory, m: StateGroup): boolean {
  const me = toHex(ctx.port.memberId);
  const others = m.members.filter((w) => w !== me);
  let shown = 0;
  for (const w of others) {
    const v = ctx.state.views.get(w);
    if (v === undefined) continue;
    if (sharesNoState(history, { ...m, ancestry: v.ancestry })) shown++;
  }
  return shown >= Math.min(2, others.length) && shown > 0;
}

/**
 * Whether state `m` and its ancestry name an epoch at or below the oldest of `history` and differ from
 * `history` at every epoch both hold (the ancestry is dense: every epoch from its lowest up is named).
 */
function sharesNoState(history: FingerprintHistory, m: StateGroup): boolean {
  const oldest = history[0]?.epoch;
  if (oldest === undefined) return false;
  let reaches = false;
  for (const p of [{ epoch: m.epoch, fingerprint: m.fingerprint }, ...m.ancestry]) {
    if (p.epoch <= oldest) reaches = true;
    const mine = fingerprintAt(history, p.epoch);
    if (mine !== undefined && bytesEqual(mine, p.fingerprint)) return false;
  }
  return reaches;
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
