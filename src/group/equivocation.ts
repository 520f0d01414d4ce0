// Equivocation (docs/threats.md): a member that signs two different commits for one epoch from one state.
// Any member that applies both (its own branch's, then the other's at a re-alignment) or sees both as
// candidates holds the evidence: the two commit messages, each verifiable by any member holding that
// epoch's state (MLS checks the committer's signature and membership). It gossips the evidence in a
// group payload; every member that verifies it lowers the equivocator's peer score once per epoch
// (de-MLS `BrokenCommit`), and at the threshold proposes its removal through the normal vote, the
// proposal carrying the evidence (de-MLS `ViolationEvidence`) for voters that missed the gossip. Which
// branch the group keeps is not decided here: the sync layer's majority rule does that, and an even split
// goes to the lower-hash commit's branch from the forks recorded here (src/sync/tie-break.ts).
import { sha256 } from "@noble/hashes/sha2.js";
import {
  fingerprintAt,
  type MlsGroup,
  MlsProtocolError,
  type Processed,
  processMessage,
  rewind,
} from "../mls/index.ts";
import { bytesEqual, compareBytes, toHex } from "../util/bytes.ts";
import { count, reject, requireGroup, rosterIds } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import type { GroupCode } from "./errors.ts";
import {
  decodeEquivocation,
  type Equivocation,
  encodeEquivocation,
  PROPOSAL_REMOVE,
  type Proposal,
  VIOLATION_BROKEN_COMMIT,
  type ViolationEvidence,
} from "./frames.ts";
import { sendPayload } from "./outbound.ts";
import { applyScore, scoreOf, THRESHOLD_PEER_SCORE } from "./peer-score.ts";
import { propose } from "./proposals.ts";
import type { GroupCore } from "./state.ts";

/** Evidence we sent that we keep, to send again after a re-alignment. */
const EVIDENCE_KEPT = 4;

/** The evidence in its one form: the two commits ordered by hash, so every finder sends the same bytes. */
export function evidenceOf(epoch: bigint, a: Uint8Array, b: Uint8Array): Equivocation {
  const [first, second] = compareBytes(sha256(a), sha256(b)) <= 0 ? [a, b] : [b, a];
  return { epoch, first, second };
}

/**
 * A commit we applied from state `before` (any way: selected, caught up, re-aligned). When the same member
 * signed another commit we applied from that very state, that is an equivocation: we act on the evidence.
 */
export async function noteApplied(
  core: GroupCore,
  before: MlsGroup,
  sender: Uint8Array,
  commit: Uint8Array,
  now: number,
): Promise<GroupEffect[]> {
  const applied = core.state.appliedCommits;
  const key = toHex(before.fingerprint);
  const who = toHex(sender);
  const list = applied.get(key) ?? [];
  const other = list.find((c) => c.sender === who && !bytesEqual(c.commit, commit));
  if (!list.some((c) => bytesEqual(c.commit, commit)))
    list.push({ epoch: before.epoch, sender: who, commit });
  applied.delete(key);
  applied.set(key, list);
  while (applied.size > core.params.commitLogSize) applied.delete(applied.keys().next().value!);
  const out = [...(await resendEvidence(core, now)), ...(await proposeRemovals(core, now))];
  if (other === undefined) return out;
  return [...out, ...(await onEvidence(core, evidenceOf(before.epoch, other.commit, commit), now, true))];
}

/**
 * Proposes the removal of every member of our roster whose score is at or below the threshold, unless
 * proposed already (the proposal id is the same for every proposer). Run at each epoch change too: a
 * proposal made on a branch we then left is made again on the one we are on.
 */
async function proposeRemovals(core: GroupCore, now: number): Promise<GroupEffect[]> {
  const out: GroupEffect[] = [];
  for (const id of rosterIds(core))
    if (scoreOf(core.state.peerScores, toHex(id)) <= THRESHOLD_PEER_SCORE)
      out.push(...(await propose(core, PROPOSAL_REMOVE, id, now, false, violationOf(core, id))));
  return out;
}

