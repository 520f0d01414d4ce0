// Fingerprint gossip: our SyncStateInfo (epoch, fingerprint, ancestry; signed) on a jittered heartbeat,
// after every epoch change, early on a state hint and as an answer to a peer behind or beside us; and the
// views of the others' infos that classification reads.
import type { GroupEffect } from "../group/effects.ts";
import { ancestry, relation, sign, verify } from "../mls/index.ts";
import { aheadOfClock } from "../util/bounds.ts";
import { bytesEqual, fromHex, toHex } from "../util/bytes.ts";
import { answerDeparted, answerUnderKey, bringForward } from "./answers.ts";
import { count, drop, publish, sealingKeys } from "./channel.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { keepForRelay, relays } from "./relay.ts";
import { onProbe, probeState } from "./removal-probe.ts";
import { noteSeen } from "./requesters.ts";
import { onForeignView, repeatingRound } from "./reset-welcome.ts";
import { learnRoster, liveMembers, rosterIdSet, timing } from "./roster.ts";
import type { GroupView } from "./state.ts";
import { infoBody, type SyncStateInfo } from "./wire.ts";

/** Sends our SyncStateInfo now (and sets the next heartbeat). */
export async function gossip(ctx: SyncContext, now: number): Promise<SyncEffect[]> {
  const { port, state, volatile } = ctx;
  // Removed, while the removal is checked: a probe from the state we held before it (removal-probe.ts).
  const probe = port.group === undefined ? probeState(ctx) : undefined;
  const g = port.group ?? probe;
  const j = ctx.params.gossipJitter;
  state.nextGossipAt = now + timing(ctx).intervalMs * (1 - j + 2 * j * ctx.rng.next());
  if (g === undefined || port.syncKey === undefined) return [];
  state.lastGossipAt = now;
  state.seqnum++;
  const info: SyncStateInfo = {
    groupId: g.groupId,
    memberId: port.memberId,
    epoch: g.epoch,
    fingerprint: g.fingerprint,
    seqnum: state.seqnum,
    ancestry: ancestry(g.history),
    ...(port.chatSequence > 0 ? { chatSequence: BigInt(port.chatSequence) } : {}),
    quietCounts: quietCounts(ctx, now),
    ...(probe !== undefined ? { removalProbe: true } : {}),
  };
  const signature = await sign(port.identity, "sync-state", infoBody(info));
  // Our info also goes out under each older key a peer behind us used since the last gossip, and under
  // all of them while we are out of sync ourselves (see `sealingKeys`).
  const due = answerKeysDue(ctx);
  const keys = sealingKeys(
    ctx,
    due.map((d) => d.key),
  );
  volatile.answerKeys.clear();
  const effects = keys.map((k) => publish(ctx, { info: { ...info, signature } }, k));
  // Askers under an older key also get the infos of the members at our state (relay.ts).
  for (const d of due) if (d.askers !== undefined) effects.push(...relays(ctx, d.key, d.askers, now));
  volatile.gossipSent += effects.length;
  for (const e of effects) volatile.gossipBytes += e.bytes.length;
  return effects;
}

/**
 * The older keys our next info also goes under: those a member a reset left behind sent under, and
 * those a roster member sent an info under that it did not also send under our current key. A member
 * out of sync seals under every key it holds, and with jitter its old-key copy may arrive first: answering
 * that copy made the member answer ours under the old key in turn, and two members holding the current
 * key kept each other sending every info twice for good (after any rejoin, at 10 members 200 KB of
 * gossip more per member and minute).
 */
function answerKeysDue(ctx: SyncContext): { key: Uint8Array; askers?: Set<string> }[] {
  const current = ctx.port.syncKey;
  const currentHex = current === undefined ? undefined : toHex(current);
  const seen = ctx.volatile.currentKeySeq;
  const out: { key: Uint8Array; askers?: Set<string> }[] = [];
  for (const { key, askers, behind } of ctx.volatile.answerKeys.values()) {
    const due =
      askers === undefined ||
      [...askers].some(([who, seq]) => {
        const s = seen.get(who);
        return s === undefined || s.key !== currentHex || s.seqnum < seq;
      });
    const to = new Set([...(askers?.keys() ?? []), ...(behind ?? [])]);
    if (due) out.push(to.size === 0 ? { key } : { key, askers: to });
  }
  return out;
}

/** Entries of `quietCounts` one info carries at most. */
export const MAX_QUIET_COUNTS = 8;

/** View windows after a member left our roster during which we still announce the chats we hold of it. */
export const DEPARTED_COUNT_WINDOWS = 10;

/**
 * For roster members not heard within the view window (gone quiet, perhaps dead), then for members that
 * left our roster within `DEPARTED_COUNT_WINDOWS` windows (they no longer announce their own count to the
 * group): the newest of their chats we hold, so that members that missed some learn they exist and ask us
 * (docs/chats.md, "Pulls").
 */
