// Entering the group a hard reset made: by its operator's Welcome (of our round, or of a group our roster
// moved to while we were away), and what every member does once in it.
import { joinFromWelcome, type MlsGroup, relation, rosterMember, verify } from "../mls/index.ts";
import { bytesEqual, compareBytes, toHex } from "../util/bytes.ts";
import { DemlsError } from "../util/errors.ts";
import { count, drop } from "./channel.ts";
import { resetJoinCodeOf } from "./codes.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import { onGroupEffects } from "./gossip.ts";
import { leftBehindFor, openingKeys } from "./lineage.ts";
import { rejoin } from "./rejoin.ts";
import { operatorRank } from "./reset-ids.ts";
import { checkProof, leavesBound } from "./reset-proof.ts";
import { onWorseWelcome } from "./reset-welcome.ts";
import { liveMembers, rosterIdSet, timing } from "./roster.ts";
import { keyIdOf } from "./seal.ts";
import type { ResetRound } from "./state.ts";
import { resetWelcomeBody, type SyncPayload } from "./wire.ts";

/**
 * A reset Welcome. Joined when it is of our round's group (any attempt's operator) or of a group our
 * roster moved to while we were away, its operator is known and created the group, and it ranks better
 * than the operator of a group of the round we are in.
 */
export async function onWelcome(
  ctx: SyncContext,
  w: NonNullable<SyncPayload["resetWelcome"]>,
  now: number,
): Promise<SyncEffect[]> {
  const { port, state } = ctx;
  // Removed from our group, we may still be on the roster a reset of it voted (the removal on a branch
  // the reset left out): its Welcome takes us in.
  const old = port.group ?? port.removedGroup;
  if (!w.welcome || !w.operator || !w.groupId || old === undefined) return [];
  const op = toHex(w.operator);
  let r = state.reset;
  // Already in a group of that id: only a group of the round we came in by, whose operator ranks before
  // ours, replaces it, at any epoch (docs/decisions.md, "Competing reset groups"). A member that came in
  // otherwise (added as a joiner, re-added) follows its group like any fork; an old Welcome of our own
  // operator never takes us back to the group's first epoch.
  const competing = bytesEqual(old.groupId, w.groupId);
  if (competing) {
    const j = state.joinedRound;
    if (j?.joinedVia === undefined || !bytesEqual(j.groupId, w.groupId) || j.joinedVia === op) return [];
    // Past our group's first epoch, only while that group is seen alive: a roster member other than its
    // operator heard lately in the id at a state our history forks from (signed). A certificate never
    // expires: without this, a late or replayed Welcome would take an in-sync group back to a first epoch
    // long after the round.
    if (port.group === undefined || (old.epoch > 1n && !competitorHeard(ctx, op, now))) return [];
    r = j;
  }
  // A Welcome of our round's group (any attempt's operator), or of a group our roster moved to while we
  // were away (we may have seen no round at all).
  const ours = r !== undefined && bytesEqual(w.groupId, r.groupId);
  const behind = ours ? undefined : leftBehindFor(ctx, w.groupId);
  if (!ours && behind === undefined) return [];
  const known = ours
    ? r!.proposal.roster.some((m) => toHex(m) === op) || port.rosterIds().some((m) => toHex(m) === op)
    : state.directory.has(op);
  if (!known) return drop(ctx, "RESET_UNKNOWN_OPERATOR");
  // The parent key it names is the operator's word, signed: a copy cannot be sent on with another one.
  const opKey = state.directory.get(op);
  if (!w.parentKeyId || !w.operatorSignature || opKey === undefined) return drop(ctx, "RESET_NO_PROOF");
  if (!(await verify(opKey, "reset-welcome", resetWelcomeBody(w), w.operatorSignature)))
    return drop(ctx, "INVALID_SIGNATURE");
  // The proof that the round was decided YES, before anything else is done with the Welcome.
  // At its first epoch the round is recent: the replay rule applies as to any Welcome of it.
  const proof = await checkProof(ctx, w, r, now, competing && old.epoch > 1n);
  if (typeof proof === "string") return drop(ctx, proof);
  if (!ours) {
    r = {
      proposal: proof.proposal,
      id: proof.id,
      groupId: w.groupId,
      parentKey: behind!.parentKey,
      startedAt: now,
      votes: new Map(),
      voteKeys: new Map(),
      myKeyPackages: [],
      done: false,
    };
  }
  const round: ResetRound = r!;
  // Two operators that ranked different YES sets both built a group: everyone settles on the one whose
  // operator ranks first. A member that tallied NO (it saw other votes than the operator did) joins too:
  // the group exists, and staying behind would leave it alone in the old one.
  if (
    round.joinedVia !== undefined &&
    compareBytes(operatorRank(op, round), operatorRank(round.joinedVia, round)) >= 0
  ) {
    onWorseWelcome(ctx, round, op, now);
    return [];
  }
  let joined: Awaited<ReturnType<typeof joinFromWelcome>>;
  try {
    // Our vote's KeyPackage (of this round, or kept in a later round's), or one of our published sets.
    const later = state.reset !== round ? (state.reset?.myKeyPackages ?? []) : [];
    joined = await joinFromWelcome(port.identity, w.welcome, [
      ...round.myKeyPackages,
      ...later,
      ...port.keyPackages,
    ]);
  } catch (e) {
    if (!(e instanceof DemlsError)) throw e;
    count(ctx, resetJoinCodeOf(e));
    if (e.code !== "NO_MATCHING_KEY_PACKAGE" || !ours || round.joinedVia !== undefined) return [];
    // The operator had no KeyPackage of ours that we hold: ask the new group to add us (it removes the
    // leaf it made for us, if any, then adds us as a joiner).
    round.done = true;
    return rejoin(ctx, now, round.groupId);
  }
  // The link to the old group: the new group id must be the one the reset of our group derives.
  if (!bytesEqual(joined.group.groupId, round.groupId)) return drop(ctx, "RESET_LINK_MISMATCH");
  // The operator is who created it (leaf 0): a member cannot pass its own group off as a better one.
  if (rosterMember(joined.group, w.operator)?.leafIndex !== 0) return drop(ctx, "RESET_NOT_OPERATOR");
  // Nobody in it under another member's name.
  if (!leavesBound(ctx, joined.group)) return drop(ctx, "RESET_UNBOUND_LEAF");
  round.done = true;
  round.joinedVia = op;
  round.repeat = undefined;
  state.reset = round;
  state.joinedRound = round;
  if (!ours) count(ctx, "RESET_FOLLOWED");
  if (competing) count(ctx, "RESET_COMPETING_REPLACED");
  const parentKey = namedKey(ctx, w.parentKeyId);
  if (parentKey === undefined) count(ctx, "RESET_PARENT_KEY_UNKNOWN");
  const out = await afterReset(ctx, joined.group, old.groupId, parentKey ?? null, now);
  // We had asked to leave the old group: the new one has us, so we ask again there.
  if (port.leaving) out.push(...(await port.leave(now)));
  return out;
}

