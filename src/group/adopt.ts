// Taking a group value: a created or reset group, one joined from a Welcome, or our own rewound. A new
// group id means a new SDS channel and a clean slate of proposals and commits; the same id keeps them.
import { isActive, type MlsGroup, roster } from "../mls/index.ts";
import { newSdsState, SdsChannel } from "../sds/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import type { GroupEffect } from "./effects.ts";
import { recordDepartures, recordReturns } from "./former-members.ts";
import { retryHeld } from "./inbound.ts";
import type { GroupCore } from "./state.ts";
import type { StewardList } from "./steward.ts";
import { creatorList, installList, listInForce } from "./steward-schedule.ts";
import { chainSyncKey, deriveSyncKey, rotateSyncKey, syncKeyAfterRewind } from "./sync-key.ts";

/**
 * Tells SDS who the participants are, for acknowledgements: the roster, less the members whose leaf is
 * stale by their own signed rejoin request (they left that state and acknowledge nothing in it: waiting
 * for them made every message go out again up to `maxResends` times while a rejoin was held back).
 */
export function updateParticipants(core: GroupCore): void {
  if (core.group && core.sds) {
    const s = core.state;
    const ids = roster(core.group)
      .map((m) => toHex(m.memberId))
      .filter((id) => !s.pendingRejoins.has(id) && !s.rejoinWaiting.has(id));
    core.sds.setParticipants(ids.length, ids);
  }
}

/** Groups we were in before the current one that we remember (rejoin requests may name them). */
const PAST_GROUPS_KEPT = 8;

/**
 * Takes `group` as ours. `sdsHorizon`: a new channel ignores SDS history before this Lamport time (the
 * group's life before we joined). `stewards`: the steward list in force at `group`'s state (a joiner's,
 * from its Welcome); by default the one we recorded for that state (a rewind), else one elected there.
 */
export function adopt(
  core: GroupCore,
  group: MlsGroup,
  now: number,
  sdsHorizon: bigint,
  stewards?: StewardList,
): void {
  const s = core.state;
  const channelId = toHex(group.groupId);
  const inRoster = new Set(roster(group).map((m) => toHex(m.memberId)));
  // Members a reset group leaves out may come back; members we remember as out may be on the roster we
  // take (a branch, a reset group).
  if (core.group !== undefined && !bytesEqual(core.group.groupId, group.groupId)) {
    recordDepartures(core, core.group, inRoster, now, () => "reset");
    const past = s.pastGroupIds;
    const old = toHex(core.group.groupId);
    if (!past.includes(old)) past.push(old);
    if (past.length > PAST_GROUPS_KEPT) past.shift();
  }
  recordReturns(core, inRoster, new Set(), now);
  // Entering a group (not stepping within ours): chats sent before are not ours to wait for (docs/chats.md).
  if (core.group === undefined || !isActive(core.group) || !bytesEqual(core.group.groupId, group.groupId)) {
    s.chatsFrom = group.epoch;
    core.vol.enteredAt = now;
  }
  if (s.sds === undefined || s.sds.channelId !== channelId) {
    const sds = newSdsState(toHex(core.identity.id), channelId, now, core.params.sds);
    sds.horizon = sdsHorizon;
    s.sds = sds;
    core.sds = new SdsChannel(sds, core.rng, core.params.sds);
    s.candidates = [];
    s.freezeUntil = undefined;
    s.proposals.clear();
    s.approvedSince = undefined;
    // Requests seen on a branch we left are that branch's business. KeyPackages queued outside this group
    // (by Welcome, or by a reset) predate all we know of its membership: a member that left it since
    // would come back as a ghost (chaos churn 1713). Joiners announce theirs again.
    s.pendingRejoins.clear();
    s.pendingKeyPackages.clear();
    s.rejoinWaiting.clear();
    // The log serves catch-up: only commits of the chain we are on (its epochs start anew).
    s.commitLog = [];
  } else {
    const log = s.commitLog;
    // Rewound (re-aligned, stepped back): the commits we leave are no chain anyone should follow.
    while (log.length > 0 && log.at(-1)!.epoch >= group.epoch) log.pop();
  }
  s.rejoinRequest = undefined;
  s.removedAsStale = false;
  const within = core.group !== undefined && bytesEqual(core.group.groupId, group.groupId);
  core.group = group;
  if (within) syncKeyAfterRewind(core, group);
  installList(core, stewards ?? listInForce(core, group));
  s.retry = 0;
  updateParticipants(core);
}

/**
 * Starts in a new group: as its creator, or entering a hard reset's group (`resetFrom`: the old group's
 * sync key, which the new key is chained from).
 */
export async function startGroup(
  core: GroupCore,
  group: MlsGroup,
  now: number,
  resetFrom?: Uint8Array | null,
): Promise<GroupEffect[]> {
  adopt(core, group, now, 0n, creatorList(group, core.identity.id));
  // After a reset the old group's key stays readable: a better-ranked operator's Welcome and the votes
  // of members still in the old group come under it. A reset chained from a key we lack (`null`): no key
  // until a member shares it (the timer asks).
  rotateSyncKey(
    core,
    resetFrom === null
      ? undefined
      : {
          anchorEpoch: group.epoch,
          key: resetFrom
            ? chainSyncKey(resetFrom, group.groupId)
            : await deriveSyncKey(group, core.state.conversation),
        },
  );
  // A reset's competing groups share the group id, hence the SDS channel: what SDS took in while we were
  // in the other one is not delivered again, and waits among the held frames.
  return [{ type: "joined", epoch: group.epoch }, ...(await retryHeld(core, now))];
}
