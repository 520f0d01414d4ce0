// How this member votes, per kind of proposal (docs/decisions.md, "Votes belong to the application"): the
// vote it casts by itself (YES, NO, or none until the application votes) and whether de-MLS's liveness
// rule (silent voters count YES at the consensus timeout) decides the proposal.
import { GroupError } from "./errors.ts";

/**
 * What a proposal does, as a voter tells it apart:
 * - `add`: a joiner this member never had in its roster (or does not remember);
 * - `readmit`: the add of a former member that was removed or left;
 * - `remove`: the removal of a member by another;
 * - `leave`: a member's own leave;
 * - `refresh`: a key refresh (an update path, no change of membership);
 * - `rejoin`: the removal of a member's stale leaf at its own signed request, and its add once it is
 *   gone (also a member a hard reset left out, added back under its own key).
 */
export type ProposalKind = "add" | "readmit" | "remove" | "leave" | "refresh" | "rejoin";

/** The vote a member casts by itself: `ask` waits for the application's (`Member.vote`). */
export type VoteChoice = "yes" | "no" | "ask";

/** The policy for one kind of proposal. */
export interface KindPolicy {
  readonly vote: VoteChoice;
  /** Silent voters count YES at the consensus timeout (de-MLS's liveness rule); otherwise they count NO. */
  readonly liveness: boolean;
}

/** A policy per kind of proposal. */
export type VotePolicy = { readonly [K in ProposalKind]: KindPolicy };

/** Passes by itself: YES at once, and silence counts YES. */
export const AUTO_YES: KindPolicy = { vote: "yes", liveness: true };
/** Waits for the application's vote; silence counts NO. */
export const ASK: KindPolicy = { vote: "ask", liveness: false };

/**
 * The defaults: a member's own leave, a key refresh and a rejoin pass by themselves; adding a joiner,
 * re-admitting a former member and removing a member need explicit YES votes of the applications.
 */
export const DEFAULT_VOTE_POLICY: VotePolicy = {
  add: ASK,
  readmit: ASK,
  remove: ASK,
  leave: AUTO_YES,
  refresh: AUTO_YES,
  rejoin: AUTO_YES,
};

/**
 * The simulator's policy (`Cluster`, scenarios, chaos): the defaults, except that every add (a joiner, a
 * former member) passes by itself, so that groups form through voted joins with no application voting.
 */
export const SIMULATION_VOTE_POLICY: VotePolicy = {
  ...DEFAULT_VOTE_POLICY,
  add: AUTO_YES,
  readmit: AUTO_YES,
};

/** Every kind of proposal. */
export const PROPOSAL_KINDS: readonly ProposalKind[] = [
  "add",
  "readmit",
  "remove",
  "leave",
  "refresh",
  "rejoin",
];

/**
 * `overrides` over the defaults, checked.
 * @throws {GroupError} `BAD_PARAMS` for an unknown kind or a value out of range.
 */
export function votePolicyOf(overrides: Partial<VotePolicy> = {}): VotePolicy {
  for (const [kind, p] of Object.entries(overrides)) {
    if (!PROPOSAL_KINDS.includes(kind as ProposalKind))
      throw new GroupError("BAD_PARAMS", `vote policy: unknown proposal kind '${kind}'`);
    if (p === undefined) continue;
    if (p.vote !== "yes" && p.vote !== "no" && p.vote !== "ask")
      throw new GroupError("BAD_PARAMS", `vote policy ${kind}.vote = ${p.vote}: expected yes, no or ask`);
    if (typeof p.liveness !== "boolean")
      throw new GroupError("BAD_PARAMS", `vote policy ${kind}.liveness = ${p.liveness}: expected a boolean`);
  }
  const out: Record<string, KindPolicy> = {};
  for (const k of PROPOSAL_KINDS) out[k] = overrides[k] ?? DEFAULT_VOTE_POLICY[k];
  return out as VotePolicy;
}