/**
 * The key a Welcome names as the one the new group's key is chained from: one of ours, or one of the
 * reset lineage below our group (a reset of a reset we missed). Undefined when we hold none with that id:
 * we enter the group without its sync key and take it from a member's share.
 */
function namedKey(ctx: SyncContext, id: Uint8Array): Uint8Array | undefined {
  return openingKeys(ctx).find((k) => bytesEqual(keyIdOf(k), id));
}

/**
 * In the new group (as its operator or by its Welcome): start it with the sync key chained from
 * `parentKey` (`null`: a key we do not hold, so we ask the group for its key), forget the old group's
 * views, re-send our chats and announce the new state.
 */
export async function afterReset(
  ctx: SyncContext,
  group: MlsGroup,
  oldGroupId: Uint8Array,
  parentKey: Uint8Array | null,
  now: number,
): Promise<SyncEffect[]> {
  const out: SyncEffect[] = [];
  // Heard lately (before the old group's views go): they re-send their own chats; we relay the others'.
  const live = liveMembers(ctx, now);
  out.push(...(await ctx.port.startGroup(group, now, parentKey)));
  ctx.state.views.clear();
  ctx.state.lastSeq.clear();
  out.push({ type: "reset", groupId: group.groupId, operator: oldGroupId });
  out.push({ type: "recovered", how: "reset", epochs: 0 });
  out.push(...(await ctx.port.resendAbandoned(now, true)));
  out.push(...(await ctx.port.relayChats(now, undefined, live)));
  out.push(...(await onGroupEffects(ctx, [{ type: "joined", epoch: group.epoch }], now)));
  return out;
}

/**
 * A roster member other than `operator` and us, heard within the view window in our group's id at a state
 * our history forks from: a competing group of our id is alive, not only its operator's word.
 */
function competitorHeard(ctx: SyncContext, operator: string, now: number): boolean {
  const g = ctx.port.group!;
  const gid = toHex(g.groupId);
  const me = toHex(ctx.port.memberId);
  const roster = rosterIdSet(ctx);
  const windowMs = timing(ctx).windowMs;
  for (const [who, v] of ctx.state.views) {
    if (who === me || who === operator || v.groupId !== gid || now - v.receivedAt > windowMs) continue;
    if (roster?.has(who) && relation(g.history, v.epoch, v.fingerprint, v.ancestry) === "FORKED") return true;
  }
  return false;
}
