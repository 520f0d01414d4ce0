// Rejoining (docs/architecture.md, "How it heals"): a member forked beyond its retained epochs leaves its branch and asks to
// be re-added with a fresh KeyPackage, in a request signed with its roster key; the members vote its
// stale leaf out, then add it back as a joiner.
import { sha256 } from "@noble/hashes/sha2.js";
import { type KeyPackageBundle, readKeyPackage, rosterMember, sign, verify } from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { addPendingJoiner, resendWelcome } from "./admission.ts";
import { updateParticipants } from "./adopt.ts";
import { count, reject, requireGroup } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import { recordDepartures } from "./former-members.ts";
import { decodeWelcomeFrame, encodeWelcomeFrame, type RejoinRequest, rejoinBody } from "./frames.ts";
import type { GroupCore } from "./state.ts";
import { rotateSyncKey } from "./sync-key.ts";

/**
 * Leaves the current group value and becomes a joiner again (a member a reset did not include): it
 * announces `keyPackages` and is added through the normal proposal and vote path, by the group `target`
 * (ours, or a reset group of it our roster moved to): there, chats sent while we were in the group we
 * leave may still be ours to pull (chat-pull.ts).
 */
export function becomeJoiner(
  core: GroupCore,
  keyPackages: KeyPackageBundle[],
  now: number,
  target?: Uint8Array,
): void {
  // The roster we leave is remembered as out until a Welcome shows who is still in: a member that left
  // meanwhile keeps its signature key here, so its signed chats others relay to us still verify.
  const left = core.group;
  if (left !== undefined) {
    recordDepartures(core, left, new Set([toHex(core.identity.id)]), now, () => "reset");
    core.vol.rejoinedGroup = toHex(target ?? left.groupId);
  }
  core.group = undefined;
  core.sds = undefined;
  core.state.sds = undefined;
  core.keyPackages = keyPackages;
  core.state.nextKeyPackageAt = now;
  rotateSyncKey(core, undefined);
}

/**
 * Forked beyond the retained epochs: leaves the branch and asks the group to re-add us with a fresh
 * KeyPackage. Asks the group `groupId` instead of ours when a reset left us behind.
 */
export async function requestRejoin(
  core: GroupCore,
  keyPackages: KeyPackageBundle[],
  now: number,
  groupId?: Uint8Array,
): Promise<void> {
  const group = requireGroup(core);
  const kp = keyPackages.find((k) => !k.lastResort) ?? keyPackages[0]!;
  const req: RejoinRequest = {
    keyPackage: kp.publicBytes,
    groupId: groupId ?? group.groupId,
    at: BigInt(Math.floor(now)),
  };
  const signature = await sign(core.identity, "rejoin", rejoinBody(req));
  becomeJoiner(core, keyPackages, now, req.groupId);
  core.state.rejoinRequest = encodeWelcomeFrame({ rejoin: { ...req, signature } });
}

/**
 * Our rejoin request, made again with the time now once it is half a proposal expiry old: members act
 * only on a recent request, and one may wait longer than that (a member added shortly before is in its
 * cooldown, `rejoinCooldownMs`; a removal refused once is not proposed again before the expiry). The
 * KeyPackage stays. Without it a request not acted on in time left the member waiting for good.
 */
export async function refreshRejoinRequest(core: GroupCore, now: number): Promise<void> {
  const frame = core.state.rejoinRequest;
  if (frame === undefined) return;
  const r = decodeWelcomeFrame(frame).rejoin;
  if (r?.at === undefined || now - Number(r.at) < core.params.proposalExpiryMs / 2) return;
  const req: RejoinRequest = { keyPackage: r.keyPackage, groupId: r.groupId, at: BigInt(Math.floor(now)) };
  const signature = await sign(core.identity, "rejoin", rejoinBody(req));
  core.state.rejoinRequest = encodeWelcomeFrame({ rejoin: { ...req, signature } });
}

/**
 * A rejoin request: from a roster member, signed with its roster key, recent, not seen before; its stale
 * leaf goes to a removal vote. From a non-member (already removed), its KeyPackage is a joiner's.
 */
