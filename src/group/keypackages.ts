// The member's side of the KeyPackage store (docs/architecture.md, "KeyPackage store"): it publishes a fresh set in every group
// it enters and imports the sets roster members publish (checked by `keypackage-store.ts`).
import { generateKeyPackages, rosterMember } from "../mls/index.ts";
import { toHex } from "../util/bytes.ts";
import { reject, requireGroup } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import type { KeyPackageSet } from "./frames.ts";
import { checkKeyPackageSet, ownSet, toWire } from "./keypackage-store.ts";
import { sendPayload } from "./outbound.ts";
import type { GroupCore } from "./state.ts";

/**
 * Adds checked KeyPackage sets (from a member, or fetched from a storage service) to the store. A set
 * we already hold in that version or newer is skipped quietly; a bad one is rejected and counted.
 */
export async function importKeyPackageSets(
  core: GroupCore,
  sets: readonly KeyPackageSet[],
): Promise<GroupEffect[]> {
  const group = core.group;
  if (group === undefined) return [];
  const out: GroupEffect[] = [];
  const store = core.state.keyPackageSets;
  for (const set of sets) {
    const r = await checkKeyPackageSet(set, (id) => rosterMember(group, id), store);
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
  const version = BigInt(Math.max(Math.floor(now), Number(mine?.version ?? -1n) + 1));
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
