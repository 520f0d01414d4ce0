// Admission of joiners (de-MLS; docs/architecture.md, "The group layer"): a joiner announces a KeyPackage on the welcome topic until a
// Welcome lets it in; members queue the KeyPackage for an add proposal, and the member whose commit
// added a joiner sends the Welcome again while the joiner still announces itself.

import { joinFromWelcome, MlsProtocolError, readKeyPackage, rosterMember } from "../mls/index.ts";
import { decodeSdsMessage } from "../sds/index.ts";
import { aheadOfClock } from "../util/bounds.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { DemlsError } from "../util/errors.ts";
import { adopt } from "./adopt.ts";
import { resendAbandoned } from "./chats.ts";
import { reject } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import { encodeWelcomeFrame, type WelcomeFrame } from "./frames.ts";
import { onSds } from "./inbound.ts";
import type { GroupCore } from "./state.ts";
import { listFrame, listFromFrame } from "./steward-schedule.ts";

/** Without a group: our KeyPackage (or our rejoin request) goes out every `keyPackageResendMs`. */
export function announceKeyPackage(core: GroupCore, now: number): GroupEffect[] {
  const s = core.state;
  if (now < s.nextKeyPackageAt) return [];
  s.nextKeyPackageAt = now + core.params.keyPackageResendMs;
  const kp = core.keyPackages.find((k) => !k.lastResort) ?? core.keyPackages[0];
  const bytes = s.rejoinRequest ?? (kp && encodeWelcomeFrame({ keyPackage: kp.publicBytes }));
  return bytes === undefined ? [] : [{ type: "publish", topic: core.topics.welcome, bytes }];
}

/** Queues a joiner's KeyPackage for an add proposal (first seen time kept across repeats). */
export function addPendingJoiner(
  core: GroupCore,
  memberId: Uint8Array,
  keyPackage: Uint8Array,
  now: number,
): void {
  const pending = core.state.pendingKeyPackages;
  const key = toHex(memberId);
  const seenAt = pending.get(key)?.seenAt ?? now;
  pending.set(key, { bytes: keyPackage, epoch: core.group!.epoch, seenAt });
}

/** A KeyPackage a joiner announced. */
export async function onKeyPackage(core: GroupCore, bytes: Uint8Array, now: number): Promise<GroupEffect[]> {
  const group = core.group;
  if (group === undefined) return [];
  const kp = await readKeyPackage(bytes);
  const member = rosterMember(group, kp.memberId);
  // Another identity under a member's name (a second node started with a name in use): it can never be
  // added; say so instead of sending the member's Welcome to it again and again.
  if (member !== undefined && !bytesEqual(member.signaturePublicKey, kp.signaturePublicKey))
    return nameTaken(core, kp.memberId, now);
  if (member !== undefined) {
    if (bytesEqual(member.encryptionKey, kp.encryptionKey)) notWelcomed(core, kp.memberId, now);
    return resendWelcome(core, kp.memberId, now);
  }
  addPendingJoiner(core, kp.memberId, bytes, now);
  return [];
}

/**
 * A roster member announces the very KeyPackage its leaf was made from: it has no group yet. Added
 * `welcomeWaitMs` ago or more and never heard in the group since, its Welcome was withheld or lost for
 * good (only the committer could send it): its leaf goes to a removal vote, as at a rejoin request, and
 * its next announcement makes it a joiner again, added by whichever steward commits then. Every member
 * decides this from what it saw itself (the joiner's signed KeyPackage, its own clock, its own silence
 * record), and the removal still needs the group's vote (docs/threats.md, "A withheld Welcome").
 */
function notWelcomed(core: GroupCore, memberId: Uint8Array, now: number): void {
  const s = core.state;
  const id = toHex(memberId);
  const added = s.addedTime.get(id);
  if (added === undefined || now < added + core.params.welcomeWaitMs) return;
  if ((s.lastHeard.get(id) ?? Number.NEGATIVE_INFINITY) >= added || s.pendingRejoins.has(id)) return;
  s.pendingRejoins.set(id, { seenAt: now, epoch: core.group!.epoch });
}

