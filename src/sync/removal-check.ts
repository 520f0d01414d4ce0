// A member a commit removed checks that the group kept that commit (docs/sync.md, "Removed on a branch
// that lost"). A leave or a removal committed only on a branch the group later abandoned used to make a
// ghost: the member took the commit as final and went quiet, while the majority, which never had it, kept
// its leaf. Now the removed member classifies the state it held before the removal against the views it
// still reads and, while a majority is past that state, asks for the commits from it. If the answer's
// first commit is the one that removed it, the removal stands. If it is another, the group went on without
// the removal: the member returns to its state before it and applies the answer like any catch-up (and a
// member that had asked to leave asks again).
import { fingerprintAt, type MlsGroup, retainedEpochs, rewind, roster } from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { answerSigner } from "./answer-signer.ts";
import { NO_PATH_QUORUM } from "./catchup-nopath.ts";
import { forkedFrom, sendCatchUp } from "./catchup-request.ts";
import { count } from "./channel.ts";
import type { SyncContext } from "./context.ts";
import type { SyncEffect } from "./effects.ts";
import type { LoggedCommit } from "./group-port.ts";
import { rejoin } from "./rejoin.ts";
import { timing } from "./roster.ts";
import type { PendingCatchUp } from "./state.ts";
import { judge } from "./verdict.ts";
import type { CatchUpResponse } from "./wire.ts";

/** View windows a removal check lasts at most, however long the group goes without a majority. */
export const REMOVAL_CHECK_MAX_WINDOWS = 60;

/** Nonces of a removal check's last requests whose answers still count (see `onRemovalAnswer`). */
const REMOVAL_CHECK_NONCES_KEPT = 4;

/** The commit that removed us (the one that led to the inactive group's state), if we were removed. */
function removalCommit(ctx: SyncContext): LoggedCommit | undefined {
  const removed = ctx.port.removedGroup;
  if (removed === undefined) return undefined;
  return ctx.port.commitLog.findLast((e) => bytesEqual(e.fingerprintAfter, removed.fingerprint));
}

/** The state we held before the commit that removed us, if we were removed and still retain it. */
export function beforeRemoval(ctx: SyncContext): MlsGroup | undefined {
  const removed = ctx.port.removedGroup;
  const commit = removalCommit(ctx);
  if (removed === undefined || commit === undefined) return undefined;
  return retainedEpochs(removed).includes(commit.epoch) ? rewind(removed, commit.epoch) : undefined;
}

/**
 * Removed from our group: while the check is open (`goneAfterWindows` view windows from the removal), ask
 * a majority past our state before the removal for the commits from it (once per `catchUpRetryMs`). An
 * answer that confirms the removal does not close the check: the branch that majority is on may still
 * lose to a side we have not heard yet.
 */
