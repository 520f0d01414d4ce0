// Commit candidates (de-MLS; docs/architecture.md, "The group layer"): a steward's commit for the current epoch is staged on a copy of
// the state, checked to carry only approved proposals and to come from a steward of a round that has
// begun, and starts the freeze. Commits for other epochs are kept, bounded, for when we reach them.
import { sha256 } from "@noble/hashes/sha2.js";
import {
  isActive,
  type MlsGroup,
  MlsProtocolError,
  type Processed,
  peek,
  processMessage,
} from "../mls/index.ts";
import { bytesEqual } from "../util/bytes.ts";
import { attest, attestedAt, bodyRefused, resolution } from "./commit-pull.ts";
import { reject, requireGroup } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import { evidenceOf, onEvidence } from "./equivocation.ts";
import type { GroupCode } from "./errors.ts";
import { decodeGroupFrame, PROPOSAL_LEAVE, PROPOSAL_REFRESH, PROPOSAL_REMOVE } from "./frames.ts";
import type { GroupCore } from "./state.ts";
import { roundsBegun, stewards } from "./steward-schedule.ts";

/**
 * Keeps a commit of another epoch, to try when we reach it. The epoch in its header is not
 * authenticated: epochs beyond the commit log's reach ahead of ours and more than `observedPerEpoch`
 * commits for one epoch are refused (`FAR_EPOCH`, `OBSERVED_FULL`), so a peer cannot grow the map without
 * bound; a commit we applied (`applied`) is always kept. A member further behind than that catches up
 * through the sync layer, which never needs these. Returns the rejection, if any.
 */
export function observe(
  core: GroupCore,
  epoch: bigint,
  commit: Uint8Array,
  current: bigint,
  applied = false,
): GroupEffect | undefined {
  const observed = core.state.observedCommits;
  const keep = BigInt(core.params.commitLogSize);
  if (epoch > current + keep)
    return reject(core, "FAR_EPOCH", `a commit for epoch ${epoch}, ours is ${current}`);
  const list = observed.get(epoch) ?? [];
  if (list.some((c) => bytesEqual(c, commit))) return undefined;
  if (list.length >= core.params.observedPerEpoch && !applied)
    return reject(core, "OBSERVED_FULL", `already ${list.length} commits seen for epoch ${epoch}`);
  list.push(commit);
  observed.set(epoch, list);
  for (const e of observed.keys()) if (e + keep < current) observed.delete(e);
  return undefined;
}

/**
 * Processes a commit on a copy and checks it only carries known proposals; an error code or the facts.
 * `approved`: its adds and removals must also be approved by our tally, as they must be when it is
 * selected (`UNAPPROVED_CHANGE`: a steward may commit what the group refused); before, a vote still
 * counting may approve them.
 */
export async function stage(
  core: GroupCore,
  group: MlsGroup,
  bytes: Uint8Array,
  approved = false,
): Promise<GroupCode | { sender: Uint8Array; proposals: number; processed: Processed }> {
  let p: Processed;
  try {
    p = await processMessage(group, bytes);
  } catch (e) {
    return e instanceof MlsProtocolError ? `COMMIT_${e.code}` : "COMMIT_INVALID";
  }
  if (p.kind !== "commit") return "MALFORMED";
  const known = [...core.state.proposals.values()];
  let n = p.added.length + p.removed.length;
  if (n === 0) {
    // A path-only commit carries the known refresh proposals.
    n = known.filter((r) => r.proposal.kind === PROPOSAL_REFRESH).length;
    if (n === 0) return "EMPTY_COMMIT";
  }
  if (n > core.params.maxProposalsPerCommit) return "OVERSIZED_COMMIT";
  const changes = approved ? known.filter((r) => r.status === "approved") : known;
  const unproposed = approved ? "UNAPPROVED_CHANGE" : "UNPROPOSED_CHANGE";
  for (const id of p.removed)
    if (
      !changes.some(
        (r) =>
          (r.proposal.kind === PROPOSAL_REMOVE || r.proposal.kind === PROPOSAL_LEAVE) &&
          bytesEqual(r.proposal.target!, id),
      )
    )
      return unproposed;
  for (const id of p.added)
    if (!changes.some((r) => r.joiner !== undefined && bytesEqual(r.joiner, id))) return unproposed;
  return { sender: p.sender, proposals: n, processed: p };
}