/** A Welcome: ours to take when we have no group and one of our KeyPackages opens it. */
export async function onWelcome(core: GroupCore, f: WelcomeFrame, now: number): Promise<GroupEffect[]> {
  if (f.welcome === undefined || core.group !== undefined) return [];
  // The SDS Lamport time is not covered by the Welcome's signature: one far ahead would make us ignore
  // the channel's history (and ask for no repair) up to it. Bounded as SDS bounds a Lamport time.
  if (f.sdsLamport !== undefined && aheadOfClock(f.sdsLamport, now, core.params.sds.maxLamportAheadMs))
    return [reject(core, "OUT_OF_RANGE", "Welcome with an SDS Lamport time ahead of our clock")];
  let joined: Awaited<ReturnType<typeof joinFromWelcome>>;
  try {
    joined = await joinFromWelcome(core.identity, f.welcome, core.keyPackages);
  } catch (e) {
    if (e instanceof MlsProtocolError && e.code === "NO_MATCHING_KEY_PACKAGE") return [];
    throw e;
  }
  core.keyPackages = core.keyPackages.filter(
    (k) => k.lastResort || !bytesEqual(k.ref, joined.usedKeyPackage),
  );
  const horizon = f.sdsLamport ?? 0n;
  const group = joined.group;
  // The steward list in force comes with the Welcome: it was elected epochs ago, among members we
  // cannot tell from the roster.
  adopt(core, group, now, horizon, listFromFrame(f.stewards, group, core.params));
  const out: GroupEffect[] = [{ type: "joined", epoch: joined.group.epoch }];
  // What the group sent with the Welcome (the sync key share) can arrive before it: read it now.
  const early = core.vol.early;
  core.vol.early = [];
  for (const bytes of early)
    try {
      // Only what was sent after the Welcome was built; older traffic was never meant for us.
      if ((decodeSdsMessage(bytes).lamportTimestamp ?? -1n) < horizon) continue;
      out.push(...(await onSds(core, core.sds!.receive(bytes, now), now)));
    } catch (e) {
      if (!(e instanceof DemlsError)) throw e; // another group's traffic, or garbage: never ours to read
    }
  // Their causal history is the group's life before we joined, which we neither need nor can read.
  if (early.length > 0) out.push(...(await onSds(core, core.sds!.skipMissedHistory(), now)));
  // Chats sent before (in a group we left or lost) go out again; receivers dedupe by id.
  out.push(...(await resendAbandoned(core, now, true)));
  return out;
}

/** Group traffic while we have no group: kept (bounded, newest kept) to read once the Welcome is in. */
export function keepEarly(core: GroupCore, bytes: Uint8Array): void {
  const p = core.params;
  if (core.group !== undefined || bytes.length > p.earlyBytesLimit / p.earlyLimit) return;
  const early = core.vol.early;
  early.push(bytes);
  if (early.length > p.earlyLimit) early.shift();
}

/** A KeyPackage under a member's name, from another identity: rejected, at most once per resend period. */
function nameTaken(core: GroupCore, memberId: Uint8Array, now: number): GroupEffect[] {
  const key = `taken/${toHex(memberId)}`;
  const sent = core.vol.welcomeResentAt;
  const last = sent.get(key);
  if (last !== undefined && now < last + core.params.keyPackageResendMs) return [];
  sent.set(key, now);
  const name = new TextDecoder().decode(memberId);
  return [reject(core, "NAME_TAKEN", `a joiner announced '${name}', a name another member has`)];
}

/**
 * A roster member still announcing its KeyPackage never got its Welcome (the welcome topic is not
 * repaired by SDS): the member whose commit added it publishes that Welcome again.
 */
export function resendWelcome(core: GroupCore, joiner: Uint8Array, now: number): GroupEffect[] {
  const id = toHex(joiner);
  const sent = core.vol.welcomeResentAt;
  const entry = core.state.commitLog.findLast((c) => c.welcome !== undefined && c.added?.includes(id));
  const last = sent.get(id);
  if (entry === undefined || (last !== undefined && now < last + core.params.keyPackageResendMs)) return [];
  sent.set(id, now);
  const list = core.state.stewardLists.get(toHex(entry.fingerprintAfter));
  const bytes = encodeWelcomeFrame({
    welcome: entry.welcome!,
    sdsLamport: core.sds?.state.lamport ?? 0n,
    ...(list ? { stewards: listFrame(list) } : {}),
  });
  return [{ type: "publish", topic: core.topics.welcome, bytes }];
}
