// A new epoch: the end of freeze and selection (the best candidate that stages), or a commit the sync
// layer applies (catch-up, re-alignment). After any of them: the commit log, the proposals the new roster
// settles, the sync key (a removal re-anchors it), the Welcome for joiners, chats for members back, and
// what waited for this epoch.

import { sha256 } from "@noble/hashes/sha2.js";
import {
  builtOn,
  enterOwnCommit,
  isActive,
  type MlsGroup,
  type Processed,
  processMessage,
  roster,
} from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { updateParticipants } from "./adopt.ts";
import { addCandidate, observe, stage } from "./candidates.ts";
import { noteAdded } from "./chat-pull.ts";
import { resendAbandoned } from "./chats.ts";
import { reject, requireGroup, rosterIds } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import { noteApplied } from "./equivocation.ts";
import { departureOf, recordDepartures, recordReturns } from "./former-members.ts";
import { encodeWelcomeFrame, PROPOSAL_ADD, PROPOSAL_REFRESH, PROPOSAL_REMOVE } from "./frames.ts";
import { retryHeld } from "./inbound.ts";
import { pruneKeyPackageSets } from "./keypackage-store.ts";
import { sendKeyPackageStore } from "./keypackages.ts";
import { proposalId } from "./proposals.ts";
import type { GroupCore } from "./state.ts";
import { compareCandidates } from "./steward.ts";
import { epochSteward, installList, listFrame, nextList } from "./steward-schedule.ts";
import { deriveSyncKey, rotateSyncKey, shareSyncKey } from "./sync-key.ts";
import type { OwnCommit } from "./volatile.ts";

type ProcessedCommit = Extract<Processed, { kind: "commit" }>;

/**
 * Our own commit as `processMessage` would have returned it (MLS cannot process one's own), entered from
 * `current`, the state it was built on as it is now.
 */
async function ownProcessed(core: GroupCore, own: OwnCommit, current: MlsGroup): Promise<ProcessedCommit> {
  return {
    kind: "commit",
    group: await enterOwnCommit(current, own.group),
    sender: core.identity.id,
    added: own.added,
    removed: [],
    removedSelf: false,
  };
}

/** Our own commit `bytes`, built on the state `group` is in, as a processed commit. */
async function appliedOwn(
  core: GroupCore,
  group: MlsGroup,
  bytes: Uint8Array,
): Promise<ProcessedCommit | undefined> {
  const hash = toHex(sha256(bytes));
  const own = core.vol.ownCommits.find((o) => o.hash === hash);
  return own !== undefined && builtOn(own.group, group) ? ownProcessed(core, own, group) : undefined;
}

/**
 * Applies a commit outside freeze and selection (catch-up and re-alignment: the sync layer has checked
 * it against the majority's fingerprint). `approvedOnly`: the majority is one member's claim, so its
 * adds and removals must be approved by our own tally, as a candidate's must (`UNAPPROVED_CHANGE`).
 * Undefined if it does not apply.
 */
export async function applyCommit(
  core: GroupCore,
  bytes: Uint8Array,
  now: number,
  via: string,
  approvedOnly = false,
): Promise<GroupEffect[] | undefined> {
  const group = requireGroup(core);
  let p: Processed | undefined = await appliedOwn(core, group, bytes);
  if (p === undefined && approvedOnly) {
    const r = await stage(core, group, bytes, true);
    if (typeof r === "string") {
      reject(core, r, "a catch-up commit on one member's word changes membership unapproved");
      return undefined;
    }
    p = r.processed;
  } else if (p === undefined)
    try {
      p = await processMessage(group, bytes);
    } catch {
      return undefined;
    }
  if (p.kind !== "commit") return undefined;
  return onEpochChange(core, p, bytes, undefined, now, via);
}

/**
 * End of freeze: apply the best candidate that stages and whose membership changes our own tally
 * approved (a steward may commit what the group refused); fall back to the next.
 */
