// Applying catch-up answers: the answer to our own request (which may rewind us to the fork point), and
// answers heard to other members' requests (forward only), commit by commit, each checked by MLS and
// against the fingerprint the answer announces.
import type { GroupEffect } from "../group/effects.ts";
import { fingerprintAt, MlsProtocolError, rewind } from "../mls/index.ts";
import { bytesEqual } from "../util/bytes.ts";
import { onNoPath } from "./catchup-nopath.ts";
import { sendCatchUp } from "./catchup-request.ts";
import { drop } from "./channel.ts";
import type { SyncContext } from "./context.ts";
import type { RecoveryHow, SyncEffect } from "./effects.ts";
import { onGroupEffects } from "./gossip.ts";
import { flaggedOnRemoval, onRemovalAnswer } from "./removal-check.ts";
import { liveMembers } from "./roster.ts";
import type { PendingCatchUp } from "./state.ts";
import type { CatchUpResponse } from "./wire.ts";

/**
 * A catch-up answer: to our request (its nonce), applied; to another member's, kept (the last
 * `heardBatches`) and, while we are BEHIND, moved forward through.
 */
export async function onCommits(ctx: SyncContext, r: CatchUpResponse, now: number): Promise<SyncEffect[]> {
  if (r.commits.length > ctx.params.maxCatchUpCommits) return drop(ctx, "OVERSIZED_BATCH");
  // Every entry whole before anything reads it: an entry without its epoch would make epoch arithmetic
  // throw.
  if (r.commits.some((e) => e.epoch === undefined || !e.commit || !e.fingerprintAfter))
    return drop(ctx, "MALFORMED");
  const c = ctx.state.catchUp;
  if (c && r.nonce && bytesEqual(r.nonce, c.nonce)) {
    // The answer to our removal check: applied only when the group went on without our removal.
    if (ctx.port.group === undefined) {
      if (!(await onRemovalAnswer(ctx, r, now, c))) return [];
      const out = await applyBatch(ctx, r, now, c);
      // We had asked to leave, and the leave was on the branch the group abandoned: ask again.
      if (ctx.port.group !== undefined && ctx.port.leaving) out.push(...(await ctx.port.leave(now)));
      return out;
    }
    return applyBatch(ctx, r, now, c);
  }
  const g = ctx.port.group;
  // Removed: an answer to an earlier request of our removal check still counts there.
  if (g === undefined) {
    await onRemovalAnswer(ctx, r, now, undefined);
    return [];
  }
  if (!r.groupId || !bytesEqual(r.groupId, g.groupId)) return [];
  const heard = ctx.volatile.heard;
  heard.push(r);
  if (heard.length > ctx.params.heardBatches) heard.shift();
  return ctx.state.status === "BEHIND" ? applyHeard(ctx, now) : [];
}

/** Moves forward through heard answers while one carries the commit of our epoch (no rewinds). */
export async function applyHeard(ctx: SyncContext, now: number): Promise<SyncEffect[]> {
  const out: SyncEffect[] = [];
  for (let moved = true; moved; ) {
    // A heard batch may remove us: the port then holds no group, and there is nothing more to apply.
    const g = ctx.port.group;
    if (g === undefined) break;
    const { epoch, groupId } = g;
    const r = ctx.volatile.heard.findLast(
      (b) => bytesEqual(b.groupId!, groupId) && b.commits.some((e) => e.epoch === epoch),
    );
    if (r === undefined) break;
    out.push(...(await applyBatch(ctx, r, now, undefined)));
    moved = ctx.port.group?.epoch !== epoch;
  }
  return out;
}

/**
 * Applies a batch: rewinds to the last shared epoch if we forked, then every commit in epoch order.
 * `asked` is our request it answers; a heard answer (undefined) only moves us forward.
 */