export async function onRejoinRequest(
  core: GroupCore,
  r: RejoinRequest,
  now: number,
): Promise<GroupEffect[]> {
  const s = core.state;
  const group = core.group;
  if (group === undefined) return [];
  if (!r.keyPackage || !r.groupId || r.at === undefined || !r.signature)
    return [reject(core, "MALFORMED", "rejoin")];
  // Our group, or one we were in before a reset made ours: a member left behind by two resets names the
  // group its roster moved to when it asked, which may have been reset again since.
  if (!bytesEqual(r.groupId, group.groupId) && !s.pastGroupIds.includes(toHex(r.groupId))) return [];
  const kp = await readKeyPackage(r.keyPackage).catch(() => undefined);
  if (kp === undefined) return [reject(core, "BAD_KEY_PACKAGE", "rejoin KeyPackage")];
  const id = toHex(kp.memberId);
  const leaf = rosterMember(group, kp.memberId);
  if (leaf === undefined) {
    // The same request again (it is announced until the Welcome comes) refreshes what is queued; a new
    // KeyPackage is one more request acted on, which the limit counts once the request verifies under
    // the KeyPackage's own key (its owner made it: a replayed KeyPackage cannot use up the owner's).
    const queued = s.pendingKeyPackages.get(id);
    if (queued === undefined || !bytesEqual(queued.bytes, r.keyPackage)) {
      if (rateLimited(core, id)) return [reject(core, "REJOIN_RATE_LIMITED", "rejoin request")];
      if (!(await verify(kp.signaturePublicKey, "rejoin", rejoinBody(r), r.signature)))
        return [reject(core, "INVALID_SIGNATURE", "rejoin request")];
      countActed(core, id);
    }
    addPendingJoiner(core, kp.memberId, r.keyPackage, now);
    return [];
  }
  // Re-added from this very request and still asking: its Welcome has not reached it. Acting on the
  // request would remove the new leaf (members welcomed in the same commit know no `addedAt` for it).
  if (bytesEqual(leaf.encryptionKey, kp.encryptionKey)) return resendWelcome(core, kp.memberId, now);
  // Made before the member was last added here: stale (in flight from before, or replayed). A request
  // made since is the member asking again, also in a quiet group where no epoch passes.
  const added = s.addedTime.get(id);
  if (added !== undefined && Number(r.at) <= added) {
    count(core, "STALE_REJOIN");
    return [];
  }
  const tag = toHex(sha256(r.signature));
  if (s.seenRejoins.has(tag) || s.pendingRejoins.has(id)) return [];
  // Only requests that verified were counted, so a forger cannot use up a member's requests. Beyond the
  // limits a request is refused before the signature check, once its member is known to wait.
  const limited = rateLimited(core, id) || coolingDown(core, id, added, now);
  if (limited && s.rejoinWaiting.has(id)) return [reject(core, "REJOIN_RATE_LIMITED", "rejoin request")];
  if (
    !bytesEqual(kp.signaturePublicKey, leaf.signaturePublicKey) ||
    !(await verify(leaf.signaturePublicKey, "rejoin", rejoinBody(r), r.signature))
  )
    return [reject(core, "INVALID_SIGNATURE", "rejoin request")];
  if (Math.abs(now - Number(r.at)) > core.params.proposalExpiryMs)
    return [reject(core, "STALE_REJOIN", "rejoin request")];
  if (limited) {
    // Its leaf is stale by its own word: SDS stops waiting for its acknowledgements meanwhile.
    s.rejoinWaiting.add(id);
    updateParticipants(core);
    return [reject(core, "REJOIN_RATE_LIMITED", "rejoin request")];
  }
  s.seenRejoins.add(tag);
  if (s.seenRejoins.size > core.params.seenRejoinsKept)
    s.seenRejoins.delete(s.seenRejoins.values().next().value!);
  countActed(core, id);
  noteRejoinTime(core, id, now);
  s.pendingRejoins.set(id, { seenAt: now, epoch: group.epoch });
  s.rejoinWaiting.delete(id);
  updateParticipants(core);
  return [];
}

/**
 * Whether `rejoinRequestsPerEpoch` requests of member `id` (hex) were acted on in our current epoch.
 * Each one costs the group a voted epoch (the removal of the stale leaf) or a KeyPackage to propose:
 * without a limit one member could keep the group voting on its own removal and re-add.
 */
function rateLimited(core: GroupCore, id: string): boolean {
  const acted = core.state.rejoinsActed.get(id);
  return acted !== undefined && sameState(core, acted) && acted.count >= core.params.rejoinRequestsPerEpoch;
}

/** Whether a count was made in our current group and epoch (a reset group starts its epochs again). */
function sameState(core: GroupCore, at: { groupId?: string; epoch: bigint }): boolean {
  const g = requireGroup(core);
  return at.epoch === g.epoch && at.groupId === toHex(g.groupId);
}

/** Counts a request of member `id` (hex) acted on in our current epoch; drops the counts of earlier ones. */
function countActed(core: GroupCore, id: string): void {
  const g = requireGroup(core);
  const acted = core.state.rejoinsActed;
  for (const [k, v] of acted) if (!sameState(core, v)) acted.delete(k);
  acted.set(id, { groupId: toHex(g.groupId), epoch: g.epoch, count: (acted.get(id)?.count ?? 0) + 1 });
}

/** Times of member `id`'s (hex) rejoins acted on within `rejoinBackoffWindowMs` before `now`. */
function recentRejoins(core: GroupCore, id: string, now: number): number[] {
  const window = core.params.rejoinBackoffWindowMs;
  return (core.state.rejoinTimes.get(id) ?? []).filter((t) => now - t < window);
}

/**
 * Whether member `id` (hex) is within its cooldown: `rejoinCooldownMs` after its last add (or, when we
 * did not see that add, after its last rejoin we acted on), doubled for each of its rejoins we acted on
 * within `rejoinBackoffWindowMs`. Each rejoin makes new epochs and a new add, so only a bound over time
 * stops one member from cycling its removal and re-add: with the doubling, k cycles take about
 * 2^k cooldowns instead of k.
 */
function coolingDown(core: GroupCore, id: string, added: number | undefined, now: number): boolean {
  const recent = recentRejoins(core, id, now);
  const since = added ?? recent.at(-1);
  if (since === undefined) return false;
  const wait = core.params.rejoinCooldownMs * 2 ** Math.min(recent.length, core.params.rejoinBackoffMax);
  return now - since < wait;
}

/** Notes a rejoin of member `id` (hex) acted on at `now`; members with none in the window are forgotten. */
function noteRejoinTime(core: GroupCore, id: string, now: number): void {
  const times = core.state.rejoinTimes;
  const recent = [...recentRejoins(core, id, now), now].slice(-(core.params.rejoinBackoffMax + 1));
  times.delete(id); // least recent first
  times.set(id, recent);
  for (const [k, v] of times) if (now - v.at(-1)! >= core.params.rejoinBackoffWindowMs) times.delete(k);
  while (times.size > core.params.seenRejoinsKept) times.delete(times.keys().next().value!);
}
