// When each steward commits (de-MLS; docs/architecture.md, "The group layer"): the epoch steward `commitDelayMs` after the first approved
// proposal, each backup `backupDelayMs` after the one before it; once the whole list had its turn, the
// next retry round starts with a new list. Every timing of the schedule is computed here.
import { bytesEqual, toHex } from "../util/bytes.ts";
import { requireGroup, rosterIds } from "./core.ts";
import type { GroupParams } from "./params.ts";
import type { GroupCore } from "./state.ts";
import { stewardList } from "./steward.ts";

/** Steward lists cached per member (distinct states and rounds asked for within one epoch). */
const STEWARD_CACHE_SIZE = 8;

/** The steward list (member ids, epoch steward first) of the current epoch in retry round `retry`. */
export function stewards(core: GroupCore, retry = 0): Uint8Array[] {
  const group = requireGroup(core);
  // The list changes only with the state (epoch and roster: one fingerprint names both, also across
  // branches) and the round.
  const key = `${toHex(group.fingerprint)}/${retry}`;
  const cache = core.vol.stewardCache;
  let list = cache.get(key);
  if (list === undefined) {
    list = stewardList(group.epoch, retry, rosterIds(core), group.groupId, core.params.stewardListSize);
    if (cache.size >= STEWARD_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(key, list);
  }
  return list;
}

/** Our position in the steward list of round `retry` (-1: not on it). */
export function stewardRank(core: GroupCore, retry: number): number {
  return stewards(core, retry).findIndex((m) => bytesEqual(m, core.identity.id));
}

/** Whether we are the epoch steward of round 0 (who proposes pending requests at once). */
export function isEpochSteward(core: GroupCore): boolean {
  return bytesEqual(stewards(core, 0)[0]!, core.identity.id);
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