function quietCounts(ctx: SyncContext, now: number): { sender: Uint8Array; sequence: bigint }[] {
  const roster = rosterIdSet(ctx);
  if (roster === undefined) return [];
  const live = liveMembers(ctx, now);
  const me = toHex(ctx.port.memberId);
  const out: { sender: Uint8Array; sequence: bigint }[] = [];
  const departed = ctx.port.departedSince(now - DEPARTED_COUNT_WINDOWS * timing(ctx).windowMs);
  for (const who of [...roster, ...departed.filter((d) => !roster.has(d))]) {
    if (who === me || live.has(who)) continue;
    const held = ctx.port.chatsHeldOf(who);
    if (held !== undefined) out.push({ sender: fromHex(who), sequence: BigInt(held) });
    if (out.length >= MAX_QUIET_COUNTS) break;
  }
  return out;
}

/** Call with every group effect: epoch changes trigger an immediate gossip, state hints an early one. */
export async function onGroupEffects(
  ctx: SyncContext,
  effects: readonly GroupEffect[],
  now: number,
): Promise<SyncEffect[]> {
  const s = ctx.state;
  for (const e of effects) if (e.type === "stateHint") onStateHint(ctx, e.epoch, now);
  if (!effects.some((e) => e.type === "epoch" || e.type === "joined")) return [];
  const out: SyncEffect[] = [];
  if (s.rejoining && effects.some((e) => e.type === "joined")) {
    s.rejoining = false;
    // In by an add, not by a reset Welcome: a Welcome of the group we are in is no competing group's.
    s.joinedRound = undefined;
    out.push({ type: "recovered", how: "rejoin", epochs: 0 });
  }
  // One announcement of where we ended up, however many epochs the effects moved us.
  s.lastEpochChangeAt = now;
  // Not IN_SYNC before: judge the new state once it settles. Views of others' states may not ask for
  // it: after a catch-up everyone else may already hold ours.
  if (s.status !== "IN_SYNC")
    ctx.volatile.classifyAt = Math.min(ctx.volatile.classifyAt, now + ctx.params.settleMs);
  learnRoster(ctx);
  out.push(...(await gossip(ctx, now)));
  return out;
}

/**
 * A group frame from another epoch than ours, or unreadable at ours: someone is in another state. Our
 * state goes out early, so that the other side answers or classifies us, instead of both sides waiting
 * for a heartbeat: after a short partition every member last gossiped at its last epoch change, so all
 * heartbeats fall in one window. A later epoch may be a commit still spreading (our own epoch change then
 * gossips first and puts the heartbeat back), an earlier one a member still applying it: hence the settle
 * time. Once per state of ours, so that headers (not authenticated) cannot make us gossip more than our
 * state changes.
 */
function onStateHint(ctx: SyncContext, epoch: bigint, now: number): void {
  const g = ctx.port.group;
  if (g === undefined) return;
  const { state, params } = ctx;
  if (epoch < g.epoch && now - state.lastEpochChangeAt < params.settleMs) return;
  const fingerprint = toHex(g.fingerprint);
  if (ctx.volatile.hinted === fingerprint) return;
  ctx.volatile.hinted = fingerprint;
  const at = now + params.settleMs + params.responseDelayMs * ctx.rng.next();
  state.nextGossipAt = Math.min(state.nextGossipAt, at);
}

/** Another member's SyncStateInfo, opened under `key`: checked, then its view replaces the last. */
export async function onInfo(
  ctx: SyncContext,
  i: SyncStateInfo,
  now: number,
  key: Uint8Array,
): Promise<SyncEffect[]> {
  if (
    !i.memberId ||
    !i.groupId ||
    i.epoch === undefined ||
    !i.fingerprint ||
    i.seqnum === undefined ||
    !i.signature
  ) {
    count(ctx, "MALFORMED");
    return [];
  }
  // Bounded before anything walks it.
  if (i.ancestry.length > ctx.params.maxAncestry) return drop(ctx, "OVERSIZED_ANCESTRY");
  if (
    i.quietCounts.length > MAX_QUIET_COUNTS ||
    i.quietCounts.some((q) => !q.sender || q.sequence === undefined)
  )
    return drop(ctx, "MALFORMED");
  // A seqnum counts its member's infos from 0, far slower than a clock: one ahead of ours is a lie, and
  // kept as the member's last it would make every later info of that member a replay.
  if (aheadOfClock(i.seqnum, now)) return drop(ctx, "OUT_OF_RANGE");
  const s = ctx.state;
  const who = toHex(i.memberId);
  const signer = s.directory.get(who);
  if (signer === undefined) return drop(ctx, "UNKNOWN_MEMBER");
  if (!(await verify(signer, "sync-state", infoBody(i), i.signature))) return drop(ctx, "INVALID_SIGNATURE");
  noteCurrentKey(ctx, who, i.seqnum, key);
  const last = s.lastSeq.get(who);
  if (last !== undefined && i.seqnum <= last) return drop(ctx, "REPLAY");
  s.lastSeq.set(who, i.seqnum);
  // A member checking its removal: answered under its key, never taken as where it is.
  if (i.removalProbe === true) return onProbe(ctx, who, key, i.seqnum, now);
  const view = {
    epoch: i.epoch,
    fingerprint: i.fingerprint,
    ancestry: i.ancestry.map((a) => ({
      epoch: a.epoch ?? 0n,
      fingerprint: a.fingerprint ?? new Uint8Array(),
    })),
    receivedAt: now,
    groupId: toHex(i.groupId),
  };
  s.views.set(who, view);
  keepForRelay(ctx, who, i, key, now);
  noteSeen(ctx, who, i);
  const g1 = ctx.port.group;
  // Absent: the member sent no chat yet (its first info still tells us where what we are owed starts).
  if (g1 !== undefined && view.groupId === toHex(g1.groupId)) {
    ctx.port.noteChatSequence(who, Number(i.chatSequence ?? 0n), now);
    for (const q of i.quietCounts) ctx.port.noteChatSequence(toHex(q.sender!), Number(q.sequence!), now, who);
  }
  answer(ctx, who, view, now, key, i.seqnum);
  const g0 = ctx.port.group;
  if (g0 !== undefined && view.groupId !== toHex(g0.groupId)) onForeignView(ctx, who, now);
  else if (g0 !== undefined && forkedFromUs(ctx, view)) onForeignView(ctx, who, now, true);
  // A state other than ours: classify soon, not at whatever wakes us next (a quiet member of a large
  // group can sleep for a stretched SDS sync period). Within the response delay, so that the answers
  // this may draw are in too, and so one verdict covers a burst of infos.
  const g = ctx.port.group;
  if (g !== undefined && (i.epoch !== g.epoch || !bytesEqual(i.fingerprint, g.fingerprint)))
    ctx.volatile.classifyAt = Math.min(ctx.volatile.classifyAt, now + ctx.params.responseDelayMs);
  return [];
}