/**
 * The newest evidence we hold against member `id`, as de-MLS's `ViolationEvidence` (a `BrokenCommit`
 * whose payload is the two commits), for a removal proposal to carry.
 */
function violationOf(core: GroupCore, id: Uint8Array): ViolationEvidence | undefined {
  const who = toHex(id);
  const e = core.state.evidenceSent.findLast((s) => s.who === who)?.evidence;
  if (e === undefined) return undefined;
  return {
    violationType: VIOLATION_BROKEN_COMMIT,
    target: id,
    payload: encodeEquivocation(e),
    epoch: e.epoch,
    creator: core.identity.id,
  };
}

/**
 * The evidence a removal proposal carries: checked like gossiped evidence, at our own state of its
 * epoch, and it must prove the equivocation of the proposal's target, made by its proposer. Verified, it
 * is acted on as if gossiped (once per equivocator and epoch). Otherwise it is counted
 * (`PROPOSAL_EVIDENCE_REFUSED`) and changes nothing: the proposal stays an ordinary removal proposal, put
 * to the vote by the application's policy. Refusing the proposal instead would let a forged copy shadow
 * an honest one, since the evidence is not part of the proposal id.
 */
export async function onProposalEvidence(core: GroupCore, p: Proposal, now: number): Promise<GroupEffect[]> {
  const v = p.evidence;
  if (v === undefined || p.kind !== PROPOSAL_REMOVE || !p.target || !p.proposer) return [];
  const refused = (): GroupEffect[] => [
    reject(core, "PROPOSAL_EVIDENCE_REFUSED", "removal proposal evidence refused"),
  ];
  if (
    v.violationType !== VIOLATION_BROKEN_COMMIT ||
    !v.target ||
    !bytesEqual(v.target, p.target) ||
    !v.creator ||
    !bytesEqual(v.creator, p.proposer) ||
    !v.payload
  )
    return refused();
  let e: Equivocation;
  try {
    e = decodeEquivocation(v.payload);
  } catch {
    return refused();
  }
  if (e.epoch !== v.epoch) return refused();
  // Acted on already (found, gossiped or carried before): nothing to check again.
  if (core.state.equivocations.has(`${toHex(p.target)}:${e.epoch}`)) return [];
  const proven = await verifyEvidence(core, e);
  if (typeof proven === "string" || proven.who !== toHex(p.target)) return refused();
  return onEvidence(core, e, now);
}

/** Keeps `e` (against `who`) as sent from our current state, the last `EVIDENCE_KEPT`. */
async function sendEvidence(
  core: GroupCore,
  e: Equivocation,
  who: string,
  now: number,
): Promise<GroupEffect[]> {
  const g = requireGroup(core);
  const sent = core.state.evidenceSent;
  sent.push({ evidence: e, who, epoch: g.epoch, fingerprint: g.fingerprint });
  if (sent.length > EVIDENCE_KEPT) sent.shift();
  return sendPayload(core, { equivocation: e }, now);
}

/** Evidence we sent from a state no longer in our history (abandoned at a re-alignment): sent again. */
async function resendEvidence(core: GroupCore, now: number): Promise<GroupEffect[]> {
  const g = requireGroup(core);
  const sent = core.state.evidenceSent;
  const gone = sent.filter((s) => {
    const f = fingerprintAt(g.history, s.epoch);
    return f === undefined || !bytesEqual(f, s.fingerprint);
  });
  if (gone.length === 0) return [];
  core.state.evidenceSent = sent.filter((s) => !gone.includes(s));
  const out: GroupEffect[] = [];
  for (const s of gone) out.push(...(await sendEvidence(core, s.evidence, s.who ?? "", now)));
  return out;
}

/** Verified evidence: the equivocator (hex id) and the fingerprints its two commits lead to. */
export interface Proven {
  readonly who: string;
  /** After `first` and after `second`, at the epoch after the evidence's. */
  readonly after: readonly [Uint8Array, Uint8Array];
}

/** Forks kept for the sync layer's tie-break (the newest). */
const FORKS_KEPT = 8;

