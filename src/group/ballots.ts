// The application's votes (docs/decisions.md, "Votes belong to the application"): the proposals waiting
// for its vote, its vote on one, and the proposals put to it that this member may now decide by itself
// (a removal turned out to be a rejoin's when the member's signed request arrived).
import { toHex } from "../util/bytes.ts";
import { mayDecideEarly } from "./consensus.ts";
import type { GroupEffect, ProposalEffect } from "./effects.ts";
import { GroupError } from "./errors.ts";
import { policyOf } from "./proposal-kind.ts";
import type { GroupCore } from "./state.ts";
import { proposalEffect, vote } from "./votes.ts";

/** Proposals waiting for the application's vote, oldest first. */
export function waitingProposals(core: GroupCore): ProposalEffect[] {
  return [...core.state.proposals]
    .filter(([, r]) => r.awaiting && r.status === "pending")
    .sort((a, b) => a[1].receivedAt - b[1].receivedAt)
    .map(([id, r]) => proposalEffect(core, id, r) as ProposalEffect);
}

/**
 * The application's vote on proposal `id`: signed, chained and sent like any vote.
 * @throws {GroupError} `UNKNOWN_PROPOSAL` (not tracked), `SETTLED_PROPOSAL` (already decided),
 * `DOUBLE_VOTE` (this member voted on it already), `NO_GROUP` (not in a group).
 */
export async function voteAsApplication(
  core: GroupCore,
  id: string,
  yes: boolean,
  now: number,
): Promise<GroupEffect[]> {
  if (core.group === undefined) throw new GroupError("NO_GROUP", "not in a group");
  const rec = core.state.proposals.get(id);
  if (rec === undefined) throw new GroupError("UNKNOWN_PROPOSAL", `no proposal ${id}`);
  if (rec.status !== "pending") throw new GroupError("SETTLED_PROPOSAL", `proposal ${id} is ${rec.status}`);
  if (rec.votes.has(toHex(core.identity.id)))
    throw new GroupError("DOUBLE_VOTE", `this member voted on proposal ${id} already`);
  const out = await vote(core, id, yes, now);
  // Our vote may be the one that completes the tally: decide at once rather than at the timeout.
  if (mayDecideEarly(rec.voters, rec.votes.size)) core.vol.decisionDue = true;
  return out;
}

/** Proposals put to the application that the policy now lets this member vote on by itself: due now. */
export function reconsiderWaiting(core: GroupCore, now: number): void {
  for (const rec of core.state.proposals.values())
    if (rec.awaiting && rec.status === "pending" && policyOf(core, rec).vote !== "ask") rec.voteAt = now;
}