export async function select(core: GroupCore, now: number): Promise<GroupEffect[]> {
  const s = core.state;
  const vol = core.vol;
  const first = epochSteward(core);
  const ranked = [...s.candidates].sort((a, b) => compareCandidates(a, b, first));
  vol.selectedAmong = ranked.length;
  s.freezeUntil = undefined;
  s.candidates = [];
  const skipped: GroupEffect[] = [];
  for (const c of ranked) {
    const own = vol.ownCommit;
    const group = requireGroup(core);
    if (own !== undefined && bytesEqual(own.bytes, c.bytes) && builtOn(own.group, group)) {
      vol.ownCommit = undefined;
      return [
        ...skipped,
        ...(await onEpochChange(
          core,
          await ownProcessed(core, own, group),
          c.bytes,
          own.welcome,
          now,
          "commit",
          group,
        )),
      ];
    }
    const r = await stage(core, group, c.bytes, true);
    if (r === "UNAPPROVED_CHANGE") skipped.push(reject(core, r, "a candidate changes membership unapproved"));
    if (typeof r === "string") continue;
    return [
      ...skipped,
      ...(await onEpochChange(core, r.processed as ProcessedCommit, c.bytes, undefined, now, "commit")),
    ];
  }
  vol.ownCommit = undefined;
  return skipped;
}

/** Bookkeeping after any epoch change: log, proposals, keys, held messages. */
async function onEpochChange(
  core: GroupCore,
  p: ProcessedCommit,
  bytes: Uint8Array,
  welcome: Uint8Array | undefined,
  now: number,
  via: string,
  before = requireGroup(core),
): Promise<GroupEffect[]> {
  const s = core.state;
  const out: GroupEffect[] = [];
  const group = p.group;
  // The steward list the commit carries on, or the one elected at the new epoch.
  const stewards = nextList(core, p.sender, group, p.added);
  s.commitLog.push({
    epoch: before.epoch,
    commit: bytes,
    fingerprintAfter: group.fingerprint,
    ...(welcome ? { welcome, added: p.added.map(toHex) } : {}),
  });
  if (s.commitLog.length > core.params.commitLogSize) s.commitLog.shift();
  observe(core, before.epoch, bytes, before.epoch, true);
  core.group = group;
  installList(core, stewards);
  s.candidates = [];
  s.freezeUntil = undefined;
  s.retry = 0;
  const ids = rosterIds(core);
  const inRoster = new Set(ids.map(toHex));
  // How each member left is read from the requests and proposals this commit settles.
  recordDepartures(core, before, inRoster, now, (id) => departureOf(core, id));
  // A KeyPackage queued before its member left our roster was announced before it left (a leaver's
  // old rejoin, say): re-adding from it would make a ghost. A member that wants back announces again.
  for (const m of roster(before))
    if (!inRoster.has(toHex(m.memberId))) s.pendingKeyPackages.delete(toHex(m.memberId));
  const back = recordReturns(core, inRoster, new Set(p.added.map(toHex)), now);
  // Removed: as a stale leaf the group means to add again, or for good (read before the proposals settle).
  s.removedAsStale =
    !inRoster.has(toHex(core.identity.id)) &&
    s.proposals.get(proposalId(PROPOSAL_REMOVE, core.identity.id))?.proposal.staleLeaf === true;
  // A member whose rejoin the commit completes is back, not new: its rejoin absence is closed already.
  noteAdded(core, p.added, now, new Set([...back, ...roster(before).map((m) => toHex(m.memberId))]));
  settleMembership(core, p.added, inRoster, now);
  settleProposals(core, inRoster);
  s.approvedSince = [...s.proposals.values()].some((r) => r.status === "approved") ? now : undefined;
  const candidates = via === "commit" ? core.vol.selectedAmong : 0;
  core.vol.selectedAmong = 0;
  out.push({
    type: "epoch",
    epoch: group.epoch,
    fingerprint: group.fingerprint,
    via,
    committer: p.sender,
    candidates,
  });
  if (!isActive(group)) {
    out.push({ type: "removed" });
    return out;
  }
  updateParticipants(core);
  pruneKeyPackageSets(s.keyPackageSets, roster(group));
  if (roster(before).some((m) => !inRoster.has(toHex(m.memberId)))) {
    // A removal is a new anchor: the removed member cannot derive the next sync key.
    rotateSyncKey(core, { anchorEpoch: group.epoch, key: await deriveSyncKey(group, s.conversation) });
  }
  if (welcome !== undefined) {
    out.push({
      type: "publish",
      topic: core.topics.welcome,
      bytes: encodeWelcomeFrame({
        welcome,
        sdsLamport: core.sds?.state.lamport ?? 0n,
        stewards: listFrame(stewards),
      }),
    });
    if (s.syncKey) out.push(...(await shareSyncKey(core, now)));
    // The members we added get the KeyPackage store.
    out.push(...(await sendKeyPackageStore(core, now)));
  }
  // Early in a group (a reset's): members added late missed what was re-sent at the reset; send it again
  // (receivers dedupe by chat id). Neither re-send carries what we sent while a member of the roster
  // was out of it after a removal or a leave (`resendAbandoned`).
  if (ids.length > roster(before).length && group.epoch <= BigInt(core.params.earlyGroupEpochs))
    out.push(...(await resendAbandoned(core, now, true)));
  else if (back.length > 0)
    // A member back from a fork could not read what we sent on our branch since it forked: send our
    // recent chats again (receivers dedupe by id).
    out.push(
      ...(await resendAbandoned(core, now, false, group.epoch - BigInt(core.params.rejoinResendEpochs))),
    );
  out.push(...(await noteApplied(core, before, p.sender, bytes, now)));
  // Messages that waited for this epoch, and candidates already seen for it.
  out.push(...(await retryHeld(core, now)));
  for (const c of s.observedCommits.get(group.epoch) ?? []) out.push(...(await addCandidate(core, c, now)));
  return out;
}

