// The KeyPackage store (docs/architecture.md, "KeyPackage store"): the newest published KeyPackage set of every roster member, kept
// by every member and synced among them over SDS, so a hard reset can re-add members who could not send a
// fresh KeyPackage. Pure functions over plain data; the group core owns the map.
import { type KeyPackageBundle, type RosterMember, readKeyPackage } from "../mls/index.ts";
import { aheadOfClock } from "../util/bounds.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import type { KeyPackageSet } from "./frames.ts";

/** A checked set, as the store holds it. */
export interface StoredKeyPackageSet {
  readonly member: Uint8Array;
  /** The publisher's counter: a newer version replaces an older one, an older one is a replay. */
  readonly version: bigint;
  readonly keyPackages: readonly Uint8Array[];
  readonly lastResort: Uint8Array;
}

/** Member id (hex) → its newest set. */
export type KeyPackageSets = Map<string, StoredKeyPackageSet>;

/** Why a set was refused; the store is unchanged. */
export type KeyPackageSetError =
  | "MALFORMED"
  | "NOT_A_MEMBER"
  | "STALE_KEY_PACKAGES"
  | "BAD_KEY_PACKAGE"
  | "OUT_OF_RANGE";

/** The most one-use KeyPackages a set may carry (the upper bound of `keyPackageSetSize`). */
export const MAX_SET_KEY_PACKAGES = 64;

/**
 * Checks a received set: its member is on the roster, it is newer than the stored one, and every
 * KeyPackage verifies, names that member and carries the member's roster signature key (so one member
 * cannot plant KeyPackages, and with them group membership, in another's name). The version is not
 * signed and anyone may forward a set: a version is a clock reading of its publisher, so one more than
 * `MAX_AHEAD_MS` ahead of our clock `now` is refused (it would make the member's real sets stale).
 */
export async function checkKeyPackageSet(
  set: KeyPackageSet,
  memberOf: (memberId: Uint8Array) => RosterMember | undefined,
  store: KeyPackageSets,
  now: number,
): Promise<StoredKeyPackageSet | KeyPackageSetError> {
  const { member, version, lastResort } = set;
  if (member === undefined || version === undefined || lastResort === undefined) return "MALFORMED";
  if ((set.keyPackages?.length ?? 0) > MAX_SET_KEY_PACKAGES) return "MALFORMED";
  if (aheadOfClock(version, now)) return "OUT_OF_RANGE";
  const leaf = memberOf(member);
  if (leaf === undefined) return "NOT_A_MEMBER";
  const stored = store.get(toHex(member));
  if (stored !== undefined && stored.version >= version) return "STALE_KEY_PACKAGES";
  const keyPackages = set.keyPackages ?? [];
  for (const bytes of [...keyPackages, lastResort]) {
    const kp = await readKeyPackage(bytes).catch(() => undefined);
    if (
      kp === undefined ||
      !bytesEqual(kp.memberId, member) ||
      !bytesEqual(kp.signaturePublicKey, leaf.signaturePublicKey)
    )
      return "BAD_KEY_PACKAGE";
  }
  return { member, version, keyPackages, lastResort };
}

/** The wire form of a stored set. */
export function toWire(s: StoredKeyPackageSet): KeyPackageSet {
  return { member: s.member, version: s.version, keyPackages: [...s.keyPackages], lastResort: s.lastResort };
}

/** A set from our own private bundles (the last one is the last-resort KeyPackage). */
export function ownSet(
  member: Uint8Array,
  version: bigint,
  bundles: readonly KeyPackageBundle[],
): StoredKeyPackageSet {
  const lastResort = bundles.find((b) => b.lastResort);
  if (lastResort === undefined) throw new Error("a KeyPackage set needs a last-resort KeyPackage");
  return {
    member,
    version,
    keyPackages: bundles.filter((b) => !b.lastResort).map((b) => b.publicBytes),
    lastResort: lastResort.publicBytes,
  };
}

/** Drops the sets of members who left the roster. */
export function pruneKeyPackageSets(store: KeyPackageSets, roster: readonly RosterMember[]): void {
  const keep = new Set(roster.map((m) => toHex(m.memberId)));
  for (const id of store.keys()) if (!keep.has(id)) store.delete(id);
}
