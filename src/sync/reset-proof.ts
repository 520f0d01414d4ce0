// The proof a reset Welcome carries and every member checks before it leaves its group
// (docs/spec/recovery.md, section 7): the round's signed proposal and enough signed YES votes of its
// expected voters under the de-MLS rule, and, once the Welcome is open, that every leaf of the new group
// is the member we knew under that id.
import { decide } from "../group/consensus.ts";
import { type MlsGroup, roster, verify } from "../mls/index.ts";
import { bytesEqual, fromHex, toHex } from "../util/bytes.ts";
import type { SyncCode } from "./codes.ts";
import type { SyncContext } from "./context.ts";
import { lineageOf } from "./lineage.ts";
import { resetGroupId, resetProposalId } from "./reset-ids.ts";
import type { ResetRound } from "./state.ts";
import { type ResetProposal, type ResetWelcome, resetBody, resetVoteBody } from "./wire.ts";

/**
 * Round `r`'s certificate as its operator sends it: the signed proposal and every signed YES vote held,
 * without their KeyPackages (the signature covers the KeyPackage's hash).
 */
export function certificateOf(r: ResetRound): Pick<ResetWelcome, "proposal" | "votes"> {
  const votes = [...r.votes]
    .filter(([, v]) => v.yes && v.signature !== undefined)
    .map(([who, v]) => ({
      proposalId: r.id,
      voter: fromHex(who),
      yes: true,
      keyPackageHash: v.keyPackageHash,
      signature: v.signature,
    }));
  return { proposal: r.proposal, votes };
}

/** A checked certificate: the round's proposal and vote id. */
export interface ResetProof {
  readonly proposal: ResetProposal;
  readonly id: Uint8Array;
}

/**
 * Whether an expected-voter set is acceptable: only known members, each once (its length is the count of
 * voters), and more than half of our roster (a member proposing a reset among itself alone would decide
 * it with its own vote).
 */
export function acceptableVoters(ctx: SyncContext, voters: readonly Uint8Array[]): boolean {
  const members = ctx.port.rosterIds().length;
  const set = new Set(voters.map(toHex));
  return (
    set.size === voters.length && set.size * 2 > members && [...set].every((m) => ctx.state.directory.has(m))
  );
}

/**
 * Checks the certificate of reset Welcome `w` against what we know: our group (or its lineage), the
 * directory of members' keys, and `r`, the round we are in (if any). `competing`: the Welcome is of a
 * group of the id we are in, past that group's first epoch (a competing operator's group of `r`, the round
 * we came in by, which the caller saw alive in another member's signed view): no replay rule refuses it,
 * the certificate proves the round was decided and the switch is monotone (docs/decisions.md, "Competing
 * reset groups"). Returns the proof, or why not.
 */
export async function checkProof(
  ctx: SyncContext,
  w: ResetWelcome,
  r: ResetRound | undefined,
  now: number,
  competing = false,
): Promise<ResetProof | SyncCode> {
  const { state, port } = ctx;
  const p = w.proposal;
  // A removed member judges by the group that removed it (see leftBehindFor in lineage.ts).
  const g = port.group ?? port.removedGroup;
  if (!p?.oldGroupId || !p.proposer || !p.signature || p.attempt === undefined || !g || !w.groupId)
    return "RESET_NO_PROOF";
  if (!bytesEqual(resetGroupId(p.oldGroupId), w.groupId)) return "RESET_LINK_MISMATCH";
  // A reset of our group, of the group of the round we are in (we may be in a worse operator's group of
  // it already), or of a group of our lineage (we were left behind).
  const ofOurs =
    bytesEqual(p.oldGroupId, g.groupId) ||
    (r !== undefined && bytesEqual(r.proposal.oldGroupId!, p.oldGroupId)) ||
    lineageOf(ctx).some((l) => bytesEqual(l.groupId, p.oldGroupId!));
  if (!ofOurs) return "RESET_FOREIGN_PROOF";
  const proposerKey = state.directory.get(toHex(p.proposer));
  if (proposerKey === undefined || !(await verify(proposerKey, "reset", resetBody(p), p.signature)))
    return "RESET_FORGED_PROOF";
  if (!acceptableVoters(ctx, p.roster)) return "RESET_BAD_ROSTER";
  // Replays: a certificate stays valid forever, a reset must not. Every attempt of one reset makes one
  // group (they merge like forks), so while we are out of sync any attempt of a reset of our group is
  // good; while we are in sync only one of a round we take part in, started lately.
  const id = resetProposalId(p.oldGroupId, p.attempt);
  if (state.status === "IN_SYNC" && port.group !== undefined && !competing) {
    const lasts = ctx.params.resetVoteTimeoutMs + (p.roster.length + 1) * ctx.params.resetOperatorTimeoutMs;
    const known = r !== undefined && bytesEqual(r.proposal.oldGroupId!, p.oldGroupId) ? r : undefined;
    if (known === undefined || now - known.startedAt > lasts) return "RESET_REPLAYED";
  }
  const expected = new Set(p.roster.map(toHex));
  if (w.votes.length > expected.size) return "RESET_FORGED_VOTE";
  const yes = new Set<string>();
  for (const v of w.votes) {
    const who = v.voter ? toHex(v.voter) : "";
    const key = state.directory.get(who);
    if (
      !v.proposalId ||
      !bytesEqual(v.proposalId, id) ||
      v.yes !== true ||
      !v.signature ||
      !expected.has(who) ||
      yes.has(who) ||
      key === undefined ||
      !(await verify(key, "reset-vote", resetVoteBody(v), v.signature))
    )
      return "RESET_FORGED_VOTE";
    yes.add(who);
  }
  if (decide(expected.size, yes.size, 0, true, false) !== "YES") return "RESET_INSUFFICIENT_VOTES";
  if (!w.operator || !yes.has(toHex(w.operator))) return "RESET_OPERATOR_NOT_VOTER";
  return { proposal: p, id };
}

/** Every leaf of `group` is a member we knew, with the signature key we knew for it. */
export function leavesBound(ctx: SyncContext, group: MlsGroup): boolean {
  return roster(group).every((m) => {
    const key = ctx.state.directory.get(toHex(m.memberId));
    return key !== undefined && bytesEqual(key, m.signaturePublicKey);
  });
}