/** When each member was (last) added; what the roster no longer holds is forgotten, rejoins settled. */
function settleMembership(
  core: GroupCore,
  added: readonly Uint8Array[],
  inRoster: ReadonlySet<string>,
  now: number,
): void {
  const s = core.state;
  const epoch = core.group!.epoch;
  for (const id of added) {
    s.addedAt.set(toHex(id), epoch);
    s.addedTime.set(toHex(id), now);
  }
  for (const id of s.addedAt.keys()) if (!inRoster.has(id)) s.addedAt.delete(id);
  for (const id of s.addedTime.keys()) if (!inRoster.has(id)) s.addedTime.delete(id);
  for (const id of s.lastHeard.keys()) if (!inRoster.has(id)) s.lastHeard.delete(id);
  // A rejoin is settled once the stale leaf is gone (the member comes back as a joiner).
  for (const id of s.pendingRejoins.keys()) if (!inRoster.has(id)) s.pendingRejoins.delete(id);
  for (const id of s.rejoinWaiting) if (!inRoster.has(id)) s.rejoinWaiting.delete(id);
  for (const id of added) s.rejoinWaiting.delete(toHex(id));
}

/** Proposals the new roster settles are done; the rest stay pending for a later commit. */
function settleProposals(core: GroupCore, inRoster: ReadonlySet<string>): void {
  const s = core.state;
  const has = (id: Uint8Array) => inRoster.has(toHex(id));
  for (const [id, r] of s.proposals) {
    const t = r.proposal.target!;
    let done: boolean;
    if (r.proposal.kind === PROPOSAL_ADD) {
      done = r.joiner === undefined || has(r.joiner);
      if (r.joiner) s.pendingKeyPackages.delete(toHex(r.joiner));
    } else if (r.proposal.kind === PROPOSAL_REFRESH) {
      done = true; // any new epoch is the refresh it asked for
    } else done = !has(t) || (s.addedAt.get(toHex(t)) ?? -1n) > (r.proposal.epoch ?? 0n);
    if (done) s.proposals.delete(id);
  }
}
