// Which steward list is in force and when each steward commits (de-MLS; docs/conformance.md). A list is
// elected at one epoch among the settled members (those not added by that epoch's commit) and serves
// `length` epochs, its entry at `(epoch - election epoch) mod length` the epoch steward; once exhausted
// a new one is elected at the current epoch. The epoch steward commits `commitDelayMs` after the first
// approved proposal, each backup `backupDelayMs` after the one before it; once all had their turn, the
// next retry round elects a list at the current epoch with the round as the seed. Every member keeps
// the list of each of its recent states, so that a rewind finds it again; a joiner gets it with its
// Welcome.
import { type MlsGroup, roster } from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { requireGroup } from "./core.ts";
import type { StewardListFrame } from "./frames.ts";
import type { GroupParams } from "./params.ts";
import type { GroupCore } from "./state.ts";
import { elect, isExhausted, rotation, type StewardList, settledMembers } from "./steward.ts";

/** Steward rotations cached per member (distinct states and rounds asked for within one epoch). */
const STEWARD_CACHE_SIZE = 8;
/** Lists kept, by state: more than the retained epochs a rewind can go back to. */
const LISTS_KEPT = 32;
/** Retry rounds searched for the list a committer acted under (its commit carries that list on). */
const ROUNDS_SEARCHED = 16;

/** Members of `group` (hex ids) as a predicate: who may act as steward (a member no longer in it may not). */
function inRosterOf(group: MlsGroup): (id: Uint8Array) => boolean {
  const ids = new Set(roster(group).map((m) => toHex(m.memberId)));
  return (id) => ids.has(toHex(id));
}

/** A list elected at `group`'s epoch among `pool` in round `retry`. */
function electAt(core: GroupCore, group: MlsGroup, retry: number, pool: readonly Uint8Array[]): StewardList {
  return elect(group.epoch, retry, pool, group.groupId, core.params.stewardListSize);
}

/**
 * The list in force at `group`'s state: the one recorded for it, or (a state we never recorded: an old
 * snapshot, a rewind beyond the kept lists) a list elected at its epoch among its roster.
 */
export function listInForce(core: GroupCore, group: MlsGroup = requireGroup(core)): StewardList {
  const kept = core.state.stewardLists.get(toHex(group.fingerprint));
  if (kept !== undefined && !isExhausted(kept, group.epoch)) return kept;
  return electAt(
    core,
    group,
    0,
    roster(group).map((m) => m.memberId),
  );
}

/** Records `list` as the one in force at the current state. */
export function installList(core: GroupCore, list: StewardList): void {
  const lists = core.state.stewardLists;
  const key = toHex(requireGroup(core).fingerprint);
  lists.delete(key);
  lists.set(key, list);
  while (lists.size > LISTS_KEPT) lists.delete(lists.keys().next().value!);
  core.vol.stewardCache.clear();
}

/**
 * The list of retry round `retry` at `group`'s state: round 0's is the list in force; a later round's is
 * elected at the epoch among the whole roster, settled or not. (de-MLS re-elects among the settled
 * members, and when its retries run out any member may commit; after a commit that added everyone but
 * its committer the settled members are that one member, and a retry among them alone would never end.)
 */
function roundList(core: GroupCore, group: MlsGroup, retry: number): StewardList {
  if (retry === 0) return listInForce(core, group);
  return electAt(
    core,
    group,
    retry,
    roster(group).map((m) => m.memberId),
  );
}

/**
 * The list a commit by `committer` on the current state carries on: the list of the first retry round
 * whose list names it (round 0's when none does: a commit applied by catch-up).
 */
function carriedList(core: GroupCore, committer: Uint8Array): StewardList {
  const group = requireGroup(core);
  for (let retry = 0; retry < ROUNDS_SEARCHED; retry++) {
    const list = roundList(core, group, retry);
    if (list.members.some((m) => bytesEqual(m, committer))) return list;
  }
  return listInForce(core, group);
}

/**
 * The list in force after a commit by `committer` on the current state leads to `next`, which adds
 * `added`: the committer's list while it lasts, else one elected at the new epoch among the members
 * settled there (retry round 0).
 */
