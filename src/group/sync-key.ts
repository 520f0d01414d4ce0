// The sync key (docs/sync.md): the key every sync-channel message of a group is sealed under. Derived
// from MLS at an anchor epoch (creation, a removal) or chained from the old group's key by a reset.
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { exporterValue, exportSecret, type MlsGroup } from "../mls/index.ts";
import { bytesEqual, toHex, utf8 } from "../util/bytes.ts";
import { count, requireGroup } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import type { GroupPayload } from "./frames.ts";
import { sendPayload } from "./outbound.ts";
import type { GroupCore, GroupCoreState } from "./state.ts";
import { installList, listFrame, listFromFrame, listInForce } from "./steward-schedule.ts";

/** Sync keys kept after a rotation (docs/sync.md: the grace window, counted in rotations). */
export const PREVIOUS_SYNC_KEYS = 3;

/** The exporter label of the sync key (docs/spec/recovery.md, section 3). */
const SYNC_KEY_LABEL = "demls/sync-key";

/** The sync key of a state: an MLS exporter value, so only members at that epoch can derive it. */
export function deriveSyncKey(group: MlsGroup, conversation: string): Promise<Uint8Array> {
  return exportSecret(group, SYNC_KEY_LABEL, utf8(conversation), 32);
}

/** The sync key of the epoch whose exporter secret is `exporterSecret` (what {@link deriveSyncKey} computes). */
export function syncKeyFrom(exporterSecret: Uint8Array, conversation: string): Promise<Uint8Array> {
  return exporterValue(exporterSecret, SYNC_KEY_LABEL, utf8(conversation), 32);
}

/**
 * The sync key of a group a hard reset made, chained from the old group's key: every group a reset of
 * that group can make (competing operators build groups of one id) gets one key, so their members can
 * read each other and members left in the old group can read them (docs/decisions.md, "Reset lineage").
 * Only holders of the old key can derive it; a removal still re-anchors the key in MLS.
 */
export function chainSyncKey(parentKey: Uint8Array, groupId: Uint8Array): Uint8Array {
  return hkdf(sha256, parentKey, groupId, utf8("demls/reset-sync-key"), 32);
}

/**
 * A new sync key (or none); the current one joins the previous keys, which peers behind us still use.
 * The new key's anchor is recorded for the group we are in (see {@link syncKeyAfterRewind}).
 */
export function rotateSyncKey(core: GroupCore, next: GroupCoreState["syncKey"]): void {
  const s = core.state;
  const cur = s.syncKey;
  if (next && core.group) {
    const groupId = toHex(core.group.groupId);
    const anchors = s.syncKeyAnchors.filter((a) => a.groupId !== groupId || a.anchorEpoch < next.anchorEpoch);
    anchors.push({ groupId, anchorEpoch: next.anchorEpoch, key: next.key });
    s.syncKeyAnchors = anchors.slice(-(PREVIOUS_SYNC_KEYS + 1));
  }
  // The same key again (a competing reset group of the same lineage): the older keys stay.
  if (cur && next && bytesEqual(cur.key, next.key)) return;
  if (cur)
    // The new key is no previous one (a rewind takes back a key we held before).
    s.previousSyncKeys = [cur.key, ...s.previousSyncKeys.filter((k) => !bytesEqual(k, cur.key))]
      .filter((k) => next === undefined || !bytesEqual(k, next.key))
      .slice(0, PREVIOUS_SYNC_KEYS);
  s.syncKey = next;
}

/**
 * After a rewind within our group (a re-alignment, a step back) to `group`: a key anchored after its
 * epoch (a removal on the branch we left) is no key of the state we are in. The members of the branch we
 * take never derived it: they seal under the key of the anchor in force at this state, and so must we, and
 * so must the joiners we add, who get our key in the share (docs/sync.md, "The key of a rewound state").
 * The key we leave stays among the previous keys: members still on that branch use it.
 */
export function syncKeyAfterRewind(core: GroupCore, group: MlsGroup): void {
  const cur = core.state.syncKey;
  if (cur === undefined || cur.anchorEpoch <= group.epoch) return;
  const groupId = toHex(group.groupId);
  const anchor = core.state.syncKeyAnchors.findLast(
    (a) => a.groupId === groupId && a.anchorEpoch <= group.epoch,
  );
  // Not recorded (older than the anchors kept): the current key stays, as before anchors were recorded.
  if (anchor === undefined) {
    count(core, "SYNC_KEY_ANCHOR_UNKNOWN");
    return;
  }
  rotateSyncKey(core, { anchorEpoch: anchor.anchorEpoch, key: anchor.key });
}

/**
 * Sends our sync key to the group (with a Welcome: the joiners need it to read the sync channel), and
 * the steward list in force: the Welcome's copy travels unauthenticated, this one in MLS.
 */
export function shareSyncKey(core: GroupCore, now: number): Promise<GroupEffect[]> {
  const key = core.state.syncKey!;
  const stewards = listFrame(listInForce(core));
  return sendPayload(core, { syncKey: { anchorEpoch: key.anchorEpoch, key: key.key, stewards } }, now);
}

/** Asks the group for the sync key (a member that joined without it: the share can outrun the Welcome). */
export function askSyncKey(core: GroupCore, anchorEpoch: bigint, now: number): Promise<GroupEffect[]> {
  return sendPayload(core, { syncKey: { anchorEpoch } }, now);
}

/**
 * A sync-key payload: a request (no key), which members that hold the key answer (the epoch steward may
 * be one that lacks it), or a share, which becomes our key.
 */
export async function onSyncKeyPayload(
  core: GroupCore,
  share: NonNullable<GroupPayload["syncKey"]>,
  now: number,
): Promise<GroupEffect[] | undefined> {
  if (share.key === undefined) return core.state.syncKey === undefined ? [] : shareSyncKey(core, now);
  if (share.anchorEpoch === undefined) return undefined;
  const cur = core.state.syncKey;
  // Only a member without a key takes one from a share (a joiner, a member back from a rejoin). A member
  // with a key derives every later one itself (a removal re-anchors it in MLS, a reset chains it): a share
  // of another key is some member's word, and taking it would let one member move everyone's key.
  if (cur === undefined) {
    rotateSyncKey(core, { anchorEpoch: share.anchorEpoch, key: share.key });
    // The steward list of the member that shared it, if it can be ours: it came in MLS, from a member,
    // where the Welcome's came in a frame anyone on the welcome topic can forge around a copied Welcome.
    const list = listFromFrame(share.stewards, requireGroup(core), core.params);
    if (list !== undefined) installList(core, list);
  } else if (!bytesEqual(cur.key, share.key)) count(core, "SYNC_KEY_REFUSED");
  return [];
}