/** An info of `who` (verified) opened under `key`: when that is our current key, its seqnum is noted. */
function noteCurrentKey(ctx: SyncContext, who: string, seqnum: bigint, key: Uint8Array): void {
  const current = ctx.port.syncKey;
  if (current === undefined || !bytesEqual(key, current)) return;
  const hex = toHex(current);
  const seen = ctx.volatile.currentKeySeq;
  const s = seen.get(who);
  if (s === undefined || s.key !== hex || s.seqnum < seqnum) seen.set(who, { key: hex, seqnum });
  // Bounded by the directory: one entry per member that signed an info.
  while (seen.size > ctx.state.directory.size) seen.delete(seen.keys().next().value!);
}

/**
 * `v` is in our group's id at a state our history forks from, while we repeat our Welcome as the operator
 * of the group we are in: maybe a competing operator's group of our round (reset-welcome.ts).
 */
function forkedFromUs(ctx: SyncContext, v: GroupView): boolean {
  const g = ctx.port.group;
  return (
    g !== undefined &&
    repeatingRound(ctx) !== undefined &&
    relation(g.history, v.epoch, v.fingerprint, v.ancestry) === "FORKED"
  );
}

/**
 * A member still in the group our hard reset left (one that joined it on a side that went on alone, say)
 * and sealing under a key we held there: our gossip goes under that key too, so it sees where its roster
 * went (the reset lineage) and follows. Without this, a member whose side's key rotated apart from the one
 * the reset chained from would never read the new group. It learns our epoch and fingerprint, and those
 * of the members at our state (relay.ts), no more.
 */
function answerLeftBehind(ctx: SyncContext, who: string, v: GroupView, key: Uint8Array): void {
  const r = ctx.state.reset;
  const g = ctx.port.group!;
  if (r?.joinedVia === undefined || !bytesEqual(r.groupId, g.groupId)) return;
  if (v.groupId !== toHex(r.proposal.oldGroupId!)) return;
  if (!ctx.port.previousSyncKeys.some((k) => bytesEqual(k, key))) return;
  // Always answered (no askers to check), and the members at our state relayed: one witness of the
  // reset group is one member's word, which the member left behind does not follow (chaos churn 214).
  const hex = toHex(key);
  const behind = ctx.volatile.answerKeys.get(hex)?.behind ?? new Set<string>();
  behind.add(who);
  ctx.volatile.answerKeys.set(hex, { key, behind });
}

/**
 * A peer behind us or on another branch (just back from a partition, say) learns where we are within
 * `responseDelayMs` instead of at our next heartbeat: our next gossip is brought forward. At most
 * `answersPerInterval` answers per base interval, so a member flooding claims cannot make us flood.
 */
function answer(
  ctx: SyncContext,
  who: string,
  v: GroupView,
  now: number,
  key: Uint8Array,
  seqnum: bigint,
): void {
  const g = ctx.port.group;
  if (g === undefined) return;
  if (v.groupId !== toHex(g.groupId)) {
    answerLeftBehind(ctx, who, v, key);
    return;
  }
  answerUnderKey(ctx, who, key, seqnum);
  const rel = relation(g.history, v.epoch, v.fingerprint, v.ancestry);
  if (rel === "SAME" || rel === "I_AM_BEHIND") return;
  if (!rosterIdSet(ctx)?.has(who)) answerDeparted(ctx, who, key, seqnum, now);
  bringForward(ctx, now);
}
