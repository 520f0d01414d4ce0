// Votes on proposals (de-MLS; docs/architecture.md, "The group layer"): signed by the voter's roster key and hash-chained per voter;
// tallied by the de-MLS decision rule (`consensus.ts`). This member's own vote follows its vote policy:
// YES, NO, or none until the application votes (docs/decisions.md, "Votes belong to the application").
import { sha256 } from "@noble/hashes/sha2.js";
import { rosterMember, sign, verify } from "../mls/index.ts";
import { bytesEqual, toHex, utf8 } from "../util/bytes.ts";
import { decide, mayDecideEarly } from "./consensus.ts";
import { count, reject, requireGroup } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import { encodeVote, PROPOSAL_ADD, PROPOSAL_REFRESH, type Vote } from "./frames.ts";
import { sendPayload } from "./outbound.ts";
import { policyOf, proposalKind } from "./proposal-kind.ts";
import type { GroupCore, ProposalRecord } from "./state.ts";

/** The bytes a vote's signature covers. */
export function voteBody(v: Vote): Uint8Array {
  return encodeVote({ proposalId: v.proposalId, voter: v.voter, yes: v.yes ?? false, prev: v.prev });
}

/** Votes on proposal `id` now, in a message of its own. */
export async function vote(core: GroupCore, id: string, yes: boolean, now: number): Promise<GroupEffect[]> {
  const v = await signVote(core, id, yes);
  return v ? sendPayload(core, { vote: v }, now) : [];
}

/** Our vote on proposal `id`, signed and chained, and counted in our own tally; none if we voted. */
async function signVote(core: GroupCore, id: string, yes: boolean): Promise<Vote | undefined> {
  const s = core.state;
  const rec = s.proposals.get(id);
  if (rec === undefined) return undefined;
  rec.voteAt = undefined;
  const me = toHex(core.identity.id);
  if (rec.votes.has(me)) return undefined;
  rec.awaiting = undefined;
  const unsigned: Vote = {
    proposalId: utf8(id),
    voter: core.identity.id,
    yes,
    prev: s.voteChain.get(me) ?? new Uint8Array(),
  };
  const signed: Vote = { ...unsigned, signature: await sign(core.identity, "vote", voteBody(unsigned)) };
  rec.votes.set(me, yes);
  s.voteChain.set(me, sha256(encodeVote(signed)));
  return signed;
}

/** A vote, sent in MLS epoch `sentIn`. */
export async function onVote(
  core: GroupCore,
  v: Vote,
  sender: Uint8Array,
  sentIn: bigint,
): Promise<GroupEffect[]> {
  const s = core.state;
  if (v.proposalId === undefined || v.voter === undefined || v.signature === undefined)
    return [reject(core, "MALFORMED", "vote without fields")];
  if (!bytesEqual(v.voter, sender)) return [reject(core, "VOTER_MISMATCH", "vote sent by another member")];
  const member = rosterMember(requireGroup(core), v.voter);
  if (member === undefined) return [reject(core, "NOT_MEMBER", "vote from a non-member")];
  if (!(await verify(member.signaturePublicKey, "vote", voteBody(v), v.signature)))
    return [reject(core, "INVALID_SIGNATURE", "bad vote signature")];
  const voter = toHex(v.voter);
  const prev = s.voteChain.get(voter);
  const follows = prev !== undefined && v.prev !== undefined && bytesEqual(prev, v.prev);
  const id = new TextDecoder().decode(v.proposalId);
  const rec = s.proposals.get(id);
  if (rec === undefined && sentIn < requireGroup(core).epoch) {
    // Sent in an earlier epoch on a proposal we no longer (or never) held: it lost the race with the
    // commit that carried the proposal (2n/3 votes suffice), or we caught up past that epoch without
    // seeing it. Valid, only late. It may come after the voter's newer votes (SDS repairs history after a
    // catch-up), so it extends the chain only as its next link, and is no evidence of a gap.
    if (follows) s.voteChain.set(voter, sha256(encodeVote(v)));
    count(core, "LATE_VOTE");
    return [];
  }
  if (prev !== undefined && v.prev !== undefined && v.prev.length > 0 && !follows)
    count(core, "VOTE_CHAIN_GAP");
  if (rec === undefined) return [reject(core, "UNKNOWN_PROPOSAL", "vote for an unknown proposal")];
  if (rec.votes.has(voter)) return [reject(core, "DOUBLE_VOTE", "second vote of one member")];
  rec.votes.set(voter, v.yes ?? false);
  s.voteChain.set(voter, sha256(encodeVote(v)));
  if (mayDecideEarly(rec.voters, rec.votes.size)) core.vol.decisionDue = true;
  return [];
}

