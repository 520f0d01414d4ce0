// The steward's commit (de-MLS; docs/architecture.md, "The group layer"): at its slot, the epoch steward (or a backup, after its window)
// commits the approved proposals, oldest first, at most `maxProposalsPerCommit`, and sends the commit
// as a candidate like any other.
import { sha256 } from "@noble/hashes/sha2.js";
import { commit as mlsCommit } from "../mls/index.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { DemlsError } from "../util/errors.ts";
import { addCandidate } from "./candidates.ts";
import { awaitingAttested } from "./commit-pull.ts";
import { reject, requireGroup } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import { groupCodeOf } from "./errors.ts";
import {
  encodeGroupFrame,
  PROPOSAL_ADD,
  PROPOSAL_LEAVE,
  PROPOSAL_REFRESH,
  PROPOSAL_REMOVE,
  type Proposal,
} from "./frames.ts";
import { sendFrame } from "./outbound.ts";
import type { GroupCore } from "./state.ts";
import { commitSlot, retryDue, stewardRank } from "./steward-schedule.ts";

/** The steward (or, after its window, a backup) commits approved proposals. */
export async function stewardCommit(core: GroupCore, now: number): Promise<GroupEffect[]> {
  const s = core.state;
  const p = core.params;
  const since = s.approvedSince;
  if (since === undefined || s.freezeUntil !== undefined) return [];
  if (now < commitSlot(p, since, 0)) return [];
  if (now >= retryDue(p, s.approvedSince)) {
    // Nobody on the list committed: next retry round, new list.
    s.retry++;
    s.approvedSince = now - p.commitDelayMs;
  }
  const rank = stewardRank(core, s.retry);
  // Slots count from when the round that just ended began (a new round's backups may act at once).
  if (rank < 0 || now < commitSlot(p, since, rank)) return [];
  // A commit of this epoch is attested and on its way: ours would only compete with it.
  if (awaitingAttested(core)) return [];
  const me = core.identity.id;
  // MLS does not let a member remove itself in its own commit: another steward commits our removal.
  const approved = [...s.proposals.entries()]
    .filter(([, r]) => r.status === "approved" && !removesMember(r.proposal, me))
    .sort((a, b) => a[1].receivedAt - b[1].receivedAt || (a[0] < b[0] ? -1 : 1))
    .slice(0, p.maxProposalsPerCommit);
  if (approved.length === 0) {
    // Only our own removal left: its schedule goes on (we accept the steward rounds that commit it).
    if (![...s.proposals.values()].some((r) => r.status === "approved")) s.approvedSince = undefined;
    return [];
  }
  const adds: Uint8Array[] = [];
  const removes: Uint8Array[] = [];
  const joiners: Uint8Array[] = [];
  for (const [, r] of approved) {
    if (r.proposal.kind === PROPOSAL_ADD) {
      adds.push(r.proposal.target!);
      if (r.joiner) joiners.push(r.joiner);
    } else if (r.proposal.kind !== PROPOSAL_REFRESH) removes.push(r.proposal.target!);
  }
  let out: Awaited<ReturnType<typeof mlsCommit>>;
  try {
    out = await mlsCommit(requireGroup(core), { adds, removes });
  } catch (e) {
    for (const [, r] of approved) r.status = "rejected"; // a batch that cannot be staged is dropped
    return [reject(core, e instanceof DemlsError ? groupCodeOf(e) : "INVALID", "own commit failed")];
  }
  // Our state at this epoch as it is now: the commit spent a handshake generation of it.
  core.group = out.sameEpoch;
  const vol = core.vol;
  vol.ownCommit = { bytes: out.commit, group: out.group, welcome: out.welcome, added: joiners };
  vol.ownCommits.push({ hash: toHex(sha256(out.commit)), group: out.group, added: joiners });
  if (vol.ownCommits.length > p.ownCommitsKept) vol.ownCommits.shift();
  const effects = sendFrame(core, encodeGroupFrame({ commit: out.commit }), now);
  effects.push(...(await addCandidate(core, out.commit, now)));
  return effects;
}

/** Whether `p` removes member `id` (a removal of it, or its leave). */
function removesMember(p: Proposal, id: Uint8Array): boolean {
  return (
    (p.kind === PROPOSAL_REMOVE || p.kind === PROPOSAL_LEAVE) &&
    p.target !== undefined &&
    bytesEqual(p.target, id)
  );
}