/** Stages a candidate for the current epoch; checks steward list and proposals; starts the freeze. */
export async function addCandidate(core: GroupCore, bytes: Uint8Array, now: number): Promise<GroupEffect[]> {
  const s = core.state;
  const p = core.params;
  if (s.candidates.some((c) => bytesEqual(c.bytes, bytes))) return [];
  const group = requireGroup(core);
  let staged: { sender: Uint8Array; proposals: number };
  const own = core.vol.ownCommit;
  if (own !== undefined && bytesEqual(own.bytes, bytes)) {
    const approved = [...s.proposals.values()].filter((r) => r.status === "approved").length;
    staged = { sender: core.identity.id, proposals: Math.min(approved, p.maxProposalsPerCommit) };
  } else {
    const r = await stage(core, group, bytes);
    if (typeof r === "string") {
      bodyRefused(core, sha256(bytes));
      // Lacking the proposal it carries (lost to us; SDS brings it later): kept, tried again then.
      if (r === "EMPTY_COMMIT" || r === "UNPROPOSED_CHANGE") observe(core, group.epoch, bytes, group.epoch);
      return [reject(core, r, "commit candidate rejected")];
    }
    staged = r;
  }
  // Retry rounds advance as members tick: accept the rounds that have begun by the clock as well as the
  // next one.
  const begun = roundsBegun(p, s.approvedSince, now);
  let rank = -1;
  for (let retry = 0; retry <= s.retry + 1 + begun && rank < 0; retry++)
    rank = stewards(core, retry).findIndex((m) => bytesEqual(m, staged.sender));
  if (rank < 0) return [reject(core, "NOT_STEWARD", "commit from a member not on the steward list")];
  const hash = sha256(bytes);
  // Another candidate of the same member for this epoch: an equivocation, found as the commits meet (a
  // pulled commit brings the other half's here). Both stay candidates: selection ranks them the same way
  // everywhere, so the group still takes one.
  const twin = s.candidates.find((c) => bytesEqual(c.sender, staged.sender) && !bytesEqual(c.bytes, bytes));
  s.candidates.push({ bytes, sender: staged.sender, proposals: staged.proposals, hash });
  // A commit we pulled after seeing it attested: the freeze counts from the attestation, as the others'
  // did from about then.
  if (s.freezeUntil === undefined) s.freezeUntil = (attestedAt(core, hash) ?? now) + p.freezeMs;
  const out = await attest(core, hash, staged.sender, now);
  if (twin !== undefined)
    out.push(...(await onEvidence(core, evidenceOf(group.epoch, twin.bytes, bytes), now, true)));
  return out;
}

/**
 * Commits of the current epoch we refused for lack of the proposals they carry are tried again whenever
 * our proposals change (a lost proposal arrived): otherwise such a member would learn of the epoch only
 * from the sync layer after the others moved on, and as a steward of a later retry round would commit a
 * competing candidate.
 */
export async function retryRefused(core: GroupCore, now: number): Promise<GroupEffect[]> {
  const s = core.state;
  const epoch = requireGroup(core).epoch;
  const kept = s.observedCommits.get(epoch);
  const r = resolution(core);
  if (kept === undefined || kept.length === 0) return [];
  const known = [...s.proposals.keys()].join();
  if (r.refusedWith === known) return [];
  r.refusedWith = known;
  const out: GroupEffect[] = [];
  for (const c of kept)
    if (!s.candidates.some((x) => bytesEqual(x.bytes, c))) out.push(...(await addCandidate(core, c, now)));
  return out;
}

/**
 * A frame SDS holds back for missing causal history: if it is a commit for our epoch, it is staged now.
 * Under loss most members lack one of the votes the steward's commit names as its history, and SDS-R
 * brings it 30 s or more later at the spec's timers, past the others' freeze; the commit needs no order
 * to be checked (MLS validation, steward list, proposals, as on delivery, which then finds it staged).
 */
export async function waitingCommit(
  core: GroupCore,
  content: Uint8Array,
  now: number,
): Promise<GroupEffect[]> {
  const group = core.group;
  if (group === undefined || !isActive(group)) return [];
  let commit: Uint8Array | undefined;
  try {
    commit = decodeGroupFrame(content).commit;
    if (commit === undefined || peek(commit).epoch !== group.epoch) return [];
  } catch {
    return []; // malformed: rejected on delivery
  }
  return addCandidate(core, commit, now);
}