export async function checkRemoval(ctx: SyncContext, now: number): Promise<SyncEffect[]> {
  const pre = beforeRemoval(ctx);
  const v = ctx.volatile;
  if (pre === undefined) {
    v.removalCheck = undefined;
    v.flaggedOnRemoval = undefined;
    return [];
  }
  const gid = toHex(pre.groupId);
  let c = v.removalCheck;
  if (c === undefined || c.groupId !== gid || c.epoch !== pre.epoch)
    c = v.removalCheck = {
      groupId: gid,
      epoch: pre.epoch,
      since: now,
      done: false,
      confirmed: false,
      seqAtStart: new Map(ctx.state.lastSeq),
    };
  if (c.done) return [];
  // Flags that came with the answer that brought our removal count as answers to the check do.
  const early = v.flaggedOnRemoval;
  if (early !== undefined) {
    v.flaggedOnRemoval = undefined;
    if (early.groupId === gid && early.epoch === pre.epoch) noteStaleLeaf(ctx, c, early.responders);
  }

  const windowMs = timing(ctx).windowMs;
  const verdict = judge(ctx, pre, now);
  // Time without a majority anywhere (the group itself still healing: a reset round, an even split) does
  // not count toward the check's end, up to `REMOVAL_CHECK_MAX_WINDOWS` windows in all: the majority
  // that will answer does not exist yet (chaos churn 616).
  const last = c.lastAt ?? now;
  // Only while others of this group report (a group healing), not while we read nobody: the removal
  // rotated the key, so a removed member's views age out and it would wait the whole cap every time.
  if (verdict.majority === undefined && verdict.reporting > 1) c.waitedMs = (c.waitedMs ?? 0) + (now - last);
  c.lastAt = now;
  const counted = now - c.since - (c.waitedMs ?? 0);
  const ended =
    counted > ctx.params.goneAfterWindows * windowMs || now - c.since > REMOVAL_CHECK_MAX_WINDOWS * windowMs;
  // Removed as a stale leaf (the group took us for a member that never got its Welcome): the group means
  // to add us again, from a KeyPackage we announce. Once a majority holds the removal, we ask. The flag is
  // on the removal proposal, or, when we never read the proposal (our Welcome came after it), on a signed
  // answer that confirmed the removal (crash-steps 284).
  if ((ctx.port.removedAsStale || c.staleLeaf === true) && (c.confirmed || ended) && !ctx.port.leaving) {
    c.done = true;
    count(ctx, "STALE_LEAF_REJOIN");
    return rejoin(ctx, now);
  }
  if (ended) {
    c.done = true;
    count(ctx, "REMOVAL_CHECK_ENDED");
    // The removal stands: what we sent that no member acknowledged will not reach the group through us.
    return ctx.port.abandonChats();
  }
  const m = verdict.majority;
  // The majority holds our very state before the removal, heard there for longer after the removal than
  // it takes to apply a commit: the commit that removed us reached nobody else (we applied it on a side
  // of our own, and the others on it stepped back, say). We take our state before it again, as when a
  // majority answers with another commit (chaos churn 371). Views from before the removal, or from
  // members that took it since (they seal under the key it rotated to, which we cannot read), show
  // nothing of the kind.
  if (verdict.status === "IN_SYNC" && m !== undefined) {
    const after = c.since + ctx.params.hardAfterMs + timing(ctx).intervalMs;
    const me = toHex(ctx.port.memberId);
    // Heard at that state late enough, and by infos it signed after the check began (two at least): a
    // relay that held back infos sent before the removal cannot pass them off as later ones by delay.
    const wentOn = (w: string) =>
      (ctx.state.lastSeq.get(w) ?? 0n) >= (c.seqAtStart?.get(w) ?? 0n) + 2n &&
      (ctx.state.views.get(w)?.receivedAt ?? Number.NEGATIVE_INFINITY) >= after;
    const heardAfter = m.members.filter((w) => w === me || wentOn(w)).length;
    if (heardAfter * 2 <= verdict.rosterSize) return [];
    c.done = true;
    count(ctx, "REMOVAL_UNDONE");
    ctx.port.replaceGroup(pre, now);
    return ctx.port.leaving ? ctx.port.leave(now) : [];
  }
  if ((verdict.status !== "BEHIND" && verdict.status !== "FORKED") || m === undefined) return [];
  // Behind: from our state before the removal. Forked at or below it (the majority is on a branch that
  // left ours before our removal, and may be no further on than we were): from below the oldest state
  // we retain, as a forked member asks (catchup-request.ts), so the answer shows where the branches part.
  let from = pre.epoch;
  if (m.epoch <= pre.epoch) {
    if (verdict.status !== "FORKED") return [];
    from = forkedFrom(pre, m.epoch);
  }
  const asked = ctx.state.catchUp;
  if (asked && now - asked.sentAt < ctx.params.catchUpRetryMs) return [];
  const out = await sendCatchUp(ctx, from, m.epoch, m.fingerprint, now, pre.groupId);
  // Remembered: an answer to it that comes after another answer cleared the request still counts.
  const sent = ctx.state.catchUp?.nonce;
  if (sent !== undefined) c.nonces = [...(c.nonces ?? []), toHex(sent)].slice(-REMOVAL_CHECK_NONCES_KEPT);
  return out;
}

/** The responder (hex) of answer `r` when it is signed by another member of a recent roster of ours. */
async function signedResponder(ctx: SyncContext, r: CatchUpResponse): Promise<string | undefined> {
  const signer = await answerSigner(ctx, r);
  return "responder" in signer ? signer.responder : undefined;
}

/**
 * Members (hex) that hold our removal: the roster the commit that removed us left (members it removed
 * with us are out of it, and cannot answer honestly). Only they count toward a `stale_leaf` flag.
 */
function removalHolders(ctx: SyncContext): Set<string> {
  const removed = ctx.port.removedGroup;
  const out = new Set(removed === undefined ? [] : roster(removed).map((m) => toHex(m.memberId)));
  out.delete(toHex(ctx.port.memberId));
  return out;
}

/**
 * How many distinct responders must flag our removal as a stale leaf's before we ask back: as many as
 * must say "no path" ({@link NO_PATH_QUORUM}), or every member that holds the removal when fewer. One
 * insider's word would otherwise make a member the group kept ask to be re-added.
 */
export function staleLeafQuorum(holders: ReadonlySet<string>): number {
  return Math.max(1, Math.min(NO_PATH_QUORUM, holders.size));
}

/**
 * Responders (hex) flagging our removal as a stale leaf's (`stale_leaf`, signatures verified) are
 * counted when they hold the removal; the flag holds once {@link staleLeafQuorum} distinct ones said so,
 * over the check's requests and the answer that brought the removal (`flaggedOnRemoval`).
 */
