// Proposals (de-MLS; docs/architecture.md, "The group layer"): add, remove, leave and key refresh, identified by SHA-256(kind ‖ target)
// so that the same change proposed twice is one proposal. A proposal is checked against the roster,
// tracked with the roster size of its epoch as the expected voters, and voted on after the voting delay
// as the vote policy says.
import { sha256 } from "@noble/hashes/sha2.js";
import { readKeyPackage, roster } from "../mls/index.ts";
import { bytesEqual, concatBytes, toHex } from "../util/bytes.ts";
import { reject, requireGroup, rosterIds } from "./core.ts";
import type { GroupEffect } from "./effects.ts";
import type { GroupCode } from "./errors.ts";
import {
  PROPOSAL_ADD,
  PROPOSAL_LEAVE,
  PROPOSAL_REFRESH,
  PROPOSAL_REMOVE,
  type Proposal,
  type ViolationEvidence,
} from "./frames.ts";
import { sendPayload } from "./outbound.ts";
import type { GroupCore, ProposalRecord } from "./state.ts";
import { vote, voteByPolicy } from "./votes.ts";

/** What an add's KeyPackage names: the joiner and its signature key. */
interface Joiner {
  readonly joiner?: Uint8Array;
  readonly joinerKey?: Uint8Array;
}

/** SHA-256(kind ‖ target): the same change proposed twice is one proposal. */
export function proposalId(kind: number, target: Uint8Array): string {
  return toHex(sha256(concatBytes(new Uint8Array([kind]), target)));
}

/** Starts tracking proposal `id` with the current roster as its expected voters. */
function track(core: GroupCore, id: string, proposal: Proposal, now: number, joiner: Joiner): ProposalRecord {
  const rec: ProposalRecord = {
    proposal,
    receivedAt: now,
    voters: roster(requireGroup(core)).length,
    votes: new Map(),
    status: "pending",
    ...(joiner.joiner ? { joiner: joiner.joiner } : {}),
    ...(joiner.joinerKey ? { joinerKey: joiner.joinerKey } : {}),
  };
  core.state.proposals.set(id, rec);
  return rec;
}

/**
 * Proposes a change. `fromApplication`: the application asked for it, and its YES goes out at once;
 * otherwise (a pending request the member proposes by itself) our vote follows the vote policy.
 * `evidence`: what proves the removal's cause (an equivocation), carried for voters that lack it.
 */
export async function propose(
  core: GroupCore,
  kind: number,
  target: Uint8Array,
  now: number,
  fromApplication = true,
  evidence?: ViolationEvidence,
  staleLeaf = false,
): Promise<GroupEffect[]> {
  const group = requireGroup(core);
  const proposal: Proposal = {
    kind,
    target,
    epoch: group.epoch,
    proposer: core.identity.id,
    ...(evidence ? { evidence } : {}),
    ...(staleLeaf ? { staleLeaf } : {}),
  };
  const id = proposalId(kind, target);
  if (core.state.proposals.has(id)) return [];
  const kp = kind === PROPOSAL_ADD ? await readKeyPackage(target).catch(() => undefined) : undefined;
  track(core, id, proposal, now, { joiner: kp?.memberId, joinerKey: kp?.signaturePublicKey });
  const out = await sendPayload(core, { proposal }, now);
  out.push(...(fromApplication ? await vote(core, id, true, now) : await voteByPolicy(core, id, now)));
  return out;
}

/** An error code, or the checked proposal (sent in MLS epoch `sentIn`) with the joiner an add names. */
async function validProposal(
  core: GroupCore,
  p: Proposal,
  sender: Uint8Array,
  sentIn: bigint,
): Promise<GroupCode | Joiner> {
  if (p.kind === undefined || p.target === undefined || p.proposer === undefined) return "MALFORMED";
  // Evidence belongs to a removal (equivocation.ts checks it); on anything else it is a malformed proposal.
  if ((p.evidence !== undefined || p.staleLeaf !== undefined) && p.kind !== PROPOSAL_REMOVE)
    return "MALFORMED";
  if (!bytesEqual(p.proposer, sender)) return "PROPOSER_MISMATCH";
  // A proposal goes out in the epoch it is made in: a later epoch would exempt it from every staleness
  // check below.
  if ((p.epoch ?? 0n) > sentIn) return "OUT_OF_RANGE";
  const ids = rosterIds(core);
  const inRoster = (id: Uint8Array) => ids.some((m) => bytesEqual(m, id));
  if (p.kind === PROPOSAL_ADD) {
    try {
      const kp = await readKeyPackage(p.target);
      if (inRoster(kp.memberId)) return "ALREADY_MEMBER";
      return { joiner: kp.memberId, joinerKey: kp.signaturePublicKey };
    } catch {
      return "BAD_KEY_PACKAGE";
    }
  }
  if (p.kind === PROPOSAL_REMOVE) {
    if (!inRoster(p.target)) return "NOT_MEMBER";
    // Made before the target was (re-)added: it meant the leaf the target had then.
    const added = core.state.addedAt.get(toHex(p.target));
    return added !== undefined && (p.epoch ?? 0n) < added ? "STALE_PROPOSAL" : {};
  }
  if (p.kind === PROPOSAL_LEAVE) return bytesEqual(p.target, sender) ? {} : "LEAVE_FOR_OTHER";
  if (p.kind === PROPOSAL_REFRESH) {
    if (p.target.length > 64) return "MALFORMED";
    // A refresh asks for a new epoch: one made before the current epoch already has it (a late copy,
    // such as SDS delivers after a catch-up, must not start another round).
    return (p.epoch ?? 0n) < requireGroup(core).epoch ? "STALE_PROPOSAL" : {};
  }
  return "UNKNOWN_PROPOSAL";
}

/** A proposal from a member, sent in MLS epoch `sentIn`: checked, tracked, and voted on after the voting delay. */
export async function onProposal(
  core: GroupCore,
  p: Proposal,
  sender: Uint8Array,
  sentIn: bigint,
  now: number,
): Promise<GroupEffect[]> {
  const checked = await validProposal(core, p, sender, sentIn);
  if (typeof checked === "string") return [reject(core, checked, "proposal rejected")];
  const id = proposalId(p.kind!, p.target!);
  if (core.state.proposals.has(id)) return [];
  const rec = track(core, id, p, now, checked);
  rec.voteAt = now + core.params.votingDelayMs;
  return [];
}
