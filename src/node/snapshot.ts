// A member's snapshot: what `Member` saves after an input and reads back on restart. One v8-serialised
// record (identity, MLS group, KeyPackages, the cores' states and bookkeeping), plus the newest commits
// and the changed KeyPackage sets in their own tables.
import { deserialize as v8deserialize, serialize as v8serialize } from "node:v8";
import { encodeKeyPackageSet } from "../group/frames.ts";
import { toWire } from "../group/keypackage-store.ts";
import type { GroupMember } from "../group/member.ts";
import type { SavedGroupMemory } from "../group/persist.ts";
import { type Identity, type MlsGroup, serializeGroup, serializeKeyPackage } from "../mls/index.ts";
import type { SavedRoute } from "../net/routes.ts";
import type { MemberStore } from "../store/sqlite.ts";
import type { SyncCore } from "../sync/core.ts";
import type { SyncEffect } from "../sync/effects.ts";
import type { SavedSyncMemory } from "../sync/state.ts";
import { toHex } from "../util/bytes.ts";
import { DemlsError } from "../util/errors.ts";

/** The saved record of one member. */
export interface Snapshot {
  version: 1;
  identity: Identity;
  group: Uint8Array | undefined;
  keyPackages: Uint8Array[];
  core: GroupMember["state"];
  sync: SyncCore["state"];
  resetKeyPackages: Uint8Array[] | undefined;
  /** The cores' bookkeeping beside their state (absent in snapshots of earlier versions). */
  groupMemory?: SavedGroupMemory;
  syncMemory?: SavedSyncMemory;
  /** When the member last ticked (it never ticks twice at one instant). */
  lastTickAt?: number;
  /** The nodes other members are reached at (absent in snapshots of earlier versions). */
  routes?: SavedRoute[];
}

/** What saving remembers between saves, so that only what changed is encoded or written again. */
export interface SaveCache {
  /** Version of every KeyPackage set in the store file. */
  readonly savedSets: Map<string, bigint>;
  /** The group's bytes, for the (immutable) group value they encode. */
  lastGroup: { group: MlsGroup; bytes: Uint8Array } | undefined;
}

export function newSaveCache(): SaveCache {
  return { savedSets: new Map(), lastGroup: undefined };
}

/**
 * Reads the snapshot in `store`.
 * @throws {DemlsError} `NO_STATE` (an empty store), `CORRUPT_STATE` (unreadable), `WRONG_MEMBER` (the
 * store is another member's).
 */
export function readSnapshot(store: MemberStore, name: string): Snapshot {
  const bytes = store.load();
  if (bytes === undefined) throw new DemlsError("NO_STATE", `no saved state for ${name}`);
  let snap: Snapshot;
  try {
    snap = v8deserialize(bytes) as Snapshot;
    if (snap?.version !== 1 || !(snap.identity?.id instanceof Uint8Array)) throw new Error("not a snapshot");
  } catch (e) {
    throw new DemlsError("CORRUPT_STATE", `the saved state cannot be read: ${(e as Error).message}`);
  }
  const owner = new TextDecoder().decode(snap.identity.id);
  if (owner !== name)
    throw new DemlsError("WRONG_MEMBER", `the saved state belongs to member '${owner}', not '${name}'`);
  return snap;
}

/** Saves the whole state of `group` and `sync` (and, `withCommits`, the newest commits) in one write. */
export function saveSnapshot(
  store: MemberStore,
  cache: SaveCache,
  group: GroupMember,
  sync: SyncCore,
  lastTickAt: number,
  routes: SavedRoute[],
  withCommits: boolean,
): void {
  const reset = sync.state.reset;
  const joined = sync.state.joinedRound;
  const snap: Snapshot = {
    version: 1,
    identity: group.identity,
    group: encodeGroup(cache, group.group),
    keyPackages: group.keyPackages.map(serializeKeyPackage),
    core: { ...group.state, keyPackageSets: new Map() },
    sync: {
      ...sync.state,
      reset: reset ? { ...reset, myKeyPackages: [] } : undefined,
      // Its KeyPackages are the reset round's when it is that round, or kept in the later round's.
      joinedRound: joined ? { ...joined, myKeyPackages: [] } : undefined,
    },
    resetKeyPackages: reset?.myKeyPackages.map(serializeKeyPackage),
    groupMemory: group.saveMemory(),
    syncMemory: sync.saveMemory(),
    lastTickAt,
    routes,
  };
  const gid = group.group ? toHex(group.group.groupId) : "";
  const commits = withCommits
    ? group.state.commitLog.slice(-4).map((c) => ({ groupId: gid, epoch: c.epoch, commit: c.commit }))
    : [];
  // Only the KeyPackage sets that changed since the last save.
  const sets = group.state.keyPackageSets;
  const changed = [...sets].filter(([id, set]) => cache.savedSets.get(id) !== set.version);
  const removed = [...cache.savedSets.keys()].filter((id) => !sets.has(id));
  store.save(
    v8serialize(snap),
    commits,
    changed.map(([memberId, set]) => ({
      memberId,
      set: encodeKeyPackageSet(toWire(set)),
      version: set.version,
    })),
    removed,
  );
  for (const [id, set] of changed) cache.savedSets.set(id, set.version);
  for (const id of removed) cache.savedSets.delete(id);
}

/** The group's bytes, encoded again only when the (immutable) state changed since the last save. */
function encodeGroup(cache: SaveCache, group: MlsGroup | undefined): Uint8Array | undefined {
  if (group === undefined) return undefined;
  if (cache.lastGroup?.group !== group) cache.lastGroup = { group, bytes: serializeGroup(group) };
  return cache.lastGroup.bytes;
}

/** Effects that need no save before them: nobody outside sees them (counters, early-gossip hints). */
const SILENT_EFFECTS = new Set<SyncEffect["type"]>(["rejected", "stateHint"]);

/** How long an input with no effect may stay unsaved (a crash in between loses only such inputs). */
export const SAVE_LAG_MS = 1_000;

/**
 * Whether the state must be saved before `effects` go out. Saving the whole state (MLS tree, SDS
 * buffers) for every input costs much CPU in large groups; an input whose effects nobody outside sees
 * can wait for the next save, up to `SAVE_LAG_MS` after the first unsaved one (`unsavedSince`). A new
 * sync key (`keyChanged`) cannot: the member acts on it at once, and a restart without it could no
 * longer read the sync channel.
 */
export function saveDue(
  effects: readonly SyncEffect[],
  keyChanged: boolean,
  now: number,
  unsavedSince: number | undefined,
): boolean {
  return (
    effects.some((e) => !SILENT_EFFECTS.has(e.type)) ||
    keyChanged ||
    now >= (unsavedSince ?? now) + SAVE_LAG_MS
  );
}
