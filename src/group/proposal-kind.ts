// Which kind of proposal a record is, as this member tells it apart now (a rejoin request may arrive after
// the removal it asks for), and the vote policy that applies to it (docs/decisions.md, "Votes belong to
// the application").
import { bytesEqual, toHex } from "../util/bytes.ts";
import { lastAbsence } from "./former-members.ts";
import { PROPOSAL_ADD, PROPOSAL_LEAVE, PROPOSAL_REFRESH, PROPOSAL_REMOVE } from "./frames.ts";
import type { GroupCore, ProposalRecord } from "./state.ts";
import type { KindPolicy, ProposalKind } from "./vote-policy.ts";

/** What proposal `rec` does, by what this member knows now (a rejoin request may come after it). */
export function proposalKind(core: GroupCore, rec: ProposalRecord): ProposalKind {
  const p = rec.proposal;
  if (p.kind === PROPOSAL_LEAVE) return "leave";
  if (p.kind === PROPOSAL_REFRESH) return "refresh";
  if (p.kind === PROPOSAL_REMOVE)
    return core.state.pendingRejoins.has(toHex(p.target ?? new Uint8Array())) ? "rejoin" : "remove";
  if (p.kind !== PROPOSAL_ADD || rec.joiner === undefined) return "add";
  const out = lastAbsence(core, toHex(rec.joiner));
  if (out === undefined || out.to !== undefined) return "add";
  // Back from a recovery (its stale leaf removed at its request, or a reset without it) under the key it
  // left with: the same member, not one the group decided to drop.
  const recovery = out.how === "rejoin" || out.how === "reset";
  const sameKey = out.key !== undefined && rec.joinerKey !== undefined && bytesEqual(out.key, rec.joinerKey);
  return recovery && sameKey ? "rejoin" : "readmit";
}

/** The policy that applies to proposal `rec`. */
export function policyOf(core: GroupCore, rec: ProposalRecord): KindPolicy {
  return core.policy[proposalKind(core, rec)];
}
