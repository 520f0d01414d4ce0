// The member's side of the KeyPackage store (docs/architecture.md, "KeyPackage store"): it publishes a fresh set in every group
// it enters and imports the sets roster members publish (checked by `keypackage-store.ts`).
import { generateKeyPackages, roster, rosterMember } from "../mls/index.ts";
import { toHex } from "../util/bytes.ts";
import { reject, requireGroup } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import type { KeyPackageSet } from "./frames.ts";
import { checkKeyPackageSet, ownSet, toWire } from "./keypackage-store.ts";
import { sendPayload } from "./outbound.ts";
import type { GroupCore } from "./state.ts";

/**
 * KeyPackage sets a member sent: at most one per roster member (a committer hands over its whole
 * store), more are refused whole before any is checked; then imported.
 */
export async function onKeyPackageSets(
  core: GroupCore,
  sets: readonly KeyPackageSet[],
  now: number,
): Promise<GroupEffect[]> {
  if (sets.length > roster(requireGroup(core)).length)
    return [reject(core, "OVERSIZED_BATCH", "more KeyPackage sets than members")];
  return importKeyPackageSets(core, sets, now);
}

/**
 * Adds checked KeyPackage sets (from a member, or fetched from a storage service) to the store. A set
 * we already hold in that version or newer is skipped quietly; a bad one is rejected and counted.
 */
export async function importKeyPackageSets(
  core: GroupCore,
  sets: readonly KeyPackageSet[],
  now: number,
): Promise<GroupEffect[]> {
  const group = core.group;
  if (group === undefined) return [];
  const out: GroupEffect[] = [];
  const store = core.state.keyPackageSets;
  for (const set of sets) {
    const r = await checkKeyPackageSet(set, (id) => rosterMember(group, id), store, now);
    if (r === "STALE_KEY_PACKAGES") continue;
    if (typeof r === "string") out.push(reject(core, r, "KeyPackage set refused"));
    else store.set(toHex(r.member), r);
  }
  return out;
}

/**
 * Publishes a fresh KeyPackage set in the current group. Older private parts stay (bounded), so a Welcome
 * built from a set another member still holds can be joined.
 */
export async function publishKeyPackageSet(core: GroupCore, now: number): Promise<GroupEffect[]> {
  const group = requireGroup(core);
  const s = core.state;
  s.keyPackageSetGroup = toHex(group.groupId);
  const fresh = await generateKeyPackages(core.identity, core.params.keyPackageSetSize, { lastResort: true });
  core.keyPackages = [...fresh, ...core.keyPackages].slice(0, core.params.keyPackagesKept);
  const me = toHex(core.identity.id);
  const mine = s.keyPackageSets.get(me);
  // A clock reading, and newer than the set we published last (any version we hold passed the clock
  // bound, so this stays in range).
  const clock = BigInt(Math.floor(now));
  const next = (mine?.version ?? -1n) + 1n;
  const version = next > clock ? next : clock;
  const set = ownSet(core.identity.id, version, fresh);
  s.keyPackageSets.set(me, set);
  return [
    { type: "keyPackageSet", set },
    ...(await sendPayload(core, { keyPackageSets: [toWire(set)] }, now)),
  ];
}

/** Sends the whole store to the group (the members a commit just added need it). */
export function sendKeyPackageStore(core: GroupCore, now: number): Promise<GroupEffect[]> {
  return sendPayload(core, { keyPackageSets: [...core.state.keyPackageSets.values()].map(toWire) }, now);
}