function noteStaleLeaf(
  ctx: SyncContext,
  c: NonNullable<SyncContext["volatile"]["removalCheck"]>,
  responders: readonly string[],
): void {
  if (c.staleLeaf === true) return;
  const holders = removalHolders(ctx);
  const said = new Set([...(c.staleLeafFrom ?? []), ...responders.filter((w) => holders.has(w))]);
  c.staleLeafFrom = [...said];
  if (said.size >= staleLeafQuorum(holders)) c.staleLeaf = true;
  else if (said.size > 0) count(ctx, "STALE_LEAF_UNCORROBORATED");
}

/**
 * The answer `r` to our own request brought the commit (at `epoch`) that removed us: when it flags the
 * removal as a stale leaf's, its responder (signature verified) counts toward the flag in the removal
 * check that follows. The flag speaks of the requester only: an answer heard to another member's request
 * never counts.
 */
export async function flaggedOnRemoval(ctx: SyncContext, r: CatchUpResponse, epoch: bigint): Promise<void> {
  if (r.staleLeaf !== true || !r.groupId) return;
  const responder = await signedResponder(ctx, r);
  if (responder === undefined) return;
  const v = ctx.volatile;
  const gid = toHex(r.groupId);
  const f = v.flaggedOnRemoval;
  const seen = f?.groupId === gid && f.epoch === epoch ? f.responders : [];
  v.flaggedOnRemoval = { groupId: gid, epoch, responders: [...new Set([...seen, responder])] };
}

/**
 * Whether answer `r` leads to a state at or below our state before the removal `pre` that is not ours at
 * that epoch: the majority's branch parted from ours before our removal, and never held it.
 */
function partsBelow(pre: MlsGroup, r: CatchUpResponse): boolean {
  const last = r.commits.reduce<CatchUpResponse["commits"][number] | undefined>(
    (a, e) => (a === undefined || e.epoch! > a.epoch! ? e : a),
    undefined,
  );
  if (last === undefined) return false;
  const end = last.epoch! + 1n;
  const mine = fingerprintAt(pre.history, end);
  return end <= pre.epoch && mine !== undefined && !bytesEqual(mine, last.fingerprintAfter!);
}

/**
 * An answer to the request of our removal check (`asked`, pending), or to one of its last requests whose
 * answer came after another answer cleared it (`asked` undefined: its confirmation and flag still count,
 * so the first answer to arrive hides none of the others; an undoing answer waits for the next request).
 * The removal stands when its commit is the answer's first, and is undone otherwise (we take our state
 * before it again; the caller applies the answer).
 * @returns whether the caller should apply the answer.
 */
export async function onRemovalAnswer(
  ctx: SyncContext,
  r: CatchUpResponse,
  now: number,
  asked: PendingCatchUp | undefined,
): Promise<boolean> {
  const c = ctx.volatile.removalCheck;
  if (c === undefined || c.done) return false;
  if (asked === undefined && (r.nonce === undefined || !c.nonces?.includes(toHex(r.nonce)))) return false;
  const pre = beforeRemoval(ctx);
  if (pre === undefined || !r.groupId || !bytesEqual(r.groupId, pre.groupId)) return false;
  const first = r.commits.find((e) => e.epoch === pre.epoch);
  if (first === undefined && !partsBelow(pre, r)) return false;
  const ours = removalCommit(ctx);
  if (first !== undefined && (ours === undefined || bytesEqual(ours.commit, first.commit!))) {
    // The majority we asked is on our removal's branch now; it may still lose to another (a side we
    // have not heard yet): asked again while the check lasts.
    // On a responder's signed word only: anyone holding the old key reads our request's nonce.
    const responder = await signedResponder(ctx, r);
    if (responder === undefined) {
      count(ctx, "INVALID_SIGNATURE");
      return false;
    }
    count(ctx, "REMOVAL_CONFIRMED");
    c.confirmed = true;
    // The responder holds our removal as a stale leaf's: believed once distinct responders say so. It
    // decides nothing for the group: at members that removed us otherwise, our re-add is put to a vote.
    if (r.staleLeaf === true) noteStaleLeaf(ctx, c, [responder]);
    // Answered: the check may ask again at its next step (the majority may still move to another branch).
    if (asked !== undefined && ctx.state.catchUp === asked) ctx.state.catchUp = undefined;
    return false;
  }
  if (asked === undefined) return false;
  // Undone only on a responder's signed word (a member on a recent roster): anyone holding the old key
  // could otherwise send a commit of its own making, or garbage, with our request's nonce.
  if ((await signedResponder(ctx, r)) === undefined) {
    count(ctx, "INVALID_SIGNATURE");
    return false;
  }
  c.done = true;
  count(ctx, "REMOVAL_UNDONE");
  ctx.port.replaceGroup(pre, now);
  return true;
}