/**
 * Checks evidence against our state at its epoch: both commits must process there (so each carries a
 * valid signature of a member of that epoch's roster), differ, and come from the same member. Returns the
 * equivocator and the states the commits lead to, or why the evidence is refused.
 */
export async function verifyEvidence(core: GroupCore, e: Equivocation): Promise<Proven | GroupCode> {
  if (e.epoch === undefined || !e.first || !e.second) return "MALFORMED";
  if (bytesEqual(e.first, e.second)) return "EVIDENCE_INVALID";
  const g = requireGroup(core);
  let at: MlsGroup;
  try {
    at = e.epoch === g.epoch ? g : rewind(g, e.epoch);
  } catch (err) {
    if (err instanceof MlsProtocolError) return "EVIDENCE_NOT_RETAINED";
    throw err;
  }
  let a: Processed;
  let b: Processed;
  try {
    a = await processMessage(at, e.first);
    b = await processMessage(at, e.second);
  } catch (err) {
    if (err instanceof MlsProtocolError) return "EVIDENCE_INVALID";
    throw err;
  }
  if (a.kind !== "commit" || b.kind !== "commit" || !bytesEqual(a.sender, b.sender))
    return "EVIDENCE_INVALID";
  return { who: toHex(a.sender), after: [a.group.fingerprint, b.group.fingerprint] };
}

/**
 * Evidence found by us (`found`) or gossiped by a member: verified, then acted on once per equivocator
 * and epoch: its score drops by `brokenCommit`, the evidence goes out to the group (so members that saw
 * one branch only learn it), and at the threshold we propose its removal. A forged evidence changes
 * nothing and is counted.
 */
export async function onEvidence(
  core: GroupCore,
  e: Equivocation,
  now: number,
  found = false,
): Promise<GroupEffect[]> {
  const proven = await verifyEvidence(core, e);
  if (typeof proven === "string") {
    count(core, proven);
    return [];
  }
  const s = core.state;
  const who = proven.who;
  const id = `${who}:${e.epoch}`;
  if (s.equivocations.has(id)) return [];
  s.equivocations.add(id);
  // The lower-hash commit's branch wins an even split; ordered here, whatever order a peer sent.
  const [winner, loser] =
    compareBytes(sha256(e.first!), sha256(e.second!)) <= 0
      ? proven.after
      : [proven.after[1], proven.after[0]];
  s.equivocationForks.push({ epoch: e.epoch! + 1n, winner, loser });
  if (s.equivocationForks.length > FORKS_KEPT) s.equivocationForks.shift();
  if (s.equivocations.size > core.params.commitLogSize * 4)
    s.equivocations.delete(s.equivocations.values().next().value!);
  count(core, found ? "EQUIVOCATION_FOUND" : "EQUIVOCATION");
  applyScore(s.peerScores, who, "brokenCommit");
  const out = await sendEvidence(core, e, who, now);
  out.push(...(await proposeRemovals(core, now)));
  return out;
}

/** The equivocators (hex ids) among the equivocations acted on. */
export function equivocatorsOf(equivocations: ReadonlySet<string>): Set<string> {
  return new Set([...equivocations].map((k) => k.slice(0, k.indexOf(":"))));
}

/**
 * A commit for an epoch before ours, seen on the group channel (SDS delivers the other branch's after a
 * heal): when we applied a commit of the same member from our state at that epoch, it is checked as an
 * equivocation. Cheap first: nothing is processed unless we applied a commit for that epoch.
 */
export async function noteObserved(
  core: GroupCore,
  epoch: bigint,
  commit: Uint8Array,
  now: number,
): Promise<GroupEffect[]> {
  const g = requireGroup(core);
  if (epoch >= g.epoch) return [];
  const before = fingerprintAt(g.history, epoch);
  const list = before === undefined ? undefined : core.state.appliedCommits.get(toHex(before));
  if (list === undefined || list.some((c) => bytesEqual(c.commit, commit))) return [];
  for (const c of list) {
    const e = evidenceOf(epoch, c.commit, commit);
    const proven = await verifyEvidence(core, e);
    if (typeof proven !== "string" && proven.who === c.sender) return onEvidence(core, e, now, true);
  }
  return [];
}
