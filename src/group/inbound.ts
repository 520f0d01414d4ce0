// Group frames as SDS delivers them: a commit for our epoch becomes a candidate, one for another epoch is
// kept; an application message is decrypted (or held when it is from a later epoch or unreadable at our
// state) and its payload dispatched: chat, KeyPackage sets, proposal, votes, sync-key share.

import { MlsProtocolError, type Processed, peek, processMessage } from "../mls/index.ts";
import type { SdsEffect } from "../sds/index.ts";
import { toHex } from "../util/bytes.ts";
import { DemlsError } from "../util/errors.ts";
import { addCandidate, observe, waitingCommit } from "./candidates.ts";
import { onChatPull } from "./chat-pull.ts";
import { openAnswer } from "./chat-pull-seal.ts";
import { onRelayed } from "./chat-relay.ts";
import { onChat } from "./chats.ts";
import { onCommitPull, onCommitSeen } from "./commit-pull.ts";
import { count, reject, requireGroup } from "./core.ts";
import { type GroupEffect, stateHint } from "./effects.ts";
import { noteObserved, onEvidence, onProposalEvidence } from "./equivocation.ts";
import { groupCodeOf } from "./errors.ts";
import { decodeGroupFrame, decodePayload, type GroupPayload } from "./frames.ts";
import { hold, takeHeld } from "./held.ts";
import { onKeyPackageSets } from "./keypackages.ts";
import { channelEffects } from "./outbound.ts";
import { onProposal } from "./proposals.ts";
import type { GroupCore } from "./state.ts";
import { onSyncKeyPayload } from "./sync-key.ts";
import { onVote, onVotes } from "./votes.ts";

/** What SDS returned, as group effects: deliveries are read (a typed error is counted, not thrown). */
export async function onSds(core: GroupCore, effects: SdsEffect[], now: number): Promise<GroupEffect[]> {
  const out: GroupEffect[] = [];
  for (const e of effects) {
    if (e.type === "deliver") out.push(...(await readFrame(core, e.content, now)));
    else out.push(...channelEffects(core, e));
    if (e.type === "waiting") out.push(...(await waitingCommit(core, e.content, now)));
  }
  return out;
}

/** Reads one frame; a typed error (bad input from a peer) is counted and reported, never thrown. */
async function readFrame(core: GroupCore, content: Uint8Array, now: number): Promise<GroupEffect[]> {
  try {
    return await onFrame(core, content, now);
  } catch (e) {
    if (!(e instanceof DemlsError)) throw e;
    return [reject(core, groupCodeOf(e), e.message)];
  }
}

/** One group frame delivered by SDS (or held and read again). */
async function onFrame(core: GroupCore, content: Uint8Array, now: number): Promise<GroupEffect[]> {
  const frame = decodeGroupFrame(content);
  const group = requireGroup(core);
  if (frame.commit !== undefined) {
    const h = peek(frame.commit);
    if (h.epoch === undefined || h.contentType !== "commit")
      return [reject(core, "MALFORMED", "not a commit")];
    if (h.epoch !== group.epoch) {
      const refused = observe(core, h.epoch, frame.commit, group.epoch);
      if (refused) return [refused, stateHint(h.epoch)];
      return [stateHint(h.epoch), ...(await noteObserved(core, h.epoch, frame.commit, now))];
    }
    return addCandidate(core, frame.commit, now);
  }
  if (frame.application === undefined) return [reject(core, "MALFORMED", "empty frame")];
  const h = peek(frame.application);
  if (h.epoch !== undefined && h.epoch > group.epoch) {
    return hold(core, h.epoch, content);
  }
  if (h.epoch !== undefined && h.epoch < group.epoch - BigInt(core.params.retainedKeyEpochs)) {
    // From before we joined, or too old to decrypt: not an attack, just history we cannot read.
    count(core, "STALE_EPOCH");
    return [stateHint(h.epoch)];
  }
  let p: Processed;
  try {
    p = await processMessage(group, frame.application);
  } catch (e) {
    if (!(e instanceof MlsProtocolError)) throw e;
    if (e.code === "WRONG_EPOCH") {
      count(core, "STALE_EPOCH");
      return h.epoch === undefined ? [] : [stateHint(h.epoch)];
    }
    // Unreadable at our state: perhaps sent on the other branch of a fork we have not noticed yet. SDS
    // counts it as received, so dropping it would lose it for good: hold it and try again after the
    // next epoch change (a re-alignment); it ages out with the retained keys.
    if (h.epoch === undefined) throw e;
    count(core, "UNREADABLE_HELD");
    return hold(core, h.epoch, content);
  }
  if (p.kind !== "application") return [reject(core, "MALFORMED", "expected an application message")];
  core.group = p.group;
  core.state.lastHeard.set(toHex(p.sender), now);
  const out = await onPayload(core, decodePayload(p.plaintext), p.sender, p.epoch, now);
  return p.epoch < group.epoch ? [stateHint(p.epoch), ...out] : out;
}

/** A decrypted payload from `sender`, sent at `epoch`. */
async function onPayload(
  core: GroupCore,
  p: GroupPayload,
  sender: Uint8Array,
  epoch: bigint,
  now: number,
): Promise<GroupEffect[]> {
  if (p.chat !== undefined) return onChat(core, p.chat, sender, epoch, now);
  if (p.relayed !== undefined) return onRelayed(core, p.relayed, epoch, now);
  if (p.sealedRelay !== undefined) {
    // Every member sees every answer; only the requester opens its own.
    const relayed = openAnswer(core, p.sealedRelay, sender);
    return relayed === undefined ? [] : onRelayed(core, relayed, epoch, now);
  }
  if (p.keyPackageSets.length > 0) return onKeyPackageSets(core, p.keyPackageSets, now);
  if (p.proposal !== undefined)
    return [
      ...(await onProposal(core, p.proposal, sender, epoch, now)),
      ...(await onProposalEvidence(core, p.proposal, now)),
    ];
  if (p.vote !== undefined) return onVote(core, p.vote, sender, epoch);
  if (p.votes.length > 0) return onVotes(core, p.votes, sender, epoch);
  if (p.equivocation !== undefined) return onEvidence(core, p.equivocation, now);
  if (p.commitSeen !== undefined) return onCommitSeen(core, p.commitSeen, sender, now);
  if (p.commitPull !== undefined) return onCommitPull(core, p.commitPull, now);
  if (p.chatPull !== undefined) return onChatPull(core, p.chatPull, sender, now);
  const share = p.syncKey === undefined ? undefined : await onSyncKeyPayload(core, p.syncKey, now);
  return share ?? [reject(core, "MALFORMED", "empty payload")];
}

/** Held application frames of our epoch or older, read again now that our state changed. */
export async function retryHeld(core: GroupCore, now: number): Promise<GroupEffect[]> {
  const out: GroupEffect[] = [];
  for (const h of takeHeld(core, requireGroup(core).epoch))
    out.push(...(await readFrame(core, h.frame, now)));
  return out;
}
