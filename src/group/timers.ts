// The group core's clock: what `tick` runs, in order, and the table of deadlines `nextWake` is the
// minimum of. Deadlines are derived from the state where each decision is recorded (a proposal's vote
// time, the freeze, the approved-since time of the steward schedule), so a restored member wakes on time
// without a saved timer table.
import { isActive } from "../mls/index.ts";
import { toHex } from "../util/bytes.ts";
import { announceKeyPackage } from "./admission.ts";
import { retryRefused } from "./candidates.ts";
import { chatHoldDue, releaseChats } from "./chat-order.ts";
import { chatPullDue, pullChats } from "./chat-pull.ts";
import { pullsDue, sweepPulls } from "./commit-pull.ts";
import type { GroupEffect } from "./effects.ts";
import { select } from "./epoch-change.ts";
import { onSds } from "./inbound.ts";
import { publishKeyPackageSet } from "./keypackages.ts";
import { pendingRequestsDue, proposeJoiners } from "./pending.ts";
import { refreshRejoinRequest } from "./rejoin.ts";
import type { GroupCore } from "./state.ts";
import { stewardCommit } from "./steward-commit.ts";
import { commitSlot, retryDue, stewardRank } from "./steward-schedule.ts";
import { askSyncKey } from "./sync-key.ts";
import { castVotes, decideAll } from "./votes.ts";

/** Runs what is due: SDS sweeps, votes, decisions, steward commit, selection, KeyPackage announcements. */
export async function tick(core: GroupCore, now: number): Promise<GroupEffect[]> {
  const s = core.state;
  if (core.group === undefined) {
    await refreshRejoinRequest(core, now);
    return announceKeyPackage(core, now);
  }
  // Removed: nothing of the group is ours to do any more (votes, proposals, commits, SDS syncs).
  if (!isActive(core.group)) return [];
  core.vol.lastTick = now;
  const out: GroupEffect[] = [];
  if (core.sds !== undefined) out.push(...(await onSds(core, core.sds.tick(now), now)));
  if (s.keyPackageSetGroup !== toHex(core.group.groupId))
    out.push(...(await publishKeyPackageSet(core, now)));
  if (s.syncKey === undefined && now >= s.nextKeyPackageAt) {
    // The share sent with our Welcome can arrive before the Welcome does: ask again.
    s.nextKeyPackageAt = now + core.params.keyPackageResendMs;
    out.push(...(await askSyncKey(core, core.group.epoch, now)));
  }
  out.push(...releaseChats(core, now));
  out.push(...(await castVotes(core, now)));
  decideAll(core, now, out);
  out.push(...(await proposeJoiners(core, now)));
  out.push(...(await sweepPulls(core, now)));
  out.push(...(await pullChats(core, now)));
  out.push(...(await retryRefused(core, now)));
  out.push(...(await stewardCommit(core, now)));
  if (s.freezeUntil !== undefined && now >= s.freezeUntil) out.push(...(await select(core, now)));
  return out;
}

/** The group core's deadlines, by what they are for (absent: nothing of that kind is due). */
export type GroupTimers = Partial<
  Record<
    | "announce"
    | "publishKeyPackages"
    | "askSyncKey"
    | "decide"
    | "sds"
    | "pendingRequests"
    | "freeze"
    | "vote"
    | "consensusTimeout"
    | "commitSlot"
    | "retryRound"
    | "chatHold"
    | "commitPull"
    | "chatPull",
    number
  >
>;

/**
 * The table of deadlines: until the member can act in its group, only those that get it there; none once
 * it was removed.
 */
export function timers(core: GroupCore): GroupTimers {
  const s = core.state;
  const group = core.group;
  if (group === undefined) return { announce: s.nextKeyPackageAt };
  if (!isActive(group)) return {};
  // A group we have not published our KeyPackage set in yet (just joined): at once.
  if (s.keyPackageSetGroup !== toHex(group.groupId)) return { publishKeyPackages: Number.NEGATIVE_INFINITY };
  const sds = core.sds?.nextWake() ?? Number.POSITIVE_INFINITY;
  if (s.syncKey === undefined) return { askSyncKey: s.nextKeyPackageAt, sds };
  if (core.vol.decisionDue) return { decide: Number.NEGATIVE_INFINITY };
  const t: GroupTimers = { sds, pendingRequests: pendingRequestsDue(core) };
  const hold = chatHoldDue(core);
  if (hold !== undefined) t.chatHold = hold;
  if (s.freezeUntil !== undefined) t.freeze = s.freezeUntil;
  const pull = pullsDue(core);
  if (pull < Number.POSITIVE_INFINITY) t.commitPull = pull;
  const chatPull = chatPullDue(core);
  if (chatPull !== undefined) t.chatPull = chatPull;
  let vote = Number.POSITIVE_INFINITY;
  let timeout = Number.POSITIVE_INFINITY;
  for (const p of s.proposals.values()) {
    if (p.voteAt !== undefined) vote = Math.min(vote, p.voteAt);
    if (p.status === "pending") timeout = Math.min(timeout, p.receivedAt + core.params.consensusTimeoutMs);
  }
  t.vote = vote;
  t.consensusTimeout = timeout;
  if (s.approvedSince !== undefined && s.freezeUntil === undefined) {
    const rank = stewardRank(core, s.retry);
    // A slot already passed is not a reason to wake again.
    const mine = rank >= 0 ? commitSlot(core.params, s.approvedSince, rank) : Number.NEGATIVE_INFINITY;
    if (mine > core.vol.lastTick) t.commitSlot = mine;
    t.retryRound = retryDue(core.params, s.approvedSince);
  }
  return t;
}

/** The earliest time `tick` has something to do. */
export function nextWake(core: GroupCore): number {
  return Math.min(...Object.values(timers(core)));
}