/** Votes carried by one message, each processed in order (each vote's `prev` names the one before it). */
export async function onVotes(
  core: GroupCore,
  votes: readonly Vote[],
  sender: Uint8Array,
  sentIn: bigint,
): Promise<GroupEffect[]> {
  if (votes.length > core.params.votesPerMessage)
    return [reject(core, "OVERSIZED_BATCH", "too many votes in one message")];
  const out: GroupEffect[] = [];
  for (const v of votes) out.push(...(await onVote(core, v, sender, sentIn)));
  return out;
}

/**
 * Our vote on proposal `id` as the policy says, now: YES or NO in a message of its own, or, when the
 * application decides, a `proposal` effect that asks it.
 */
export async function voteByPolicy(core: GroupCore, id: string, now: number): Promise<GroupEffect[]> {
  const rec = core.state.proposals.get(id);
  if (rec === undefined || rec.status !== "pending") return [];
  const choice = policyOf(core, rec).vote;
  return choice === "ask" ? askApplication(core, id, rec) : vote(core, id, choice === "yes", now);
}

/** Marks proposal `id` as waiting for the application's vote and tells it, once. */
function askApplication(core: GroupCore, id: string, rec: ProposalRecord): GroupEffect[] {
  rec.voteAt = undefined;
  if (rec.awaiting || rec.votes.has(toHex(core.identity.id))) return [];
  rec.awaiting = true;
  return [proposalEffect(core, id, rec)];
}

/** The `proposal` effect of proposal `id`: what it does, to whom, and who proposed it. */
export function proposalEffect(core: GroupCore, id: string, rec: ProposalRecord): GroupEffect {
  const p = rec.proposal;
  const target = p.kind === PROPOSAL_REFRESH ? undefined : p.kind === PROPOSAL_ADD ? rec.joiner : p.target;
  return {
    type: "proposal",
    proposalId: id,
    kind: proposalKind(core, rec),
    target,
    proposer: p.proposer ?? new Uint8Array(),
  };
}

/**
 * Once a vote is due, votes on it and on every proposal received up to half a voting delay later as the
 * policy says, in one message per `votesPerMessage` (proposals the application decides are put to it):
 * a steward proposing many changes at once (the stale leaves of many forked members) would otherwise cost
 * every member one message per vote, n^2 deliveries per proposal.
 */
export async function castVotes(core: GroupCore, now: number): Promise<GroupEffect[]> {
  const proposals = core.state.proposals;
  if (![...proposals.values()].some((r) => r.voteAt !== undefined && r.voteAt <= now)) return [];
  const until = now + core.params.votingDelayMs / 2;
  const votes: Vote[] = [];
  const out: GroupEffect[] = [];
  for (const [id, rec] of proposals) {
    if (rec.voteAt === undefined || rec.voteAt > until) continue;
    rec.voteAt = undefined;
    if (rec.status !== "pending") continue;
    const choice = policyOf(core, rec).vote;
    if (choice === "ask") {
      out.push(...askApplication(core, id, rec));
      continue;
    }
    const v = await signVote(core, id, choice === "yes");
    if (v) votes.push(v);
  }
  const per = core.params.votesPerMessage;
  for (let i = 0; i < votes.length; i += per) {
    const batch = votes.slice(i, i + per);
    out.push(...(await sendPayload(core, batch.length === 1 ? { vote: batch[0]! } : { votes: batch }, now)));
  }
  return out;
}

/** Decides every pending proposal whose tally allows it; forgets settled ones after the proposal expiry. */
export function decideAll(core: GroupCore, now: number, out: GroupEffect[]): void {
  const s = core.state;
  const p = core.params;
  core.vol.decisionDue = false;
  for (const [id, rec] of s.proposals) {
    if (rec.status !== "pending") {
      if (now - rec.receivedAt > p.proposalExpiryMs && rec.status !== "approved") s.proposals.delete(id);
      continue;
    }
    const yes = [...rec.votes.values()].filter(Boolean).length;
    const timedOut = now >= rec.receivedAt + p.consensusTimeoutMs;
    const d = decide(rec.voters, yes, rec.votes.size - yes, timedOut, policyOf(core, rec).liveness);
    if (d === "PENDING") continue;
    rec.status = d === "YES" ? "approved" : "rejected";
    rec.decidedAt = now;
    rec.awaiting = undefined;
    if (d === "YES" && s.approvedSince === undefined) s.approvedSince = now;
    out.push({ type: "decided", proposalId: id, decision: d });
  }
}
