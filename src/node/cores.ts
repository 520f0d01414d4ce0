// The two protocol cores of a member, composed: a fresh group core and sync core, or both restored from a
// snapshot. The sync core sees the group core through its port (the one place they meet).

import { decodeKeyPackageSet } from "../group/frames.ts";
import { GroupMember } from "../group/member.ts";
import { FAST_GROUP_PARAMS, validateGroupParams } from "../group/params.ts";
import { votePolicyOf } from "../group/vote-policy.ts";
import { type Identity, type KeyPackageBundle, restoreGroup, restoreKeyPackage } from "../mls/index.ts";
import type { SavedRoute } from "../net/routes.ts";
import type { MemberStore } from "../store/sqlite.ts";
import { SyncCore } from "../sync/core.ts";
import type { SyncEffect } from "../sync/effects.ts";
import { FAST_SYNC_PARAMS, validateSyncParams } from "../sync/params.ts";
import { newSyncState } from "../sync/state.ts";
import { bytesEqual } from "../util/bytes.ts";
import { DemlsError } from "../util/errors.ts";
import { groupPortOf } from "./group-port.ts";
import type { MemberOptionsFor } from "./options.ts";
import { readSnapshot } from "./snapshot.ts";

// The member type does not matter here: `never` accepts the options of any member class.
type Options = MemberOptionsFor<never>;

/** New cores for a member with no group yet. */
export function freshCores(
  opts: Options,
  identity: Identity,
  keyPackages: KeyPackageBundle[],
): { core: GroupMember; sync: SyncCore } {
  const core = new GroupMember(
    identity,
    GroupMember.newState(opts.conversation),
    undefined,
    keyPackages,
    opts.rng,
    opts.groupParams ?? FAST_GROUP_PARAMS,
    undefined,
    votePolicyOf(opts.votePolicy),
  );
  const sync = new SyncCore(groupPortOf(core), newSyncState(), opts.rng, opts.syncParams ?? FAST_SYNC_PARAMS);
  return { core, sync };
}

/**
 * The cores as `opts.store` saved them, and the member's last tick.
 * @throws {DemlsError} `NO_STORE`, `NO_STATE`, `CORRUPT_STATE`, `WRONG_MEMBER` (see `Member.restore`).
 * @throws {GroupError} / {SyncError} `BAD_PARAMS` for parameters out of range.
 */
export async function restoredCores(
  opts: Options & { store?: MemberStore },
): Promise<{ core: GroupMember; sync: SyncCore; lastTickAt: number; routes: readonly SavedRoute[] }> {
  // Checked before the snapshot is read: a parameter out of range is not a damaged state.
  const params = validateGroupParams(opts.groupParams ?? FAST_GROUP_PARAMS);
  const policy = votePolicyOf(opts.votePolicy);
  const syncParams = validateSyncParams(opts.syncParams ?? FAST_SYNC_PARAMS);
  if (opts.store === undefined)
    throw new DemlsError(
      "NO_STORE",
      "Member.restore needs the store the member was saved in (options.store)",
    );
  const snap = readSnapshot(opts.store, opts.name);
  const identity = snap.identity;
  try {
    const kps = await Promise.all(snap.keyPackages.map((k) => restoreKeyPackage(k, identity)));
    const group = snap.group ? restoreGroup(snap.group) : undefined;
    const core = new GroupMember(identity, snap.core, group, kps, opts.rng, params, snap.groupMemory, policy);
    // The KeyPackage store lives in its own table, not in the snapshot.
    const sets = opts.store.keyPackageSets();
    await core.importKeyPackageSets(
      sets.map((r) => decodeKeyPackageSet(r.set)),
      opts.clock.now(),
    );
    const syncState = snap.sync;
    if (syncState.reset) {
      syncState.reset.myKeyPackages = await Promise.all(
        (snap.resetKeyPackages ?? []).map((k) => restoreKeyPackage(k, identity)),
      );
      // Saved by a version that did not note the keys votes arrived under.
      (syncState.reset as { voteKeys?: Map<string, string[]> }).voteKeys ??= new Map();
    }
    // The round we joined by is, until a later round starts, the reset round itself: one object again.
    const joined = syncState.joinedRound;
    if (joined && syncState.reset && bytesEqual(joined.id, syncState.reset.id))
      syncState.joinedRound = syncState.reset;
    const sync = new SyncCore(groupPortOf(core), syncState, opts.rng, syncParams, snap.syncMemory);
    return { core, sync, lastTickAt: snap.lastTickAt ?? Number.NEGATIVE_INFINITY, routes: snap.routes ?? [] };
  } catch (e) {
    // A snapshot that deserialises but whose MLS state or KeyPackages do not: damaged, not a bug here.
    throw new DemlsError("CORRUPT_STATE", `the saved state cannot be read: ${(e as Error).message}`);
  }
}

/**
 * One message on `topic` through both cores: the sync channel's goes to the sync core; group traffic to
 * the group core, whose effects the sync core sees too.
 */
export async function messageStep(
  group: GroupMember,
  sync: SyncCore,
  topic: string,
  data: Uint8Array,
  now: number,
): Promise<SyncEffect[]> {
  if (topic === group.topics.sync) return sync.receive(data, now);
  const g = await group.receive(topic, data, now);
  return [...g, ...(await sync.onGroupEffects(g, now))];
}

/** One timer tick through both cores: the group core's, what the sync core makes of it, then its own. */
export async function tickStep(group: GroupMember, sync: SyncCore, now: number): Promise<SyncEffect[]> {
  const g = await group.tick(now);
  const out: SyncEffect[] = [...g, ...(await sync.onGroupEffects(g, now))];
  out.push(...(await sync.tick(now)));
  return out;
}