async function applyBatch(
  ctx: SyncContext,
  r: CatchUpResponse,
  now: number,
  asked: PendingCatchUp | undefined,
): Promise<SyncEffect[]> {
  const port = ctx.port;
  // Removed since we asked (a commit heard meanwhile): no group to apply anything to.
  if (port.group === undefined) return [];
  let g = port.group;
  const batch = [...r.commits].sort((a, b) => (a.epoch! < b.epoch! ? -1 : 1));
  // Fork point: the newest epoch where the batch's state equals ours.
  let forkPoint = g.epoch;
  const afterOf = new Map(batch.map((e) => [e.epoch! + 1n, e.fingerprintAfter!]));
  if (r.baseEpoch !== undefined && r.baseFingerprint) afterOf.set(r.baseEpoch, r.baseFingerprint);
  const startEpoch = batch[0]?.epoch;
  if (startEpoch === undefined) {
    // The holder has no commits leading from our state: we cannot get there by commits.
    if (asked === undefined) return [];
    return onNoPath(ctx, r, asked, "NO_PATH_TO_MAJORITY", now);
  }
  const mineAt = (e: bigint) => fingerprintAt(g.history, e);
  // Wholly behind us and on our chain: answers heard to others' requests moved us past it before it
  // came. Taken as a fork, it would rewind us, or make us ask to rejoin when the epoch it leads to is no
  // longer retained.
  const end = batch.at(-1)!.epoch! + 1n;
  const mineAtEnd = mineAt(end);
  if (end < g.epoch && mineAtEnd !== undefined && bytesEqual(mineAtEnd, afterOf.get(end)!)) return [];
  if (
    !batch.some((e) => e.epoch === g.epoch) ||
    (afterOf.has(g.epoch) && !bytesEqual(afterOf.get(g.epoch)!, mineAt(g.epoch)!))
  ) {
    forkPoint = startEpoch;
    for (let e = g.epoch; e >= startEpoch; e--) {
      const theirs = afterOf.get(e);
      const ours = mineAt(e);
      if (theirs && ours && bytesEqual(theirs, ours)) {
        forkPoint = e;
        break;
      }
    }
  }
  const out: SyncEffect[] = [];
  let how: Extract<RecoveryHow, "catch-up" | "realign"> = "catch-up";
  const shared = (e: bigint) => {
    const theirs = afterOf.get(e);
    const ours = mineAt(e);
    return theirs !== undefined && ours !== undefined && bytesEqual(theirs, ours);
  };
  // The batch forks from us at or below the oldest state it shows: nothing we hold is on its chain
  // (a competing group of our reset, or a fork older than what we retain).
  // (A batch that names no state at our epoch is tried: the commits' fingerprints check it.)
  const unnamed = forkPoint === g.epoch && !afterOf.has(g.epoch);
  if (!unnamed && !shared(forkPoint))
    return asked === undefined ? [] : onNoPath(ctx, r, asked, "FORK_BEYOND_RETAINED", now);
  if (forkPoint < g.epoch && asked === undefined) return [];
  if (forkPoint < g.epoch) {
    try {
      g = rewind(g, forkPoint);
    } catch (e) {
      if (e instanceof MlsProtocolError && e.code === "NOT_RETAINED")
        return onNoPath(ctx, r, asked!, "FORK_BEYOND_RETAINED", now);
      throw e;
    }
    port.replaceGroup(g, now);
    how = "realign";
  }
  let applied = 0;
  // A majority that is one member's claim (a roster of 2 or 3, classify.ts) is no proof that the group
  // voted what its commits change: their adds and removals must be approved by our own tally.
  const approvedOnly = ctx.volatile.verdict?.soleClaim === true;
  for (const e of batch) {
    if (e.epoch !== port.group!.epoch) continue;
    const eff = await port.applyCommit(e.commit!, now, how, approvedOnly);
    if (eff !== undefined && port.group === undefined) {
      // The commit removed us (the port shows no group once we are out): it is applied, and it is the
      // last one that is ours to apply. Its flag, if an answer to us, counts in the removal check that follows.
      ctx.state.catchUp = undefined;
      if (asked !== undefined) await flaggedOnRemoval(ctx, r, e.epoch!);
      return [...out, ...eff];
    }
    if (eff === undefined || !bytesEqual(port.group!.fingerprint, e.fingerprintAfter!)) {
      // The commit that leads from our very state to theirs does not apply for us: our own commit
      // whose result we no longer hold (we restarted since), say. That branch is closed to us.
      if (applied === 0 && asked !== undefined && eff === undefined) {
        return [...out, ...(await onNoPath(ctx, r, asked, "COMMIT_NOT_APPLICABLE", now))];
      }
      break;
    }
    applied++;
    out.push(...eff);
  }
  if (applied > 0) {
    const at = port.group!;
    const pending = ctx.state.catchUp;
    // Our request is answered, or a heard batch took us as far as it asked.
    if (asked !== undefined || (pending !== undefined && at.epoch >= pending.epoch))
      ctx.state.catchUp = undefined;
    out.push({ type: "recovered", how, epochs: applied });
    // A batch cut at `catchUpMaxBytes`: ask for the rest at once, without waiting for a verdict.
    if (asked !== undefined && applied === batch.length && at.epoch < asked.epoch)
      out.push(...(await sendCatchUp(ctx, at.epoch, asked.epoch, asked.fingerprint, now)));
    out.push(...(await port.skipMissedHistory(now)));
    // Chats sent on an abandoned branch, or at epochs the others may no longer decrypt: send again
    // (receivers dedupe by chat id).
    out.push(...(await port.resendAbandoned(now, false, startEpoch)));
    // Off an abandoned branch: the chats we read there of senders that cannot send them again (not heard
    // lately in our roster) reached only that branch's members: relay them.
    if (how === "realign") out.push(...(await port.relayChats(now, startEpoch, liveMembers(ctx, now))));
    out.push(
      ...(await onGroupEffects(
        ctx,
        out.filter((x): x is GroupEffect => x.type === "epoch"),
        now,
      )),
    );
  }
  return out;
}