export function nextList(
  core: GroupCore,
  committer: Uint8Array,
  next: MlsGroup,
  added: readonly Uint8Array[],
): StewardList {
  const carried = carriedList(core, committer);
  if (!isExhausted(carried, next.epoch)) return carried;
  const all = roster(next).map((m) => m.memberId);
  return electAt(core, next, 0, settledMembers(all, added));
}

/**
 * The list of a group we start in (created, entered by a reset, or built from one commit): its creator
 * (leaf 0) alone, elected at the group's epoch. A group created at epoch 0 that one commit of its
 * creator brought to epoch 1 has that list under de-MLS's rule too: the members added at 1 are not
 * settled there.
 */
export function creatorList(group: MlsGroup, self: Uint8Array): StewardList {
  const creator = roster(group).find((m) => m.leafIndex === 0)?.memberId ?? self;
  return { electionEpoch: group.epoch, retry: 0, members: [creator] };
}

/** `list` as it travels with a Welcome. */
export function listFrame(list: StewardList): StewardListFrame {
  return { members: [...list.members], electionEpoch: list.electionEpoch, retry: list.retry };
}

/**
 * The steward list a Welcome brought for `group`, if it can be the one in force there: at most
 * `stewardListSize` members, each at most 256 bytes, elected at an epoch whose list still serves
 * `group`'s epoch. A member named that is not in the roster is tolerated (removed since the election:
 * the rotation passes it by). Undefined otherwise: the joiner elects a list itself.
 */
export function listFromFrame(
  f: StewardListFrame | undefined,
  group: MlsGroup,
  p: GroupParams,
): StewardList | undefined {
  if (f === undefined || f.electionEpoch === undefined || f.members.length === 0) return undefined;
  if (f.members.length > p.stewardListSize || f.members.some((m) => m.length === 0 || m.length > 256))
    return undefined;
  const list: StewardList = { electionEpoch: f.electionEpoch, retry: f.retry ?? 0, members: f.members };
  return isExhausted(list, group.epoch) ? undefined : list;
}

/** The stewards of the current epoch in retry round `retry`, in the order they act (epoch steward first). */
export function stewards(core: GroupCore, retry = 0): Uint8Array[] {
  const group = requireGroup(core);
  // The rotation changes only with the state (one fingerprint names epoch, roster and list, also across
  // branches) and the round.
  const key = `${toHex(group.fingerprint)}/${retry}`;
  const cache = core.vol.stewardCache;
  let list = cache.get(key);
  if (list === undefined) {
    list = rotation(roundList(core, group, retry), group.epoch, inRosterOf(group));
    if (cache.size >= STEWARD_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(key, list);
  }
  return list;
}

/** The epoch steward of the current epoch (round 0): it leads, and ranks first among candidates. */
export function epochSteward(core: GroupCore): Uint8Array | undefined {
  return stewards(core, 0)[0];
}

/** Our position in the steward order of round `retry` (-1: not on it). */
export function stewardRank(core: GroupCore, retry: number): number {
  return stewards(core, retry).findIndex((m) => bytesEqual(m, core.identity.id));
}

/** Whether we are the epoch steward of round 0 (who proposes pending requests at once). */
export function isEpochSteward(core: GroupCore): boolean {
  const steward = epochSteward(core);
  return steward !== undefined && bytesEqual(steward, core.identity.id);
}

/** When the steward at `rank` commits proposals approved since `approvedSince`. */
export function commitSlot(p: GroupParams, approvedSince: number, rank: number): number {
  return approvedSince + p.commitDelayMs + rank * p.backupDelayMs;
}

/** When the whole steward list has had its turn: the next retry round starts. */
export function retryDue(p: GroupParams, approvedSince: number | undefined): number {
  return commitSlot(p, approvedSince ?? 0, p.stewardListSize);
}

/**
 * Retry rounds that have begun by the clock beyond the one we are in (a member that has not ticked since
 * a round began is behind a steward that has).
 */
export function roundsBegun(p: GroupParams, approvedSince: number | undefined, now: number): number {
  if (approvedSince === undefined) return 0;
  const roundMs = Math.max(1, p.backupDelayMs * p.stewardListSize);
  return Math.max(0, Math.floor((now - retryDue(p, approvedSince)) / roundMs) + 1);
}
