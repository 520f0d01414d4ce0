// The group core as the sync layer sees it: a `GroupMember` adapted to the sync layer's `GroupPort`. Every
// read goes to the member at the time of the read (its group value, sync keys and KeyPackages change as
// commands and input run); commands pass straight through, in the order the sync layer calls them.
import { equivocatorsOf } from "../group/equivocation.ts";
import type { GroupMember } from "../group/member.ts";
import { isActive } from "../mls/index.ts";
import type { GroupPort } from "../sync/group-port.ts";

/** `member` as the port its sync core uses. */
export function groupPortOf(member: GroupMember): GroupPort {
  return {
    get identity() {
      return member.identity;
    },
    get memberId() {
      return member.memberId;
    },
    // A group that removed us is none to the sync layer: it gossips, votes, answers and heals nothing
    // there (the group core sends nothing on it either).
    get group() {
      const g = member.group;
      return g !== undefined && isActive(g) ? g : undefined;
    },
    get removedGroup() {
      const g = member.group;
      return g !== undefined && !isActive(g) ? g : undefined;
    },
    get removedAsStale() {
      return member.state.removedAsStale;
    },
    get leaving() {
      return member.state.leaving;
    },
    leave: (now) => member.leave(now),
    get syncKey() {
      return member.state.syncKey?.key;
    },
    get previousSyncKeys() {
      return member.state.previousSyncKeys;
    },
    get commitInFlight() {
      return member.state.freezeUntil !== undefined;
    },
    get equivocators() {
      return equivocatorsOf(member.state.equivocations);
    },
    get leftByOwnLeave() {
      return member.leftByOwnLeave();
    },
    shouldAskBack: (id: string, fromEpoch: bigint) => member.shouldAskBack(id, fromEpoch),
    departedAt: (id: string) => member.departedAt(id),
    get equivocationForks() {
      return member.state.equivocationForks;
    },
    get commitLog() {
      return member.state.commitLog;
    },
    get conversation() {
      return member.state.conversation;
    },
    get keyPackages() {
      return member.keyPackages;
    },
    rosterIds: () => member.rosterIds(),
    keyPackageSet: (memberId) => member.keyPackageSet(memberId),
    requestRejoin: (keyPackages, now, groupId) => member.requestRejoin(keyPackages, now, groupId),
    replaceGroup: (group, now) => member.replaceGroup(group, now),
    applyCommit: (commit, now, via, approvedOnly) => member.applyCommit(commit, now, via, approvedOnly),
    resendAbandoned: (now, all, sinceEpoch) => member.resendAbandoned(now, all, sinceEpoch),
    relayChats: (now, fromEpoch, live) => member.relayChats(now, fromEpoch, live),
    get chatSequence() {
      return member.chatSequence;
    },
    noteChatSequence: (who, sequence, now, via) => member.noteChatSequence(who, sequence, now, via),
    chatsHeldOf: (who) => member.chatsHeldOf(who),
    abandonChats: () => member.abandonChats(),
    departedSince: (since) => member.departedSince(since),
    skipMissedHistory: (now) => member.skipMissedHistory(now),
    startGroup: (group, now, resetFrom) => member.startGroup(group, now, resetFrom),
  };
}
