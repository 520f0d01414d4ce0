// The sync key (docs/sync.md): the key every sync-channel message of a group is sealed under. Derived
// from MLS at an anchor epoch (creation, a removal) or chained from the old group's key by a reset.
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { exportSecret, type MlsGroup } from "../mls/index.ts";
import { utf8 } from "../util/bytes.ts";

/** Sync keys kept after a rotation (DESIGN section 3: the grace window, counted in rotations). */
export const PREVIOUS_SYNC_KEYS = 3;

/** The sync key of a state: an MLS exporter value, so only members at that epoch can derive it. */
export function deriveSyncKey(group: MlsGroup, conversation: string): Promise<Uint8Array> {
  return exportSecret(group, "demls/sync-key", utf8(conversation), 32);
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
